"""The rowids a program sees.

A row inserted without a rowid gets one more than the largest rowid the
table has had, deleted rows included: a rowid is never given twice.  This is
sqlite-vec's behaviour (its rowids table is AUTOINCREMENT), which programs
that keep a vector's rowid in another table rely on; vec0 gave a deleted
last row's rowid again until a differential test against sqlite-vec found
it.  The largest rowid that left is kept as 'rowid_gone' in T_config,
inside the writing transaction.

sqlite3_last_insert_rowid() (Python's lastrowid, better-sqlite3's
lastInsertRowid) is the rowid of the row an INSERT added, and the statements
that add none leave it as it was; it used to be the slot of the last graph
record written at the commit.
"""

import os
import random
import sqlite3

import pytest

from conftest import ROOT, connect, f32, integrity

SQLITE_VEC = os.path.join(ROOT, "bench", "peers", "node_modules", "sqlite-vec-linux-x64",
                          "vec0")

DECLS = [
    "e float[2]",
    "id integer primary key, e float[2]",
    "e float[2] indexed by flat(), p integer partition key, m integer, +a text",
]


def ins(con, rowid=None):
    """Inserts a row (rowid None: chosen by the table); returns its rowid."""
    cols = [r[1] for r in con.execute("SELECT * FROM pragma_table_info('t')")]
    vals = {"e": f32([1.0, 2.0]), "p": 1, "m": 2, "a": "x"}
    names = [c for c in cols if c in vals]
    if rowid is not None:
        names.insert(0, "rowid")
    args = ([rowid] if rowid is not None else []) + [vals[c] for c in names if c in vals]
    cur = con.execute("INSERT INTO t(%s) VALUES (%s)" % (", ".join(names),
                                                       ", ".join("?" * len(names))), args)
    return cur.lastrowid


def rowids(con):
    return [r[0] for r in con.execute("SELECT rowid FROM t ORDER BY rowid")]


@pytest.mark.parametrize("decl", DECLS)
def test_deleted_rowids_are_not_given_again(dbpath, decl):
    con = connect(dbpath)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(%s)" % decl)
    assert [ins(con) for _ in range(3)] == [1, 2, 3]
    con.execute("DELETE FROM t WHERE rowid = 3")
    assert ins(con) == 4                       # not 3 again
    con.execute("DELETE FROM t WHERE rowid = 2")
    assert ins(con) == 5                       # a hole below the top stays one
    ins(con, 10)
    con.execute("DELETE FROM t WHERE rowid = 10")
    assert ins(con) == 11
    con.execute("UPDATE t SET rowid = 7 WHERE rowid = 11")
    assert ins(con) == 12                      # 11 left by an UPDATE
    con.execute("DELETE FROM t")
    assert ins(con) == 13
    ins(con, 3)                                # an explicit rowid below: allowed
    assert rowids(con) == [3, 13]
    integrity(con, "t")
    con.close()
    con = connect(dbpath)                      # kept in the file
    con.execute("DELETE FROM t WHERE rowid = 13")
    assert ins(con) == 14
    integrity(con, "t")


def test_text_key_tables_do_not_reuse_their_rowids(dbpath):
    con = connect(dbpath)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(id text primary key, e float[2])")
    for key in "abc":
        con.execute("INSERT INTO t(id, e) VALUES (?, ?)", (key, f32([1, 1])))
    con.execute("DELETE FROM t WHERE id = 'c'")
    con.execute("INSERT INTO t(id, e) VALUES ('d', ?)", (f32([1, 1]),))
    assert con.execute("SELECT rowid FROM t_rows WHERE key = 'd'").fetchone() == (4,)
    integrity(con, "t")


def test_rollback_forgets_a_rowid_that_left(dbpath):
    con = connect(dbpath)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(e float[2])")
    for _ in range(3):
        ins(con)
    con.execute("BEGIN")
    con.execute("DELETE FROM t WHERE rowid = 3")
    con.execute("ROLLBACK")
    con.execute("BEGIN")
    con.execute("SAVEPOINT s")
    con.execute("DELETE FROM t WHERE rowid = 3")
    con.execute("INSERT INTO t(rowid, e) VALUES (20, ?)", (f32([0, 0]),))
    con.execute("DELETE FROM t WHERE rowid = 20")
    con.execute("ROLLBACK TO s")
    con.execute("COMMIT")
    assert con.execute("SELECT count(*) FROM t_config WHERE key = 'rowid_gone'"
                       ).fetchone() == (0,)
    assert ins(con) == 4
    con.execute("DELETE FROM t WHERE rowid = 4")
    other = connect(dbpath)                    # another connection sees it
    assert ins(other) == 5
    integrity(other, "t")


def test_no_rowid_left_is_an_error_that_changes_nothing(dbpath):
    con = connect(dbpath)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(e float[2])")
    ins(con)
    ins(con, 2 ** 63 - 1)
    con.execute("DELETE FROM t WHERE rowid = ?", (2 ** 63 - 1,))
    with pytest.raises(sqlite3.Error, match=r"^vec0: .*no rowid is left"):
        ins(con)
    assert rowids(con) == [1]
    ins(con, 5)                                # explicit rowids still go in
    assert rowids(con) == [1, 5]
    integrity(con, "t")


