"""hnsw(quantizer=int8|bit, rescore=N): the graph walked on compact codes and
the best rescore*k candidates re-ranked by their float32 distance.  The graph
bytes are those of the float32 graph (the quantizer only changes the walk),
results carry exact distances, recall stays close to the float32 graph's,
the quantizer's parameters are trained inside a write (deterministic, rolled
back with it) and everything else of a table keeps working."""

import random
import sqlite3

import pytest

from conftest import connect, f32, integrity, on_fresh_connection

DIM = 32


def clustered(n, dim, seed):
    rng = random.Random(seed)
    centres = [[rng.uniform(-3, 3) for _ in range(dim)] for _ in range(20)]
    out = []
    for _ in range(n):
        c = rng.choice(centres)
        out.append([x + rng.gauss(0, 1) for x in c])
    return out


def exact(rows, q, k, metric="l2"):
    def d(v):
        if metric == "cosine":
            dot = sum(a * b for a, b in zip(v, q))
            na = sum(a * a for a in v) ** 0.5
            nb = sum(b * b for b in q) ** 0.5
            return 1 - dot / (na * nb)
        return sum((a - b) ** 2 for a, b in zip(v, q))
    return [r for _, r in sorted((d(v), r) for r, v in rows.items())[:k]]


def fill(con, table, rows, extra=""):
    con.execute("BEGIN")
    for r, v in rows.items():
        con.execute("INSERT INTO %s(rowid, e%s) VALUES (?, ?%s)" % (
            table, ", p" if extra else "", ", ?" if extra else ""),
            (r, f32(v)) + ((r % 3,) if extra else ()))
    con.execute("COMMIT")


# (32 bits are coarse: the bit case re-ranks more candidates.)
@pytest.mark.parametrize("quant,metric,want", [("int8", "l2", 0.95), ("int8", "cosine", 0.95),
                                               ("int8", "dot", 0.9),
                                               ("bit, rescore=40", "cosine", 0.85)])
def test_recall_and_exact_distances(dbpath, quant, metric, want):
    con = connect(dbpath)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(e float[%d] distance_metric=%s "
                "indexed by hnsw(quantizer=%s))" % (DIM, metric, quant))
    rows = {i + 1: v for i, v in enumerate(clustered(3000, DIM, 1))}
    fill(con, "t", rows)
    assert con.execute("SELECT count(*) FROM t_config WHERE key = 'quant.0'").fetchone()[0] == 1
    fn = {"l2": "vec_distance_l2", "cosine": "vec_distance_cosine", "dot": "vec_distance_dot"}
    hits = 0
    queries = clustered(30, DIM, 2)
    for q in queries:
        # bit at the default ef: the walk then keeps rescore x k = 400 candidates
        got = con.execute("SELECT rowid, distance, %s(e, ?) FROM t WHERE e MATCH ? AND k = 10 "
                          "%s" % (fn[metric], "" if quant.startswith("bit") else "AND ef = 100"),
                          (f32(q), f32(q))).fetchall()
        assert len(got) == 10
        # Re-ranked by float32: the distance is the exact one, nearest first.
        for _, d, dfn in got:
            assert d == pytest.approx(dfn, rel=1e-5, abs=1e-6)
        assert [d for _, d, _ in got] == sorted(d for _, d, _ in got)
        if metric != "dot":
            hits += len(set(exact(rows, q, 10, metric)) & set(r for r, _, _ in got))
    if metric != "dot":
        assert hits / (10 * len(queries)) >= want
    integrity(con, "t")


def test_graph_bytes_do_not_depend_on_the_quantizer(tmp_path):
    links = []
    rows = {i + 1: v for i, v in enumerate(clustered(1500, DIM, 3))}
    for opts in ["m=8", "m=8, quantizer=int8, rescore=3"]:
        # Same table name in two databases: the same seed, so the same levels.
        con = connect(str(tmp_path / ("%d.db" % len(links))))
        con.execute("CREATE VIRTUAL TABLE t USING vec0(e float[%d] indexed by hnsw(%s))"
                    % (DIM, opts))
        fill(con, "t", rows)
        con.execute("DELETE FROM t WHERE rowid % 7 = 0")
        links.append(con.execute("SELECT slot, links FROM t_links0 ORDER BY slot").fetchall())
    assert links[0] == links[1] and len(links[0]) > 1000


