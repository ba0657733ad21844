"""hnsw(quantizer=..., low_memory=1): a search holds the codes and the
graph's links in memory, never the float32 vectors: codes are made from
vectors read once, the float32 re-ranking reads its few candidates.  The
answers are those of the same table without low_memory (same graph, same
codes, same re-ranking)."""

import random
import sqlite3

import pytest

from conftest import connect, f32, integrity

DIM = 48


def rows(n, seed):
    rng = random.Random(seed)
    centres = [[rng.uniform(-3, 3) for _ in range(DIM)] for _ in range(15)]
    return [[x + rng.gauss(0, 1) for x in rng.choice(centres)] for _ in range(n)]


def make(path, opts, data):
    con = connect(path)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(e float[%d] indexed by hnsw(m=8, "
                "ef_construction=40, quantizer=int8%s), tag integer)" % (DIM, opts))
    con.execute("BEGIN")
    for i, v in enumerate(data):
        con.execute("INSERT INTO t(rowid, e, tag) VALUES (?, ?, ?)", (i + 1, f32(v), i % 4))
    con.execute("COMMIT")
    con.close()
    return connect(path)


def cached(con):
    return con.execute("SELECT vectors_cached FROM vec0_info('t')").fetchone()[0]


def test_same_answers_without_the_vectors_in_memory(tmp_path):
    data = rows(2500, 1)
    normal = make(str(tmp_path / "n.db"), "", data)
    low = make(str(tmp_path / "l.db"), ", low_memory=1", data)
    assert (normal.execute("SELECT * FROM t_links0 ORDER BY slot").fetchall()
            == low.execute("SELECT * FROM t_links0 ORDER BY slot").fetchall())
    for q in rows(300, 2):
        sql = "SELECT rowid, distance FROM t WHERE e MATCH ? AND k = 10 AND tag != 3"
        got = low.execute(sql, (f32(q),)).fetchall()
        assert got == normal.execute(sql, (f32(q),)).fetchall()
        assert len(got) == 10 and [d for _, d in got] == sorted(d for _, d in got)
        for r, d in got[:2]:
            assert d == pytest.approx(normal.execute(
                "SELECT vec_distance_l2(e, ?) FROM t WHERE rowid = ?", (f32(q), r)).fetchone()[0],
                rel=1e-5)
    # 300 queries warm a table up completely: the normal one holds every
    # vector, the low-memory one none.
    assert cached(normal) == 2500
    assert cached(low) == 0
    assert low.execute("SELECT cache_complete FROM vec0_info('t')").fetchone() == (0,)
    integrity(low, "t")


def test_writes_and_maintenance(dbpath):
    data = rows(1500, 3)
    con = make(dbpath, ", low_memory=1", data)
    con.execute("BEGIN")
    con.execute("DELETE FROM t WHERE rowid % 5 = 0")
    con.execute("UPDATE t SET e = ? WHERE rowid = 7", (f32([0.5] * DIM),))
    con.execute("INSERT INTO t(rowid, e, tag) VALUES (9001, ?, 1)", (f32([-0.5] * DIM),))
    con.execute("ROLLBACK")
    assert con.execute("SELECT rowid FROM t WHERE e MATCH ? AND k = 1",
                       (f32(data[4]),)).fetchone() == (5,)
    con.execute("DELETE FROM t WHERE rowid % 5 = 0")
    con.execute("UPDATE t SET e = ? WHERE rowid = 7", (f32([0.5] * DIM),))
    assert con.execute("SELECT rowid, distance FROM t WHERE e MATCH ? AND k = 1",
                       (f32([0.5] * DIM),)).fetchone() == (7, 0.0)
    assert all(r % 5 for (r,) in con.execute("SELECT rowid FROM t WHERE e MATCH ? AND k = 50",
                                             (f32(data[4]),)))
    integrity(con, "t")
    con.execute("INSERT INTO t(t) VALUES ('optimize')")
    integrity(con, "t")
    con.close()
    con = connect(dbpath)
    assert con.execute("SELECT rowid FROM t WHERE e MATCH ? AND k = 1",
                       (f32(data[10]),)).fetchone() == (11,)


def test_corrupt_vector_chunk(dbpath):
    con = make(dbpath, ", low_memory=1", rows(1200, 4))
    con.execute("UPDATE t_vectors0 SET v = x'00' WHERE chunk = 3")
    con.close()
    con = connect(dbpath)
    with pytest.raises(sqlite3.DatabaseError, match="vec0: .*chunk 3 of t_vectors0"):
        for q in rows(50, 5):
            con.execute("SELECT rowid FROM t WHERE e MATCH ? AND k = 20 AND ef = 400",
                        (f32(q),)).fetchall()


def test_bad_options(dbpath):
    con = connect(dbpath)
    for decl, msg in [("e float[4] indexed by hnsw(low_memory=1)",
                       'low_memory=1 of column "e" needs a quantizer'),
                      ("e float[4] indexed by hnsw(quantizer=int8, low_memory=2)",
                       "hnsw low_memory 2 of column \"e\" out of range 0..1")]:
        with pytest.raises(sqlite3.Error, match="vec0: .*" + msg):
            con.execute("CREATE VIRTUAL TABLE x USING vec0(%s)" % decl)
