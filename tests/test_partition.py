"""Partition keys split the HNSW index: one graph per partition key value
(a group), searched alone when the query names the partition.  These tests
check the answers against brute force while rows move between partitions,
are deleted, reinserted and the table reopened."""

import random

import pytest

from conftest import brute_knn, connect, f32, integrity, l2, rand_vectors

DIM = 8


def nearest(rows, q, k, pred):
    return [r for r, _ in brute_knn({r: v for r, (v, u, t) in rows.items()
                                     if pred(u, t)}, q, k)]


def query(con, q, k, where="", params=()):
    return [r for r, in con.execute(
        "SELECT rowid FROM t WHERE e MATCH ? AND k = ? %s AND ef = 1000 "
        "ORDER BY distance" % where, (f32(q), k) + tuple(params))]


def test_partitions_match_brute_force(dbpath):
    rng = random.Random(1)
    con = connect(dbpath)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(e float[%d] indexed by "
                "hnsw(m=6, ef_construction=40), u integer partition key, "
                "tag text partition key, n integer)" % DIM)
    rows = {}
    vecs = rand_vectors(1500, DIM, 2)
    con.execute("BEGIN")
    for i, v in enumerate(vecs[:1200]):
        u, tag = rng.randrange(6), rng.choice(["a", "b"])
        con.execute("INSERT INTO t(rowid, e, u, tag, n) VALUES (?, ?, ?, ?, ?)",
                    (i + 1, f32(v), u, tag, i % 10))
        rows[i + 1] = (v, u, tag)
    con.execute("COMMIT")
    assert con.execute("SELECT count(*), sum(live) FROM t_groups").fetchone() \
        == (12, 1200)
    integrity(con, "t")

    def check(con):
        for q in rand_vectors(8, DIM, rng.randrange(1000)):
            for u in range(7):
                assert query(con, q, 7, "AND u = ? AND tag = 'a'", (u,)) == \
                    nearest(rows, q, 7, lambda uu, t: uu == u and t == "a")
            assert query(con, q, 9, "AND u IN (1, 3) AND tag = 'b'") == \
                nearest(rows, q, 9, lambda u, t: u in (1, 3) and t == "b")
            assert query(con, q, 9, "AND u = 2") == \
                nearest(rows, q, 9, lambda u, t: u == 2)
            assert query(con, q, 9, "AND u > 3") == \
                nearest(rows, q, 9, lambda u, t: u > 3)
            assert query(con, q, 9) == nearest(rows, q, 9, lambda u, t: True)

    check(con)
    # rows move between partitions, are deleted and come back
    for rid in rng.sample(sorted(rows), 300):
        v, u, tag = rows[rid]
        nu, ntag = rng.randrange(7), rng.choice(["a", "b"])
        con.execute("UPDATE t SET u = ?, tag = ? WHERE rowid = ?", (nu, ntag, rid))
        rows[rid] = (v, nu, ntag)
    for rid in rng.sample(sorted(rows), 200):
        con.execute("DELETE FROM t WHERE rowid = ?", (rid,))
        del rows[rid]
    for i, v in enumerate(vecs[1200:]):
        u, tag = rng.randrange(7), rng.choice(["a", "b"])
        con.execute("INSERT INTO t(rowid, e, u, tag) VALUES (?, ?, ?, ?)",
                    (5000 + i, f32(v), u, tag))
        rows[5000 + i] = (v, u, tag)
    # a vector update inside a partition, and a key update
    v = rand_vectors(1, DIM, 77)[0]
    rid = sorted(rows)[10]
    con.execute("UPDATE t SET e = ?, rowid = 9999 WHERE rowid = ?", (f32(v), rid))
    rows[9999] = (v,) + rows.pop(rid)[1:]
    integrity(con, "t")
    check(con)
    con.close()
    con = connect(dbpath)
    integrity(con, "t")
    check(con)
    con.execute("INSERT INTO t(t) VALUES ('rebuild')")
    integrity(con, "t")
    check(con)


def test_partition_rollback(dbpath):
    con = connect(dbpath)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(e float[%d], u integer "
                "partition key, tag text)" % DIM)
    vecs = rand_vectors(200, DIM, 3)
    rows = {}
    con.execute("BEGIN")
    for i, v in enumerate(vecs):
        con.execute("INSERT INTO t(rowid, e, u) VALUES (?, ?, ?)",
                    (i + 1, f32(v), i % 4))
        rows[i + 1] = (v, i % 4, None)
    con.execute("COMMIT")
    q = vecs[0]
    want = {u: query(con, q, 5, "AND u = ?", (u,)) for u in range(5)}
    con.execute("BEGIN")
    con.execute("UPDATE t SET u = 4 WHERE rowid <= 100")
    con.execute("INSERT INTO t(rowid, e, u) VALUES (1000, ?, 9)", (f32(q),))
    assert query(con, q, 1, "AND u = 9") == [1000]
    con.execute("ROLLBACK")
    assert {u: query(con, q, 5, "AND u = ?", (u,)) for u in range(5)} == want
    assert query(con, q, 1, "AND u = 9") == []
    integrity(con, "t")
