"""hnsw(quantizer=..., low_memory=1): a search holds the codes and the
graph's links in memory, never the float32 vectors: codes are made from
vectors read once, the float32 re-ranking reads its few candidates.  The
answers are those of the same table without low_memory (same graph, same
codes, same re-ranking)."""

import random
import sqlite3
import struct

import pytest

from conftest import connect, f32, integrity

DIM = 48


def rows(n, seed, dim=DIM):
    rng = random.Random(seed)
    centres = [[rng.uniform(-3, 3) for _ in range(dim)] for _ in range(15)]
    return [[x + rng.gauss(0, 1) for x in rng.choice(centres)] for _ in range(n)]


def make(path, opts, data):
    con = connect(path)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(e float[%d] indexed by hnsw(m=8, "
                "ef_construction=40, quantizer=int8%s), tag integer)" % (len(data[0]), opts))
    con.execute("BEGIN")
    for i, v in enumerate(data):
        con.execute("INSERT INTO t(rowid, e, tag) VALUES (?, ?, ?)", (i + 1, f32(v), i % 4))
    con.execute("COMMIT")
    con.close()
    return connect(path)


def cached(con):
    return con.execute("SELECT vectors_cached FROM vec0_info('t')").fetchone()[0]


# 64 dimensions: records without stored sums (vec0_vec.h), packed or not alike.
@pytest.mark.parametrize("dim,n", [(DIM, 2500), (64, 1500)])
def test_same_answers_without_the_vectors_in_memory(tmp_path, dim, n):
    data = rows(n, 1, dim)
    normal = make(str(tmp_path / "n.db"), "", data)
    low = make(str(tmp_path / "l.db"), ", low_memory=1", data)
    assert (normal.execute("SELECT * FROM t_links0 ORDER BY slot").fetchall()
            == low.execute("SELECT * FROM t_links0 ORDER BY slot").fetchall())
    for q in rows(300, 2, dim):
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
    assert cached(normal) == n
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


def heavy(n, seed):
    """Vectors whose few large outliers the int8 codes clip: codes far from
    their vectors, so a re-ranking that bounds distances by the codes must
    count each code's own error."""
    rng = random.Random(seed)
    return [[rng.gauss(0, 1) * (40 if rng.random() < 0.02 else 1) for _ in range(DIM)]
            for _ in range(n)]


def on_grid(con, qs):
    """The queries moved onto the int8 grid of the table's quantizer
    ('quant.0': u32 kind, metric, dims, f32 mid, scale): their codes are
    exact, so a bound that left out the codes' errors of the rows would
    skip rows it must read."""
    blob = con.execute("SELECT value FROM t_config WHERE key = 'quant.0'").fetchone()[0]
    mid, scale = struct.unpack_from("<ff", blob, 12)
    return [[mid + scale * max(-127, min(127, round((x - mid) / scale))) for x in q] for q in qs]


@pytest.mark.parametrize("gen,grid", [(rows, False), (heavy, False), (rows, True)])
def test_bounded_rescoring_reads_less_and_answers_the_same(tmp_path, gen, grid):
    # With rescore = 8 the low-memory walk re-ranks 80 candidates but reads
    # only those whose code bound leaves them a chance: rows and distances
    # must still be an exact re-rank of all 80, as the in-memory table does.
    data = gen(2000, 6)
    normal = make(str(tmp_path / "n.db"), "", data)
    low = make(str(tmp_path / "l.db"), ", low_memory=1", data)
    sql = "SELECT rowid, distance FROM t WHERE e MATCH ? AND k = ? AND ef = 120 AND rescore = 8"
    queries = gen(200, 7)
    if grid:
        queries = on_grid(low, queries)
    for i, q in enumerate(queries):
        k = (1, 10, 15)[i % 3]
        assert (low.execute(sql, (f32(q), k)).fetchall()
                == normal.execute(sql, (f32(q), k)).fetchall())


def test_one_vector_per_row(dbpath):
    # A low-memory column keeps one vector per T_vectors0 row (a re-ranking
    # read is one page); the same column in memory packs several.
    con = make(dbpath, ", low_memory=1", rows(300, 8))
    assert con.execute("SELECT value FROM t_config WHERE key = 'chunk.0'").fetchone() == (1,)
    assert con.execute("SELECT count(*) FROM t_vectors0").fetchone() == (300,)
    con.execute("CREATE VIRTUAL TABLE u USING vec0(e float[%d] indexed by hnsw(quantizer=int8))"
                % DIM)
    assert con.execute("SELECT value FROM u_config WHERE key = 'chunk.0'").fetchone()[0] > 1


def test_table_with_several_vectors_per_row(tmp_path):
    # A low-memory table made before (several vectors per chunk row): read
    # as it is, with the answers of the same table in memory.
    data = rows(1500, 9)
    normal = make(str(tmp_path / "n.db"), "", data)
    normal.close()
    old = sqlite3.connect(str(tmp_path / "n.db"))
    old.execute("PRAGMA writable_schema = ON")
    old.execute("UPDATE sqlite_master SET sql = replace(sql, 'quantizer=int8', "
                "'quantizer=int8, low_memory=1') WHERE name = 't'")
    old.commit()
    old.close()
    low = connect(str(tmp_path / "n.db"))
    assert low.execute("SELECT value FROM t_config WHERE key = 'chunk.0'").fetchone()[0] > 1
    normal = make(str(tmp_path / "m.db"), "", data)
    sql = "SELECT rowid, distance FROM t WHERE e MATCH ? AND k = 10 AND rescore = 4 AND ef = 60"
    for q in rows(100, 10):
        assert low.execute(sql, (f32(q),)).fetchall() == normal.execute(sql, (f32(q),)).fetchall()
    assert cached(low) == 0
    integrity(low, "t")


def test_bounded_rescoring_cosine(tmp_path):
    # Cosine: the bound is |x - y|^2 / 2 of the normalised vectors, from
    # the codes of the normalised vectors and their errors.
    data = rows(1500, 11)
    cons = []
    for name, opts in (("n.db", ""), ("l.db", ", low_memory=1")):
        con = connect(str(tmp_path / name))
        con.execute("CREATE VIRTUAL TABLE t USING vec0(e float[%d] distance_metric=cosine "
                    "indexed by hnsw(m=8, ef_construction=40, quantizer=int8%s))" % (DIM, opts))
        con.execute("BEGIN")
        for i, v in enumerate(data):
            con.execute("INSERT INTO t(rowid, e) VALUES (?, ?)", (i + 1, f32(v)))
        con.execute("COMMIT")
        cons.append(con)
    normal, low = cons
    sql = "SELECT rowid, distance FROM t WHERE e MATCH ? AND k = 10 AND ef = 100 AND rescore = 8"
    for q in rows(100, 12) + on_grid(low, rows(100, 13)):
        assert low.execute(sql, (f32(q),)).fetchall() == normal.execute(sql, (f32(q),)).fetchall()


def tight(n, seed):
    """Clusters whose spread is about the int8 step: neighbours' distances
    are of the order of the codes' errors, which a bound must count."""
    rng = random.Random(seed)
    centres = [[rng.uniform(-3, 3) for _ in range(DIM)] for _ in range(15)]
    return [[x + rng.gauss(0, 0.03) for x in rng.choice(centres)] for _ in range(n)]


@pytest.mark.parametrize("low_memory", [0, 1])
@pytest.mark.parametrize("metric,gen,grid", [("l2", rows, False), ("l2", heavy, False),
                                             ("l2", rows, True), ("l2", tight, False),
                                             ("cosine", tight, False), ("cosine", rows, True)])
def test_bounded_rescoring_is_an_exact_rerank(tmp_path, low_memory, metric, gen, grid):
    # The low-memory re-ranking reads vectors in the order of their code
    # bounds and stops early.  The reference: the same walk (same ef, same
    # number of candidates) asked for every candidate with rescore = 1,
    # which re-ranks them all without bounds; its first k rows must be the
    # bounded answer's (in memory: both unbounded).  A bound that skipped a
    # row it must read shows there (it fails when the bound leaves out the
    # codes' errors), with no in-memory table to compare with.
    data = gen(1500, 21)
    con = connect(str(tmp_path / "t.db"))
    con.execute("CREATE VIRTUAL TABLE t USING vec0(e float[%d] distance_metric=%s indexed by "
                "hnsw(m=8, ef_construction=40, quantizer=int8, low_memory=%d))"
                % (DIM, metric, low_memory))
    con.execute("BEGIN")
    for i, v in enumerate(data):
        con.execute("INSERT INTO t(rowid, e) VALUES (?, ?)", (i + 1, f32(v)))
    con.execute("COMMIT")
    queries = gen(60, 22)
    if grid:
        queries = on_grid(con, queries)
    sql = "SELECT rowid, distance FROM t WHERE e MATCH ? AND k = ? AND ef = 100 AND rescore = ?"
    for i, q in enumerate(queries):
        k = (1, 10, 12)[i % 3]
        got = con.execute(sql, (f32(q), k, 8)).fetchall()
        every = con.execute(sql, (f32(q), 8 * k, 1)).fetchall()
        assert len(got) == k and got == every[:k]