@pytest.mark.parametrize("decl", DECLS)
def test_no_rowid_after_a_live_largest(dbpath, decl):
    """A live row with the largest rowid: SQLite alone would pick an unused
    rowid at random, perhaps one a deleted row had (found by a differential
    test; sqlite-vec fails with SQLITE_FULL)."""
    con = connect(dbpath)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(%s)" % decl)
    ins(con)
    ins(con)
    con.execute("DELETE FROM t WHERE rowid = 1")
    ins(con, 2 ** 63 - 1)
    with pytest.raises(sqlite3.Error, match=r"^vec0: .*no rowid is left") as e:
        ins(con)
    assert e.value.sqlite_errorcode == sqlite3.SQLITE_FULL
    assert rowids(con) == [2, 2 ** 63 - 1]
    integrity(con, "t")


@pytest.mark.skipif(not os.path.exists(SQLITE_VEC + ".so"),
                    reason="sqlite-vec 0.1.9 is not installed (make -C bench peers)")
def test_rowids_are_sqlite_vecs():
    """The same random writes give the same rowids in sqlite-vec 0.1.9."""
    theirs = sqlite3.connect(":memory:", isolation_level=None)
    theirs.enable_load_extension(True)
    theirs.load_extension(SQLITE_VEC)
    ours = connect(":memory:")
    for con in (ours, theirs):
        con.execute("CREATE VIRTUAL TABLE t USING vec0(e float[2])")
    rng = random.Random(7)
    for step in range(400):
        live = rowids(ours)
        op = rng.random()
        if op < 0.5 or not live:
            got = [ins(con) for con in (ours, theirs)]
        elif op < 0.6:
            r = max(live) + rng.randint(1, 5)
            got = [ins(con, r) for con in (ours, theirs)]
        else:
            r = max(live) if rng.random() < 0.5 else rng.choice(live)
            for con in (ours, theirs):
                con.execute("DELETE FROM t WHERE rowid = ?", (r,))
            got = [None, None]
        assert got[0] == got[1], "step %d" % step
        assert rowids(ours) == rowids(theirs), "step %d" % step


def test_last_insert_rowid_is_the_rows(dbpath):
    con = connect(dbpath)
    con.execute("CREATE TABLE n(x)")
    con.execute("CREATE VIRTUAL TABLE t USING vec0(e float[2])")
    con.execute("CREATE VIRTUAL TABLE f USING vec0(e float[2] indexed by flat(), "
                "p integer partition key)")
    last = lambda: con.execute("SELECT last_insert_rowid()").fetchone()[0]
    assert con.execute("INSERT INTO t(e) VALUES (?)", (f32([1, 2]),)).lastrowid == 1
    assert last() == 1
    assert con.execute("INSERT INTO t(e) VALUES (?)", (f32([2, 2]),)).lastrowid == 2
    assert con.execute("INSERT INTO t(rowid, e) VALUES (10, ?)", (f32([3, 2]),)
                       ).lastrowid == 10
    assert con.execute("INSERT INTO f(e, p) VALUES (?, 4)", (f32([3, 2]),)).lastrowid == 1
    con.execute("BEGIN")
    for i in range(5):
        assert con.execute("INSERT INTO t(e) VALUES (?)", (f32([i, 0]),)).lastrowid == 11 + i
    con.execute("COMMIT")                       # the graph's records are written here
    assert last() == 15
    con.execute("INSERT INTO n VALUES (1), (2), (3)")
    for sql in ["DELETE FROM t WHERE rowid = 2", "UPDATE t SET e = '[9, 9]' WHERE rowid = 1",
                "UPDATE t SET rowid = 30 WHERE rowid = 10", "DELETE FROM f",
                "INSERT INTO t(t) VALUES ('optimize')",
                "INSERT INTO t(t) VALUES ('integrity-check')",
                "SELECT rowid FROM t WHERE e MATCH '[0, 0]' AND k = 3",
                "ALTER TABLE t RENAME TO t2"]:
        con.execute(sql).fetchall()
        assert last() == 3, sql


@pytest.mark.parametrize("decl", DECLS + ["p integer partition key, +a text, e float[2]"])
def test_writes_after_a_schema_change(dbpath, decl):
    """A schema change expires the statements vec0 keeps prepared, and SQLite
    re-prepares one when it next runs.  A statement that took a statement
    journal (the first 'rowid_gone' one, an INSERT ... SELECT) made SQLite
    roll back a savepoint on the vec0 table in the middle of its DELETE, and
    the process crashed (found by an oracle test: UPDATE of a rowid, CREATE
    TABLE, DELETE)."""
    con = connect(dbpath)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(%s)" % decl)
    rng = random.Random(11)
    mirror = {}
    for step in range(300):
        op = rng.random()
        if op < 0.15:
            con.execute("CREATE TABLE IF NOT EXISTS z%d(x)" % (step % 7))
        elif op < 0.25:
            con.execute("DROP TABLE IF EXISTS z%d" % rng.randrange(7))
        elif op < 0.3:
            con.execute("CREATE VIEW IF NOT EXISTS v%d AS SELECT rowid FROM t" % (step % 5))
        elif op < 0.6 or not mirror:
            rid = ins(con)
            mirror[rid] = 1
        elif op < 0.8:
            old = rng.choice(sorted(mirror))
            new = max(mirror) + rng.randint(1, 3)
            con.execute("UPDATE t SET rowid = ? WHERE rowid = ?", (new, old))
            mirror[new] = mirror.pop(old)
        else:
            old = max(mirror) if rng.random() < 0.5 else rng.choice(sorted(mirror))
            con.execute("DELETE FROM t WHERE rowid = ?", (old,))
            del mirror[old]
        if step % 50 == 49:
            assert rowids(con) == sorted(mirror), step
            integrity(con, "t")
    assert rowids(con) == sorted(mirror)
    integrity(con, "t")
