"""Keys and integer arguments given as REAL or numeric TEXT follow SQLite's
rules for an INTEGER PRIMARY KEY: a value that is an exact integer is that
integer (JavaScript numbers, pandas and numpy ids arrive as 2.0), one with
a fraction matches no integer key, and k / ef with a fraction are errors
that name the value.  A text key is compared with text: 1.0 is '1.0'."""

import sqlite3

import pytest

from conftest import connect, f32, integrity

ROWS = {1: [1.0, 0.0], 2: [2.0, 0.0], 3: [3.0, 0.0], 4: [4.0, 0.0]}

# (declaration, the key column SQL names, how a row's key is written)
INT_TABLES = [
    ("e float[2]", "rowid"),
    ("id integer primary key, e float[2]", "id"),
    ("id integer primary key, e float[2]", "rowid"),
    ("e float[2], p integer partition key, m integer, +a text", "rowid"),
]


def make(con, decl, index="hnsw()"):
    con.execute("CREATE VIRTUAL TABLE t USING vec0(%s)" % decl.replace(
        "e float[2]", "e float[2] indexed by %s" % index))
    cols = [r[1] for r in con.execute("SELECT * FROM pragma_table_info('t')")]
    for rid, v in ROWS.items():
        vals = {cols[0]: rid, "e": f32(v), "p": 7, "m": rid * 10, "a": "x%d" % rid}
        names = [c for c in cols if c in vals]
        con.execute("INSERT INTO t(%s) VALUES (%s)" % (", ".join(names),
                                                      ", ".join("?" * len(names))),
                    [vals[c] for c in names])


def keys(con, sql, args=()):
    return sorted(r[0] for r in con.execute(sql, args))


@pytest.mark.parametrize("index", ["hnsw()", "flat()"])
@pytest.mark.parametrize("decl,key", INT_TABLES, ids=[d + " / " + k for d, k in INT_TABLES])
def test_real_keys_select_update_delete(dbpath, decl, key, index):
    con = connect(dbpath)
    make(con, decl, index)
    # SELECT by =, IN, and a range on the key, with REAL and numeric TEXT.
    assert keys(con, "SELECT rowid FROM t WHERE %s = ?" % key, (2.0,)) == [2]
    assert keys(con, "SELECT rowid FROM t WHERE %s = ?" % key, ("3",)) == [3]
    assert keys(con, "SELECT rowid FROM t WHERE %s = ?" % key, (2.5,)) == []
    assert keys(con, "SELECT rowid FROM t WHERE %s IN (1.0, 4.0, 2.5, 'x')" % key) == [1, 4]
    assert keys(con, "SELECT rowid FROM t WHERE %s > 2.5" % key) == [3, 4]
    # The same inside a KNN search, with k and ef as REAL.
    knn = "SELECT rowid FROM t WHERE e MATCH ? AND k = ? AND ef = ?"
    q = f32([0.0, 0.0])
    assert keys(con, knn, (q, 1.0, 20.0)) == [1]
    assert keys(con, knn + " AND %s = ?" % key, (q, 4.0, 20.0, 3.0)) == [3]
    assert keys(con, knn + " AND %s IN (2.0, 4.0)" % key, (q, 4.0, 20.0)) == [2, 4]
    assert keys(con, knn + " AND %s >= 2.5" % key, (q, 1.0, 20.0)) == [3]
    assert keys(con, knn + " AND %s != 1.0" % key, (q, 2.0, 20.0)) == [2, 3]
    # UPDATE and DELETE by a REAL key change the row and report it.
    cur = con.execute("UPDATE t SET e = ? WHERE %s = ?" % key, (f32([9.0, 9.0]), 2.0))
    assert cur.rowcount == 1
    assert con.execute("SELECT e FROM t WHERE rowid = 2").fetchone()[0] == f32([9.0, 9.0])
    cur = con.execute("DELETE FROM t WHERE %s = ?" % key, (2.0,))
    assert cur.rowcount == 1
    assert con.execute("SELECT changes()").fetchone()[0] == 1
    assert keys(con, "SELECT rowid FROM t") == [1, 3, 4]
    cur = con.execute("DELETE FROM t WHERE %s IN (3.0, 4.5)" % key)
    assert cur.rowcount == 1
    assert keys(con, "SELECT rowid FROM t") == [1, 4]
    # A REAL key given to INSERT (OR REPLACE) is that integer.
    part = ", p" if " p " in decl else ""
    ins = "INSERT %%s INTO t(%s, e%s) VALUES (?, ?%s)" % (key, part, ", 7" if part else "")
    con.execute(ins % "", (5.0, f32([5.0, 0.0])))
    assert con.execute("SELECT typeof(rowid), rowid FROM t WHERE rowid = 5").fetchall() \
        == [("integer", 5)]
    con.execute(ins % "OR REPLACE", (5.0, f32([6.0, 0.0])))
    assert con.execute("SELECT count(*) FROM t").fetchone()[0] == 3
    assert con.execute("SELECT e FROM t WHERE rowid = 5").fetchone()[0] == f32([6.0, 0.0])
    # (SQLite itself refuses 2.5 for the rowid proper, before vec0 sees it.)
    with pytest.raises(sqlite3.Error,
                       match=r"vec0: .* must be an integer, not 2\.5|datatype mismatch"
                       if key == "rowid" and decl.startswith("id ") else
                       r"vec0: .* must be an integer, not 2\.5"):
        con.execute("INSERT INTO t(%s, e) VALUES (2.5, ?)" % key, (f32([1, 1]),))
    # UPDATE of the key to a REAL value.
    con.execute("UPDATE t SET %s = ? WHERE %s = ?" % (key, key), (8.0, 5.0))
    assert keys(con, "SELECT rowid FROM t") == [1, 4, 8]
    integrity(con, "t")