def test_training_is_a_write_and_rolls_back(dbpath):
    con = connect(dbpath)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(e float[%d] indexed by hnsw(quantizer=int8))"
                % DIM)
    rows = {i + 1: v for i, v in enumerate(clustered(1200, DIM, 4))}
    q = "SELECT count(*) FROM t_config WHERE key = 'quant.0'"
    con.execute("BEGIN")
    for r in range(1, 990):
        con.execute("INSERT INTO t(rowid, e) VALUES (?, ?)", (r, f32(rows[r])))
    con.execute("COMMIT")
    assert con.execute(q).fetchone()[0] == 0          # too few rows: walks on float32
    assert len(con.execute("SELECT rowid FROM t WHERE e MATCH ? AND k = 5",
                           (f32(rows[1]),)).fetchall()) == 5
    con.execute("BEGIN")
    for r in range(990, 1200):
        con.execute("INSERT INTO t(rowid, e) VALUES (?, ?)", (r, f32(rows[r])))
    assert con.execute(q).fetchone()[0] == 1
    con.execute("ROLLBACK")
    assert con.execute(q).fetchone()[0] == 0
    # Another connection sees the quantizer once it is committed.
    fill(con, "t", {r: rows[r] for r in range(990, 1200)})
    other = connect(dbpath)
    assert other.execute(q).fetchone()[0] == 1
    got = other.execute("SELECT rowid FROM t WHERE e MATCH ? AND k = 1", (f32(rows[5]),)).fetchall()
    assert got == [(5,)]
    # rebuild trains it anew (same rows: same parameters)
    before = con.execute("SELECT value FROM t_config WHERE key = 'quant.0'").fetchone()[0]
    con.execute("INSERT INTO t(t) VALUES ('rebuild')")
    after = con.execute("SELECT value FROM t_config WHERE key = 'quant.0'").fetchone()[0]
    assert before is not None and len(after) == 20
    integrity(con, "t")


def test_filters_partitions_updates(dbpath):
    con = connect(dbpath)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(e float[%d] indexed by hnsw(quantizer=int8), "
                "p integer partition key)" % DIM)
    rows = {i + 1: v for i, v in enumerate(clustered(2400, DIM, 5))}
    fill(con, "t", rows, extra="p")
    for r in range(1, 300):
        rows[r] = [x + 0.5 for x in rows[r]]
        con.execute("UPDATE t SET e = ? WHERE rowid = ?", (f32(rows[r]), r))
    con.execute("DELETE FROM t WHERE rowid % 11 = 0")
    left = {r: v for r, v in rows.items() if r % 11 and r % 3 == 1}
    hits = 0
    for q in clustered(10, DIM, 6):
        got = [r for (r,) in con.execute("SELECT rowid FROM t WHERE e MATCH ? AND k = 10 AND "
                                         "p = 1 AND ef = 80", (f32(q),))]
        assert len(got) == 10 and all(r % 3 == 1 and r % 11 for r in got)
        hits += len(set(exact(left, q, 10)) & set(got))
    assert hits >= 90
    integrity(con, "t")
    con.execute("INSERT INTO t(t) VALUES ('optimize')")
    integrity(con, "t")


@pytest.mark.parametrize("quant", ["quantizer=int8", "quantizer=none"])
def test_long_lived_connection_answers_as_a_fresh_one(dbpath, quant):
    """A connection whose codes (or vectors) are all in memory reads them by
    slot without asking for each (vec0HnswSetDense); a vector rewritten in the
    middle of the slots makes its code stale, and the walk must then make it
    again, not read the old one: the same rows and distances as a connection
    that has cached nothing."""
    con = connect(dbpath)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(e float[%d] indexed by hnsw(%s))"
                % (DIM, quant))
    rows = {i + 1: v for i, v in enumerate(clustered(1500, DIM, 11))}
    fill(con, "t", rows)
    queries = clustered(12, DIM, 12)
    sql = "SELECT rowid, distance FROM t WHERE e MATCH ? AND k = 10 AND ef = 40"

    def answers(c):
        return [c.execute(sql, (f32(q),)).fetchall() for q in queries]

    def far(r):
        return [40.0 + r] + [0.0] * (DIM - 1)

    con.execute("INSERT INTO t(t) VALUES ('warm')")  # every vector, then every code
    before = answers(con)
    assert before == on_fresh_connection(dbpath, answers)
    for r in (750, 2, 1499):
        rows[r] = far(r)
        con.execute("UPDATE t SET e = ? WHERE rowid = ?", (f32(rows[r]), r))
        got = con.execute(sql, (f32(far(r)),)).fetchall()
        assert got[0] == (r, 0.0)
        assert answers(con) == on_fresh_connection(dbpath, answers)
    integrity(con, "t")


