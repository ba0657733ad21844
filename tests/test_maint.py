"""The maintenance commands on a table that has seen deletes: the rebuilt
graph must read back in a new connection, answer KNN exactly with a wide
ef, and take new rows into the freed slots."""

import sqlite3

import pytest

from conftest import brute_knn, connect, f32, integrity, knn, rand_vectors

DIM = 8


@pytest.mark.parametrize("command", ["optimize", "rebuild"])
def test_command_after_deletes_reopens(dbpath, command):
    con = connect(dbpath)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(embedding float[%d] "
                "indexed by hnsw(m=4, ef_construction=32))" % DIM)
    vecs = rand_vectors(200, DIM, 31)
    con.execute("BEGIN")
    con.executemany("INSERT INTO t(rowid, embedding) VALUES (?, ?)",
                    ((i + 1, f32(v)) for i, v in enumerate(vecs)))
    con.execute("COMMIT")
    rows = {i + 1: v for i, v in enumerate(vecs)}
    for rid in list(rows)[::3]:             # the first slots among them
        con.execute("DELETE FROM t WHERE rowid = ?", (rid,))
        del rows[rid]
    con.execute("INSERT INTO t(t) VALUES (?)", (command,))
    con.close()

    con = connect(dbpath)                   # a search before anything else
    for q in rand_vectors(5, DIM, 32):
        assert [r for r, _ in knn(con, "t", q, 10, "AND ef = 400")] == \
            [r for r, _ in brute_knn(rows, q, 10)]
    integrity(con, "t")
    for i, v in enumerate(rand_vectors(30, DIM, 33)):   # reuse freed slots
        con.execute("INSERT INTO t(rowid, embedding) VALUES (?, ?)",
                    (1000 + i, f32(v)))
        rows[1000 + i] = v
    integrity(con, "t")
    con.close()
    con = connect(dbpath)
    q = rand_vectors(1, DIM, 34)[0]
    assert [r for r, _ in knn(con, "t", q, 10, "AND ef = 400")] == \
        [r for r, _ in brute_knn(rows, q, 10)]
    integrity(con, "t")


def test_ef_search_follows_rollback_and_other_connections(dbpath):
    """'ef_search=N' is a setting in T_config: a ROLLBACK undoes it for
    this connection too, and another connection sees it once committed."""
    con = connect(dbpath)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(embedding float[%d] "
                "indexed by hnsw(m=4, ef_construction=16))" % DIM)
    con.execute("BEGIN")
    con.executemany("INSERT INTO t(rowid, embedding) VALUES (?, ?)",
                    ((i + 1, f32(v)) for i, v in enumerate(rand_vectors(3000, DIM, 35))))
    con.execute("COMMIT")
    queries = rand_vectors(40, DIM, 36)

    def answers(c):
        return [knn(c, "t", q, 10) for q in queries]

    other = connect(dbpath)
    wide = answers(con)
    assert answers(other) == wide
    con.execute("BEGIN")
    con.execute("INSERT INTO t(t) VALUES ('ef_search=1')")
    narrow = answers(con)
    assert narrow != wide               # the setting matters for these queries
    con.execute("ROLLBACK")
    assert answers(con) == wide
    con.execute("INSERT INTO t(t) VALUES ('ef_search=1')")
    assert answers(con) == narrow
    assert answers(other) == narrow     # committed: the other connection too


@pytest.mark.parametrize("sql,args,why", [
    ("INSERT INTO t(t) VALUES (?)", (b"optimize",), "not a BLOB"),
    ("INSERT INTO t(t) VALUES ('optimize' || char(0) || 'x')", (), "not text with one"),
    ("INSERT INTO t(t) VALUES (5)", (), "not a number"),
    ("INSERT INTO t(t, rowid, embedding) VALUES ('optimize', 9, '[1, 1]')", (),
     "given alone"),
    ("INSERT INTO t(t, embedding) VALUES ('optimize', '[1, 1]')", (), "given alone"),
])
def test_commands_that_are_not_one(dbpath, sql, args, why):
    """A BLOB was read as the command's text, a NUL ended it, and the values of
    a row given with a command were dropped without a word (found by the
    atomicity tester): each is an error now, and changes nothing."""
    con = connect(dbpath)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(embedding float[2])")
    con.execute("INSERT INTO t(rowid, embedding) VALUES (1, '[0, 1]')")
    with pytest.raises(sqlite3.Error, match=r"^vec0: .*" + why):
        con.execute(sql, args)
    assert con.execute("SELECT rowid FROM t").fetchall() == [(1,)]
    integrity(con, "t")
