"""Schema changes of vec0 tables inside savepoints: a CREATE or a RENAME that
ROLLBACK TO takes back leaves the rest of the transaction to commit, as an
ordinary table (and fts5) would, and the connection keeps working."""

import sqlite3

import pytest

from conftest import connect, f32, integrity, rand_vectors

DECL = ("CREATE VIRTUAL TABLE %s USING vec0(id integer primary key, "
        "emb float[%d] indexed by hnsw(), part text partition key, meta integer)")


def knn(con, table, q, k, extra=""):
    return con.execute("SELECT id, distance FROM %s WHERE emb MATCH ? AND k = ?%s "
                       "ORDER BY distance" % (table, extra), (f32(q), k)).fetchall()


def start(con):
    con.execute(DECL % ("t", 4))
    con.execute("CREATE TABLE plain(x)")
    con.execute("BEGIN")
    con.execute("INSERT INTO t(id, emb, part, meta) VALUES (1, '[1,2,3,4]', 'a', 1)")
    con.execute("INSERT INTO plain VALUES ('before the savepoint')")


def committed(path):
    con = connect(path)
    rows = [r[0] for r in con.execute("SELECT id FROM t ORDER BY id")]
    plain = [r[0] for r in con.execute("SELECT x FROM plain")]
    integrity(con, "t")
    con.close()
    return rows, plain


@pytest.mark.parametrize("inner", [0, 1])
@pytest.mark.parametrize("write_new", [0, 1])
@pytest.mark.parametrize("outer", ["BEGIN", "SAVEPOINT s0"])
def test_create_rolled_back_to(dbpath, write_new, outer, inner):
    con = connect(dbpath)
    con.execute(DECL % ("t", 4))
    con.execute("CREATE TABLE plain(x)")
    con.execute(outer)
    con.execute("INSERT INTO t(id, emb, part, meta) VALUES (1, '[1,2,3,4]', 'a', 1)")
    con.execute("INSERT INTO plain VALUES ('before the savepoint')")
    con.execute("SAVEPOINT s1")
    con.execute(DECL % ("u", 2))
    if write_new:
        con.execute("INSERT INTO u(id, emb, part, meta) VALUES (7, '[1,1]', 'z', 2)")
    if inner:  # a savepoint SQLite tells the new table of, then one it does not
        con.execute("SAVEPOINT s2")
        con.execute("INSERT INTO u(id, emb, part, meta) VALUES (8, '[1,2]', 'z', 2)")
        con.execute("RELEASE s2")
    con.execute("ROLLBACK TO s1")
    con.execute("RELEASE s1")
    con.execute("COMMIT" if outer == "BEGIN" else "RELEASE s0")
    assert not con.in_transaction
    assert committed(dbpath) == ([1], ["before the savepoint"])
    assert con.execute("SELECT count(*) FROM sqlite_schema WHERE name LIKE 'u%'").fetchone() == (0,)
    # the name is free again, and the new table is whole
    con.execute(DECL % ("u", 2))
    con.execute("INSERT INTO u(id, emb, part, meta) VALUES (3, '[2,2]', 'z', 2)")
    assert [r[0] for r in con.execute("SELECT id FROM u")] == [3]
    integrity(con, "u")


@pytest.mark.parametrize("same_decl", [0, 1])
def test_create_again_after_rollback_to(dbpath, same_decl):
    """The first table's object, which SQLite keeps in the transaction, must
    not write into the second one of the same name."""
    con = connect(dbpath)
    start(con)
    con.execute("SAVEPOINT s1")
    con.execute(DECL % ("u", 2))
    for i, v in enumerate(rand_vectors(40, 2, 5)):
        con.execute("INSERT INTO u(id, emb, part, meta) VALUES (?, ?, 'z', 1)", (100 + i, f32(v)))
    con.execute("ROLLBACK TO s1")
    con.execute(DECL % ("u", 2 if same_decl else 3))
    vecs = rand_vectors(5, 2 if same_decl else 3, 6)
    for i, v in enumerate(vecs):
        con.execute("INSERT INTO u(id, emb, part, meta) VALUES (?, ?, 'z', 1)", (i + 1, f32(v)))
    con.execute("COMMIT")
    assert committed(dbpath) == ([1], ["before the savepoint"])
    con2 = connect(dbpath)
    assert [r[0] for r in con2.execute("SELECT id FROM u ORDER BY id")] == [1, 2, 3, 4, 5]
    integrity(con2, "u")
    got = knn(con2, "u", vecs[2], 5, " AND part = 'z'")
    assert got[0][0] == 3 and len(got) == 5


def test_rename_rolled_back_to(dbpath):
    con = connect(dbpath)
    start(con)
    con.execute("SAVEPOINT s1")
    con.execute("ALTER TABLE t RENAME TO v")
    con.execute("INSERT INTO v(id, emb, part, meta) VALUES (2, '[2,2,2,2]', 'a', 1)")
    con.execute("ROLLBACK TO s1")
    con.execute("INSERT INTO t(id, emb, part, meta) VALUES (3, '[3,3,3,3]', 'b', 1)")
    con.execute("COMMIT")
    assert committed(dbpath) == ([1, 3], ["before the savepoint"])
    assert [r[0] for r in knn(con, "t", [3, 3, 3, 3], 2)] == [3, 1]
    integrity(con, "t")