def test_k_and_ef_with_a_fraction_are_errors(dbpath):
    con = connect(dbpath)
    make(con, "e float[2]")
    q = f32([0.0, 0.0])
    with pytest.raises(sqlite3.Error, match=r'vec0: table "t": k must be an integer, not 2\.5'):
        con.execute("SELECT rowid FROM t WHERE e MATCH ? AND k = 2.5", (q,)).fetchall()
    with pytest.raises(sqlite3.Error, match=r"vec0: table \"t\": ef must be an integer, not 'x'"):
        con.execute("SELECT rowid FROM t WHERE e MATCH ? AND k = 1 AND ef = 'x'",
                    (q,)).fetchall()
    if sqlite3.sqlite_version_info >= (3, 41):  # LIMIT reaches virtual tables
        assert len(con.execute("SELECT rowid FROM t WHERE e MATCH ? LIMIT ?",
                               (q, 2.0)).fetchall()) == 2


def test_text_key_compares_as_text(dbpath):
    con = connect(dbpath)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(id text primary key, e float[2])")
    con.execute("INSERT INTO t VALUES ('1.0', ?), ('1', ?), ('2', ?)",
                (f32([1, 0]), f32([2, 0]), f32([3, 0])))
    q = f32([0.0, 0.0])
    assert keys(con, "SELECT id FROM t WHERE id = ?", (1.0,)) == ["1.0"]
    assert keys(con, "SELECT id FROM t WHERE id = ?", (1,)) == ["1"]
    assert keys(con, "SELECT id FROM t WHERE id IN (1.0, 2)") == ["1.0", "2"]
    assert keys(con, "SELECT id FROM t WHERE e MATCH ? AND k = 5 AND id = ?", (q, 1.0)) \
        == ["1.0"]
    assert keys(con, "SELECT id FROM t WHERE e MATCH ? AND k = 5 AND id IN (1.0, 2)",
                (q,)) == ["1.0", "2"]
    assert keys(con, "SELECT id FROM t WHERE e MATCH ? AND k = 5 AND id > '1.0'",
                (q,)) == ["2"]
    assert keys(con, "SELECT id FROM t WHERE e MATCH ? AND k = 5 AND id LIKE '1%'",
                (q,)) == ["1", "1.0"]
    assert con.execute("DELETE FROM t WHERE id = ?", (1.0,)).rowcount == 1
    assert keys(con, "SELECT id FROM t") == ["1", "2"]
    con.execute("INSERT OR REPLACE INTO t VALUES ('2', ?)", (f32([7, 0]),))
    assert con.execute("SELECT e FROM t WHERE id = '2'").fetchone()[0] == f32([7, 0])
    integrity(con, "t")


