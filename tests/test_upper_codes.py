"""A search on a float32 l2, cosine or dot graph descends its upper levels on int8 codes
made from the nodes' vectors (vec0_index_hnsw_code.c, UPPER), cached per
connection.  A code depends on its vector alone, so a connection that wrote
and rolled back, or wrote and committed, must answer every query exactly as
a connection opened afresh on the same rows: a code left stale by a write
would send a narrow walk (k = 1, ef = 1: its answer is wherever the descent
lands) elsewhere."""

import random

import pytest

from conftest import connect, f32, on_fresh_connection

DIM = 16
N = 3000


def rows(seed, n=N):
    r = random.Random(seed)
    centres = [[r.uniform(-5, 5) for _ in range(DIM)] for _ in range(12)]
    return [[x + r.gauss(0, 1) for x in centres[i % 12]] for i in range(n)]


def answers(con, queries):
    out = []
    for q in queries:
        for ef in (1, 4):
            out.append(con.execute(
                "SELECT rowid, distance FROM t WHERE v MATCH ? AND k = 1 AND ef = ?",
                (f32(q), ef)).fetchall())
    return out


def fresh(dbpath, queries):
    return on_fresh_connection(dbpath, answers, queries)


def make_table(dbpath, metric):
    con = connect(dbpath)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(v float[%d] distance_metric=%s "
                "indexed by hnsw(m=4, ef_construction=32))" % (DIM, metric))
    con.execute("BEGIN")
    for i, v in enumerate(rows(1)):
        con.execute("INSERT INTO t(rowid, v) VALUES (?, ?)", (i + 1, f32(v)))
    con.execute("COMMIT")
    queries = rows(2, 200)
    return con, queries


METRICS = pytest.mark.parametrize("metric", ["l2", "cosine", "dot"])


@METRICS
def test_rollback_leaves_the_answers_of_a_fresh_connection(dbpath, metric):
    con, queries = make_table(dbpath, metric)
    before = answers(con, queries)
    assert before == fresh(dbpath, queries)
    moved = rows(3)
    con.execute("BEGIN")
    for i in range(0, N, 2):
        con.execute("UPDATE t SET v = ? WHERE rowid = ?", (f32(moved[i]), i + 1))
    during = answers(con, queries)  # codes of the moved vectors made now
    con.execute("ROLLBACK")
    assert during != before  # the walk saw the writes
    assert answers(con, queries) == before
    con.close()


@METRICS
def test_writes_leave_the_answers_of_a_fresh_connection(dbpath, metric):
    con, queries = make_table(dbpath, metric)
    answers(con, queries)  # every code the queries need, made
    moved = rows(4)
    for i in range(0, N, 3):  # updates
        con.execute("UPDATE t SET v = ? WHERE rowid = ?", (f32(moved[i]), i + 1))
    assert answers(con, queries) == fresh(dbpath, queries)
    con.execute("DELETE FROM t WHERE rowid % 5 = 0")
    answers(con, queries)
    for i in range(0, N, 5):  # new rows in the freed slots
        con.execute("INSERT INTO t(rowid, v) VALUES (?, ?)", (N + i + 1, f32(moved[i])))
    assert answers(con, queries) == fresh(dbpath, queries)
    con.close()


def test_cosine_descent_on_zero_vectors(dbpath):
    """A zero vector's code is zero: the descent puts it at distance 1, as the
    float walk does, and the rows and distances stay exact."""
    con = connect(dbpath)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(v float[%d] distance_metric=cosine "
                "indexed by hnsw(m=4, ef_construction=32))" % DIM)
    vs = rows(5, 600)
    con.execute("BEGIN")
    for i, v in enumerate(vs):
        con.execute("INSERT INTO t(rowid, v) VALUES (?, ?)",
                    (i + 1, f32([0.0] * DIM if i % 7 == 0 else v)))
    con.execute("COMMIT")
    zero = con.execute("SELECT rowid, distance FROM t WHERE v MATCH ? AND k = 5 AND ef = 4",
                       (f32([0.0] * DIM),)).fetchall()
    assert len(zero) == 5 and all(d == 1.0 for _, d in zero)
    for q in rows(6, 50):
        got = con.execute("SELECT rowid, distance FROM t WHERE v MATCH ? AND k = 3 AND ef = 64",
                          (f32(q),)).fetchall()
        for rowid, d in got:
            want = con.execute("SELECT coalesce(vec_distance_cosine(v, ?), 1.0) FROM t "
                               "WHERE rowid = ?", (f32(q), rowid)).fetchone()[0]
            assert d == pytest.approx(want, rel=1e-6, abs=1e-6)
        exact = con.execute("SELECT rowid FROM t ORDER BY coalesce(vec_distance_cosine(v, ?), "
                            "1.0), rowid LIMIT 3", (f32(q),)).fetchall()
        assert [r for r, _ in got] == [r for (r,) in exact]
    con.close()