def test_renames_in_nested_savepoints(dbpath):
    con = connect(dbpath)
    start(con)
    con.execute("SAVEPOINT s1")
    con.execute("ALTER TABLE t RENAME TO v")
    con.execute("SAVEPOINT s2")
    con.execute("ALTER TABLE v RENAME TO w")
    con.execute("INSERT INTO w(id, emb, part, meta) VALUES (2, '[2,2,2,2]', 'a', 1)")
    con.execute("ROLLBACK TO s2")        # back to v
    con.execute("RELEASE s2")
    con.execute("INSERT INTO v(id, emb, part, meta) VALUES (4, '[4,4,4,4]', 'a', 1)")
    con.execute("RELEASE s1")            # v is kept
    con.execute("COMMIT")
    con2 = connect(dbpath)
    assert [r[0] for r in con2.execute("SELECT id FROM v ORDER BY id")] == [1, 4]
    integrity(con2, "v")
    # and the whole transaction's renames go with a ROLLBACK
    con.execute("BEGIN")
    con.execute("INSERT INTO v(id, emb, part, meta) VALUES (5, '[5,5,5,5]', 'a', 1)")
    con.execute("ALTER TABLE v RENAME TO x")
    con.execute("INSERT INTO x(id, emb, part, meta) VALUES (6, '[6,6,6,6]', 'a', 1)")
    con.execute("ROLLBACK")
    con.execute("INSERT INTO v(id, emb, part, meta) VALUES (7, '[7,7,7,7]', 'a', 1)")
    assert [r[0] for r in con.execute("SELECT id FROM v ORDER BY id")] == [1, 4, 7]
    integrity(con, "v")


def test_rename_settings_follow_rollback(dbpath):
    """A connection's setting ('oversample=N') follows the table back."""
    con = connect(dbpath)
    con.execute("CREATE VIRTUAL TABLE q USING vec0(e float[2] indexed by hnsw(quantizer=int8))")
    con.execute("INSERT INTO q(rowid, e) VALUES (1, '[1,0]')")
    con.execute("INSERT INTO q(q) VALUES ('oversample=7')")
    con.execute("BEGIN")
    con.execute("INSERT INTO q(rowid, e) VALUES (2, '[0,1]')")
    con.execute("SAVEPOINT s1")
    con.execute("ALTER TABLE q RENAME TO r")
    con.execute("ROLLBACK TO s1")
    con.execute("COMMIT")
    assert con.execute("SELECT rescore FROM q WHERE e MATCH '[1,0]' AND k = 1").fetchone() == (7,)


@pytest.mark.parametrize("shadow", ["config", "vectors0", "links0", "free"])
def test_rename_onto_a_taken_shadow_name(dbpath, shadow):
    con = connect(dbpath)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(emb float[2] indexed by hnsw())")
    con.execute("INSERT INTO t(rowid, emb) VALUES (1, '[1,2]')")
    con.execute("CREATE TABLE w_%s(x)" % shadow)
    with pytest.raises(sqlite3.OperationalError, match=r'^vec0: table "t": cannot rename '
                       r'it to "w": .*w_%s' % shadow):
        con.execute("ALTER TABLE t RENAME TO w")
    assert [r[0] for r in con.execute("SELECT rowid FROM t")] == [1]
    con.execute("DROP TABLE w_%s" % shadow)
    con.execute("ALTER TABLE t RENAME TO w")
    assert [r[0] for r in con.execute("SELECT rowid FROM w")] == [1]
    integrity(con, "w")


@pytest.mark.parametrize("n_phantom", [1, 30])
def test_drop_and_create_rolled_back_to(dbpath, n_phantom):
    """The table a ROLLBACK TO took back, created under the name of one it
    dropped, must not write its graph into the one that is back (it did: a
    corrupt graph committed, or the COMMIT failed)."""
    con = connect(dbpath)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(emb float[2])")
    con.execute("INSERT INTO t(rowid, emb) VALUES (1, '[1,0]'), (2, '[0,1]'), (3, '[1,1]')")
    con.execute("BEGIN")
    con.execute("INSERT INTO t(rowid, emb) VALUES (4, '[2,2]')")
    con.execute("SAVEPOINT s1")
    con.execute("DROP TABLE t")
    con.execute("CREATE VIRTUAL TABLE t USING vec0(emb float[2])")
    for i, v in enumerate(rand_vectors(n_phantom, 2, 9)):
        con.execute("INSERT INTO t(rowid, emb) VALUES (?, ?)", (100 + i, f32(v)))
    con.execute("ROLLBACK TO s1")
    con.execute("INSERT INTO t(rowid, emb) VALUES (5, '[3,3]')")
    con.execute("COMMIT")
    for c in (con, connect(dbpath)):
        integrity(c, "t")
        assert [r[0] for r in c.execute("SELECT rowid FROM t ORDER BY rowid")] == [1, 2, 3, 4, 5]
        for r in range(1, 6):
            got = c.execute("SELECT rowid FROM t WHERE emb MATCH (SELECT emb FROM t WHERE "
                            "rowid = ?) AND k = 1 AND ef = 1", (r,)).fetchall()
            assert got == [(r,)]


