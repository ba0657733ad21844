"""A float32 cosine graph keeps each node's sum of squares once it has
scored it (vec0_index_hnsw.c, NORMS), per connection.  The sum depends on
the vector alone, so a connection that overwrote vectors (an UPDATE, a
reused slot), rolled back, or failed a statement half-way must answer every
query exactly as a connection opened afresh on the same rows, with the
distances vec_distance_cosine gives: a stale sum makes a distance wrong
(a vector scaled by 3 keeps its cosine, not its sum) and moves the walk."""

import random
import sqlite3
import struct

import pytest

from conftest import connect, f32, on_fresh_connection

N = 2000


def rows(seed, dim, n=N):
    r = random.Random(seed)
    centres = [[r.uniform(-3, 3) for _ in range(dim)] for _ in range(10)]
    return [[x + r.gauss(0, 1) for x in centres[i % 10]] for i in range(n)]


def answers(con, queries):
    out = []
    for q in queries:
        for k, ef in ((1, 1), (5, 8)):
            got = con.execute(
                "SELECT rowid, distance FROM t WHERE v MATCH ? AND k = ? AND ef = ?",
                (f32(q), k, ef)).fetchall()
            for rowid, d in got:
                exact = con.execute("SELECT vec_distance_cosine(v, ?) FROM t WHERE rowid = ?",
                                    (f32(q), rowid)).fetchone()[0]
                assert d == pytest.approx(exact, rel=1e-6, abs=1e-6), (rowid, d, exact)
            out.append(got)
    return out


def fresh(dbpath, queries):
    return on_fresh_connection(dbpath, answers, queries)


@pytest.fixture(params=[40, 21], ids=["dim40", "dim21"])
def table(request, tmp_path):
    dim = request.param
    path = str(tmp_path / "n.db")
    con = connect(path)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(v float[%d] distance_metric=cosine "
                "indexed by hnsw(m=8, ef_construction=32))" % dim)
    con.execute("BEGIN")
    con.executemany("INSERT INTO t(rowid, v) VALUES (?, ?)",
                    [(i + 1, f32(v)) for i, v in enumerate(rows(1, dim))])
    con.execute("COMMIT")
    queries = rows(2, dim, 40)
    answers(con, queries)  # every sum the walks meet is made now
    yield con, path, dim, queries
    con.close()


def scaled(dim, seed, n):
    """n vectors far from the old ones, most scaled well away from norm 1."""
    r = random.Random(seed)
    return [[r.uniform(0.2, 4.0) * x for x in v] for v in rows(seed, dim, n)]


def test_update_committed(table):
    con, path, dim, queries = table
    for i, v in enumerate(scaled(dim, 3, 300)):
        con.execute("UPDATE t SET v = ? WHERE rowid = ?", (f32(v), 1 + 6 * i))
    assert answers(con, queries) == fresh(path, queries)


def test_same_direction_longer(table):
    """Scaled in place: every cosine stays, only the sums change."""
    con, path, dim, queries = table
    for rowid, blob in con.execute("SELECT rowid, v FROM t WHERE rowid % 3 = 0").fetchall():
        v = struct.unpack("<%df" % dim, blob)
        con.execute("UPDATE t SET v = ? WHERE rowid = ?", (f32([3.0 * x for x in v]), rowid))
    assert answers(con, queries) == fresh(path, queries)


def test_rollback(table):
    con, path, dim, queries = table
    before = answers(con, queries)
    con.execute("BEGIN")
    for i, v in enumerate(scaled(dim, 4, 300)):
        con.execute("UPDATE t SET v = ? WHERE rowid = ?", (f32(v), 2 + 5 * i))
    answers(con, queries)  # the sums of the new vectors are made
    con.execute("ROLLBACK")
    assert answers(con, queries) == before == fresh(path, queries)


def test_failed_statement(table):
    """A multi-row UPDATE that fails on its last row: the rows it had
    written (and scored, in the updates' walks) go back."""
    con, path, dim, queries = table
    before = answers(con, queries)
    con.execute("CREATE TEMP TABLE u(id INTEGER PRIMARY KEY, b BLOB)")
    new = scaled(dim, 5, 200)
    con.executemany("INSERT INTO u VALUES (?, ?)",
                    [(3 + 7 * i, f32(v)) for i, v in enumerate(new)])
    con.execute("INSERT INTO u VALUES (?, ?)", (N, f32([1.0] * (dim + 1))))
    with pytest.raises(sqlite3.Error, match="vec0"):
        con.execute("UPDATE t SET v = (SELECT b FROM u WHERE u.id = t.rowid) "
                    "WHERE rowid IN (SELECT id FROM u)")
    assert answers(con, queries) == before == fresh(path, queries)


def test_slots_reused(table):
    con, path, dim, queries = table
    con.execute("DELETE FROM t WHERE rowid % 4 = 1")
    con.execute("BEGIN")
    for i, v in enumerate(scaled(dim, 6, 400)):
        con.execute("INSERT INTO t(rowid, v) VALUES (?, ?)", (N + 1 + i, f32(v)))
    con.execute("COMMIT")
    assert answers(con, queries) == fresh(path, queries)
    con.execute("INSERT INTO t(t) VALUES ('integrity-check')")