def test_partition_and_metadata_values_as_real(dbpath):
    """Integer partition keys and metadata written or compared as 7.0 or
    '7' are the integer 7 (stored as such, found by the search)."""
    con = connect(dbpath)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(e float[2], p integer partition key, "
                "m integer, b boolean, f float)")
    con.execute("INSERT INTO t(rowid, e, p, m, b, f) VALUES (1, ?, 7.0, '5', 1.0, 2)",
                (f32([1, 0]),))
    con.execute("INSERT INTO t(rowid, e, p, m, b, f) VALUES (2, ?, 8, 6, 0, '2.5')",
                (f32([2, 0]),))
    assert con.execute("SELECT typeof(p), p, typeof(m), m, typeof(b), typeof(f), f "
                       "FROM t WHERE rowid = 1").fetchone() == \
        ("integer", 7, "integer", 5, "integer", "real", 2.0)
    assert con.execute("SELECT f FROM t WHERE rowid = 2").fetchone()[0] == 2.5
    bad = [("INSERT INTO t(rowid, e, p, m) VALUES (3, ?, 7, 5.5)",
            r'column "m" must be an integer, not float 5\.5'),
           ("INSERT INTO t(rowid, e, p) VALUES (3, ?, 'x')",
            r'column "p" must be an integer, not text'),
           ("INSERT INTO t(rowid, e, p, b) VALUES (3, ?, 7, 0.5)",
            r'column "b" must be a boolean \(0 or 1\), not float 0\.5')]
    for sql, msg in bad:
        with pytest.raises(sqlite3.Error, match=msg):
            con.execute(sql, (f32([3, 0]),))
    q = f32([0.0, 0.0])
    knn = "SELECT rowid FROM t WHERE e MATCH ? AND k = 5 AND "
    assert keys(con, knn + "p = ?", (q, 7.0)) == [1]
    assert keys(con, knn + "p = ?", (q, "8")) == [2]
    assert keys(con, knn + "p IN (7.0, 8.0)", (q,)) == [1, 2]
    assert keys(con, knn + "m = ?", (q, 5.0)) == [1]
    assert keys(con, knn + "m = ?", (q, "6")) == [2]
    assert keys(con, knn + "m >= ?", (q, "5.5")) == [2]
    assert keys(con, knn + "b = ?", (q, 1.0)) == [1]
    # UPDATE of a partition key given as REAL moves nothing when it is equal.
    con.execute("UPDATE t SET p = 7.0 WHERE rowid = 1.0")
    assert keys(con, knn + "p = 7", (q,)) == [1]
    integrity(con, "t")


@pytest.mark.parametrize("decl", [
    "e float[2] indexed by flat(), p text partition key, m integer, +a text",
    "id integer primary key, e float[2], m integer",
])
def test_update_or_replace_onto_a_row_it_also_updates(dbpath, decl):
    """SQLite reads every row an UPDATE changes before the first xUpdate. When
    OR REPLACE deletes row 2 because row 1 takes its key, the later xUpdate of
    row 2 carries row 2's old values, while rowid 2 is now row 1: vec0 made one
    row of the two (row 1's vector, row 2's metadata; found by a differential
    test).  An ordinary table would update the moved row with values computed
    from it, which a virtual table is never given: now an error that changes
    nothing.  The same UPDATE limited to the moved row works."""
    con = connect(dbpath)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(%s)" % decl)
    cols = [r[1] for r in con.execute("SELECT * FROM pragma_table_info('t')")]
    key = "id" if "id" in cols else "rowid"
    for i in (1, 2, 3):
        vals = {"e": f32([i, 0]), "p": "p%d" % i, "m": i, "a": "a%d" % i}
        names = [c for c in cols if c in vals]
        con.execute("INSERT INTO t(%s, %s) VALUES (?, %s)" % (
            key, ", ".join(names), ", ".join("?" * len(names))), [i] + [vals[c] for c in names])
    rows = lambda: con.execute("SELECT * FROM t ORDER BY rowid").fetchall()
    before = rows()
    for sql in ["UPDATE OR REPLACE t SET {k} = CASE {k} WHEN 1 THEN 2 ELSE {k} END",
                "UPDATE OR REPLACE t SET {k} = {k} + 1, m = m * 10"]:
        with pytest.raises(sqlite3.Error, match=r"^vec0: .*UPDATE OR REPLACE .*separate"):
            con.execute(sql.format(k=key))
        assert rows() == before
        integrity(con, "t")
    con.execute("UPDATE OR REPLACE t SET {k} = 2 WHERE {k} = 1".format(k=key))
    after = rows()
    assert len(after) == 2 and after[0][1:] == before[0][1:] and after[1] == before[2]
    assert after[0][0] == 2
    assert con.execute("SELECT rowid FROM t WHERE e MATCH ? AND k = 5 ORDER BY distance",
                       (f32([1, 0]),)).fetchall() == [(2,), (3,)]
    integrity(con, "t")


def test_update_or_replace_of_text_keys_skips_the_row_it_deleted(dbpath):
    """With a text key the deleted row's rowid stays free, and an ordinary
    table skips it; vec0 reported it missing from T_rows (SQLITE_CORRUPT)."""
    con = connect(dbpath)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(id text primary key, e float[1])")
    con.execute("CREATE TABLE o(id text primary key, e)")
    for tab in ("t", "o"):
        con.execute("INSERT INTO %s(id, e) VALUES ('a', '[1]'), ('b', '[2]'), ('c', '[3]')"
                    % tab)
        con.execute("UPDATE OR REPLACE %s SET id = CASE id WHEN 'a' THEN 'b' ELSE id || 'z' END"
                    % tab)
    assert con.execute("SELECT id, vec_to_json(e) FROM t ORDER BY id").fetchall() == [
        (i, "[%s.000000]" % e[1:-1]) for i, e in con.execute("SELECT id, e FROM o ORDER BY id")]
    integrity(con, "t")