# Schema changes later in the transaction than a table object SQLite keeps in
# it: SQLite reads the schema again and connects the table anew, and the old
# object (its cache blind to the new one's writes) failed the COMMIT, losing
# the transaction. Each: (setup, transaction, vec0 table left, its rowids).
LATER = [
    ("", """CREATE VIRTUAL TABLE x USING vec0(emb float[2]);
            SELECT * FROM x;
            ALTER TABLE x RENAME TO v;
            INSERT INTO v(rowid, emb) VALUES (1, '[1,1]');
            INSERT INTO v(v) VALUES ('integrity-check');
            INSERT INTO v(v) VALUES ('optimize');""", "v", [1]),
    ("CREATE VIRTUAL TABLE t USING vec0(emb float[2]);",
     """INSERT INTO t(rowid, emb) VALUES (1, '[1,1]');
        ALTER TABLE t RENAME TO y;
        INSERT INTO y(rowid, emb) VALUES (2, '[2,2]'), (1, '[3,3]');
        DROP TABLE y;""", None, []),
    ("CREATE VIRTUAL TABLE x USING vec0(emb float[2]); "
     "INSERT INTO x(rowid, emb) VALUES (1, '[1,2]');",
     """INSERT INTO x(rowid, emb) VALUES (2, '[2,2]');
        ALTER TABLE x RENAME TO t;
        INSERT INTO t(rowid, emb) VALUES (3, '[3,3]'), (1, '[3,3]');
        ALTER TABLE t RENAME TO v;""", "v", [1, 2]),
    ("CREATE VIRTUAL TABLE v USING vec0(emb float[2]);",
     """INSERT INTO v(rowid, emb) VALUES (1, '[1,2]');
        ALTER TABLE v RENAME TO y;
        SAVEPOINT s2;
        ROLLBACK TO s2;
        ALTER TABLE y RENAME TO t;""", "t", [1]),
    ("CREATE VIRTUAL TABLE w USING vec0(emb float[2]);",
     """INSERT INTO w(rowid, emb) VALUES (1, '[1,2]');
        SAVEPOINT s1;
        CREATE TABLE other(a);
        ROLLBACK TO s1;
        DROP TABLE w;""", None, []),
    ("CREATE VIRTUAL TABLE v USING vec0(emb float[2]); "
     "INSERT INTO v(rowid, emb) VALUES (1, '[1,1]');",
     """SAVEPOINT s5;
        CREATE TABLE other(a);
        UPDATE v SET emb = '[2,2]' WHERE rowid = 1;
        ROLLBACK TO s5;
        ALTER TABLE v RENAME TO y;
        RELEASE s5;""", "y", [1]),
    ("", """CREATE VIRTUAL TABLE y USING vec0(emb float[2]);
            ALTER TABLE y RENAME TO t;
            ALTER TABLE t RENAME TO x;""", "x", []),
    ("", """CREATE VIRTUAL TABLE t USING vec0(emb float[2]);
            SAVEPOINT s1;
            ROLLBACK TO s1;
            DROP TABLE t;""", None, []),
    ("", """CREATE VIRTUAL TABLE t USING vec0(emb float[2]);
            INSERT INTO t(rowid, emb) VALUES (1, '[1,1]');
            SAVEPOINT s2;
            ROLLBACK TO s2;
            ALTER TABLE t RENAME TO y;""", "y", [1]),
]


@pytest.mark.parametrize("setup, body, left, rowids", LATER)
def test_schema_changes_after_the_table_joined(dbpath, setup, body, left, rowids):
    con = connect(dbpath)
    con.executescript(setup + "CREATE TABLE plain(x);")
    con.execute("BEGIN")
    con.execute("INSERT INTO plain VALUES ('written in the tx')")
    for sql in [s for s in body.split(";") if s.strip()]:
        try:
            con.execute(sql)
        except sqlite3.IntegrityError:
            pass  # the statement that fails on a key, as meant
    con.execute("COMMIT")
    c2 = connect(dbpath)
    assert c2.execute("SELECT count(*) FROM plain").fetchone() == (1,)
    names = [r[0] for r in c2.execute("SELECT name FROM sqlite_master WHERE sql LIKE '%vec0%'")]
    assert names == ([left] if left else [])
    if left:
        assert [r[0] for r in c2.execute("SELECT rowid FROM %s ORDER BY rowid" % left)] == rowids
        integrity(c2, left)
        integrity(con, left)
        con.execute("INSERT INTO %s(rowid, emb) VALUES (9, '[9,9]')" % left)
        assert [r[0] for r in c2.execute("SELECT rowid FROM %s WHERE emb MATCH '[9,9]' "
                                         "AND k = 1" % left)] == [9]