def test_bad_options(dbpath):
    con = connect(dbpath)
    for decl, msg in [("e int8[4] indexed by hnsw(quantizer=int8)", "needs a float column"),
                      ("e float[4] distance_metric=l1 indexed by hnsw(quantizer=bit)",
                       "needs a float column with distance_metric l2, cosine or dot"),
                      ("e float[4] indexed by hnsw(quantizer=pq)", 'unknown quantizer "pq"'),
                      ("e float[4] indexed by hnsw(rescore=0)", "rescore 0 of column"),
                      ("e float[4] indexed by hnsw(quantizer=int8, quantizer=bit)",
                       "duplicate hnsw parameter")]:
        with pytest.raises(sqlite3.Error, match="vec0: .*" + msg):
            con.execute("CREATE VIRTUAL TABLE x USING vec0(%s)" % decl)


def _fashion(n, nq):
    """The first n fashion-mnist rows and nq more as queries (bench's loader)."""
    import os
    import sys
    from conftest import ROOT
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    import datasets
    path = os.path.join(datasets.FASHION_DIR, "train-images-idx3-ubyte.gz")
    if not os.path.exists(path):
        pytest.skip("fashion-mnist is not installed (Debian package dataset-fashion-mnist)")
    a = datasets._idx3(path)
    return a[:n], a[n:n + nq]


def _text_like(n, nq, dim=256, seed=5):
    """Unit vectors from 60 latent directions with a decaying spectrum plus
    noise (bench/datasets.py's text-like set, smaller): int8 is not lossless here."""
    np = pytest.importorskip("numpy")
    rng = np.random.default_rng(seed)
    basis = rng.normal(size=(60, dim)) / np.sqrt(dim)
    w = (np.arange(60) + 1.0) ** -0.6
    x = (rng.normal(size=(n + nq, 60)) * w) @ basis + rng.normal(0, 0.35 / np.sqrt(dim),
                                                                 size=(n + nq, dim))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    x = x.astype("<f4")
    return x[:n], x[n:]


# The int8 walk's recall is never more than 0.01 below the float32 walk's of
# the same graph: at the default ef (candidates re-ranked: rescore x k) and at
# the small explicit ef of a fast search.
@pytest.mark.parametrize("data,metric", [pytest.param("fashion", "l2", marks=pytest.mark.heavy),
                                         ("text", "cosine")])
def test_int8_recall_close_to_float32(tmp_path, data, metric):
    np = pytest.importorskip("numpy")
    base, queries = (_fashion if data == "fashion" else _text_like)(3000, 40)
    con = connect(str(tmp_path / "r.db"))
    for name, opt in (("f", ""), ("q", ", quantizer=int8")):
        con.execute("CREATE VIRTUAL TABLE %s USING vec0(e float[%d] distance_metric=%s "
                    "indexed by hnsw(m=12, ef_construction=64%s))"
                    % (name, base.shape[1], metric, opt))
        con.execute("BEGIN")
        con.executemany("INSERT INTO %s(rowid, e) VALUES (?, ?)" % name,
                        ((i + 1, v.tobytes()) for i, v in enumerate(base)))
        con.execute("COMMIT")
    if metric == "cosine":
        truth = np.argsort(-(queries @ base.T), axis=1)[:, :10] + 1
    else:
        d = (queries ** 2).sum(1)[:, None] + (base ** 2).sum(1)[None, :] - 2 * queries @ base.T
        truth = np.argsort(d, axis=1)[:, :10] + 1
    for ef in ("", "AND ef = 10", "AND ef = 16"):
        rec = {}
        for name in ("f", "q"):
            hits = 0
            for q, t in zip(queries, truth):
                got = [r for (r,) in con.execute("SELECT rowid FROM %s WHERE e MATCH ? AND k = 10 %s"
                                                 % (name, ef), (q.tobytes(),))]
                hits += len(set(got) & set(t.tolist()))
            rec[name] = hits / (10.0 * len(queries))
        assert rec["q"] >= rec["f"] - 0.01, (data, ef, rec)
