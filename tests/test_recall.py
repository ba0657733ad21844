"""The recall target (hnsw(recall=...), 'recall=X', AND recall = X): vec0
measures the recall of its own graph on its stored rows and picks the ef
that meets the target; and the commit that brings tombstones to a quarter
of a graph rebuilds it (src/vec0_recall.c)."""

import random
import sqlite3
import struct

import numpy as np
import pytest

from conftest import connect, f32

DIM = 96


def vectors(n, seed, dim=DIM):
    rng = random.Random(seed)
    return [[rng.gauss(0, 1) for _ in range(dim)] for _ in range(n)]


def fill(con, table, rows, start=1):
    con.execute("BEGIN")
    con.executemany("INSERT INTO %s(rowid, v) VALUES (?, ?)" % table,
                    ((start + i, f32(v)) for i, v in enumerate(rows)))
    con.execute("COMMIT")


def exact(rows, q, k):
    ids = np.array(list(rows))
    x = np.array(list(rows.values()), dtype=np.float32)
    d = ((x - np.array(q, dtype=np.float32)) ** 2).sum(axis=1)
    return set(ids[np.argsort(d, kind="stable")[:k]].tolist())


def measured_recall(con, table, rows, queries, extra="", k=10):
    hits = 0
    for q in queries:
        got = {r[0] for r in con.execute(
            "SELECT rowid FROM %s WHERE v MATCH ? AND k = %d %s" % (table, k, extra),
            (f32(q),))}
        hits += len(got & exact(rows, q, k))
    return hits / (k * len(queries))


def info(con, table, *cols):
    return con.execute("SELECT %s FROM vec0_info(?)" % ", ".join(cols), (table,)).fetchone()


def config(con, table, key):
    r = con.execute("SELECT value FROM %s_config WHERE key = ?" % table, (key,)).fetchone()
    return r[0] if r else None


@pytest.fixture(scope="module")
def hard(tmp_path_factory):
    """Random 96-d vectors (the default graph), and a thin graph at a fixed small ef."""
    path = str(tmp_path_factory.mktemp("recall") / "hard.db")
    rows = {i + 1: v for i, v in enumerate(vectors(3000, 1))}
    con = connect(path)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(v float[%d])" % DIM)
    fill(con, "t", list(rows.values()))
    con.execute("CREATE VIRTUAL TABLE fixed USING vec0(v float[%d] indexed by hnsw(m=4, "
                "ef_construction=40, ef_search=10))" % DIM)
    fill(con, "fixed", list(rows.values()))
    con.close()
    return path, rows, vectors(60, 2)


@pytest.mark.heavy
def test_default_meets_the_target(hard):
    path, rows, queries = hard
    con = connect(path)
    ef, target, rec, nrows = info(con, "t", "ef_search", "recall_target", "recall",
                                  "recall_rows")
    assert (target, nrows) == (0.95, 3000)
    assert 0.95 <= rec <= 1.0
    # New queries (not stored rows) meet it too, without wasting time.
    r = measured_recall(con, "t", rows, queries)
    assert 0.95 <= r <= 0.995, (r, ef)
    # The same graph at a fixed small ef does not: the measurement matters.
    assert measured_recall(con, "fixed", rows, queries) < 0.9
    assert info(con, "fixed", "ef_search", "recall_target", "recall") == (10, None, None)
    assert config(con, "fixed", "recall.0") is None


def test_per_query_recall(hard):
    path, rows, queries = hard
    con = connect(path)
    ef95 = con.execute("SELECT ef FROM t WHERE v MATCH ? AND k = 10",
                       (f32(queries[0]),)).fetchone()[0]
    ef99 = con.execute("SELECT ef FROM t WHERE v MATCH ? AND k = 10 AND recall = 0.99",
                       (f32(queries[0]),)).fetchone()[0]
    ef80 = con.execute("SELECT ef FROM t WHERE v MATCH ? AND k = 10 AND recall = 0.8",
                       (f32(queries[0]),)).fetchone()[0]
    assert ef80 < ef95 < ef99
    assert measured_recall(con, "t", rows, queries, "AND recall = 0.99") >= 0.97
    # A table with a fixed ef still answers a per-query target from ... no curve:
    assert con.execute("SELECT ef FROM fixed WHERE v MATCH ? AND k = 10 AND recall = 0.99",
                       (f32(queries[0]),)).fetchone()[0] >= 64


@pytest.mark.parametrize("bad", ["1.0", "0.3", "'x'", "NULL", "x'00'"])
def test_bad_per_query_recall(hard, bad):
    con = connect(hard[0])
    with pytest.raises(sqlite3.OperationalError, match="recall must be a number in 0.5..0.999"):
        con.execute("SELECT rowid FROM t WHERE v MATCH ? AND k = 3 AND recall = %s" % bad,
                    (f32([0] * DIM),)).fetchall()


def test_ef_and_recall_exclude_each_other(hard):
    con = connect(hard[0])
    with pytest.raises(sqlite3.OperationalError, match="takes ef or recall, not both"):
        con.execute("SELECT rowid FROM t WHERE v MATCH ? AND k = 3 AND ef = 20 AND "
                    "recall = 0.9", (f32([0] * DIM),)).fetchall()


def test_measured_again_when_grown_or_shrunk(tmp_path):
    con = connect(str(tmp_path / "g.db"))
    con.execute("CREATE VIRTUAL TABLE t USING vec0(v float[8])")
    rows = vectors(4200, 3, 8)
    fill(con, "t", rows[:999])
    assert info(con, "t", "recall_rows", "recall") == (None, None)
    assert config(con, "t", "recall.0") is None
    fill(con, "t", rows[999:1000], start=1000)  # the 1000th row: measured
    assert info(con, "t", "recall_rows")[0] == 1000
    fill(con, "t", rows[1000:1999], start=1001)
    assert info(con, "t", "recall_rows")[0] == 1000
    fill(con, "t", rows[1999:2000], start=2000)  # twice the rows
    assert info(con, "t", "recall_rows")[0] == 2000
    fill(con, "t", rows[2000:4200], start=2001)
    assert info(con, "t", "recall_rows")[0] == 4200
    # Half the rows gone: measured again (the tombstones' rebuild too).
    con.execute("DELETE FROM t WHERE rowid > 2100")
    assert info(con, "t", "rows", "recall_rows", "tombstones") == (2100, 2100, 0)


def test_rolled_back_with_its_transaction(tmp_path):
    con = connect(str(tmp_path / "r.db"))
    con.execute("CREATE VIRTUAL TABLE t USING vec0(v float[8])")
    rows = vectors(1000, 4, 8)
    con.execute("BEGIN")
    con.executemany("INSERT INTO t(rowid, v) VALUES (?, ?)",
                    ((i + 1, f32(v)) for i, v in enumerate(rows)))
    con.execute("ROLLBACK")
    assert config(con, "t", "recall.0") is None
    assert info(con, "t", "rows", "recall_rows") == (0, None)
    # A commit that fails (a second table's constraint) takes the measurement back.
    con.execute("CREATE TABLE u(x UNIQUE)")
    con.execute("INSERT INTO u VALUES (1)")
    con.execute("BEGIN")
    con.executemany("INSERT INTO t(rowid, v) VALUES (?, ?)",
                    ((i + 1, f32(v)) for i, v in enumerate(rows)))
    con.execute("SAVEPOINT s")
    con.execute("INSERT INTO t(t) VALUES ('recall=0.9')")
    assert config(con, "t", "recall_target.0") == 9000
    con.execute("ROLLBACK TO s")
    con.execute("RELEASE s")
    con.execute("COMMIT")
    assert config(con, "t", "recall_target.0") is None
    assert info(con, "t", "recall_target", "recall_rows") == (0.95, 1000)
    other = connect(str(tmp_path / "r.db"))
    assert info(other, "t", "recall_target", "recall_rows") == (0.95, 1000)


def test_same_statements_same_bytes(tmp_path):
    rows = vectors(2500, 5, 16)
    blobs = []
    for threads in (1, 3):
        con = connect(str(tmp_path / ("d%d.db" % threads)))
        con.execute("CREATE VIRTUAL TABLE t USING vec0(v float[16] indexed by "
                    "hnsw(m=6, quantizer=int8))")
        con.execute("INSERT INTO t(t) VALUES ('threads=%d')" % threads)
        fill(con, "t", rows)
        con.execute("DELETE FROM t WHERE rowid % 3 = 0")
        con.execute("INSERT INTO t(t) VALUES ('optimize')")
        blobs.append([con.execute("SELECT key, value FROM t_config ORDER BY key").fetchall(),
                      con.execute("SELECT * FROM t_links0 ORDER BY slot").fetchall()])
    assert blobs[0] == blobs[1]
    assert any(k == "recall.0" for k, _ in blobs[0][0])


def test_recall_command(hard, tmp_path):
    path = str(tmp_path / "c.db")
    con = connect(path)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(v float[%d] indexed by hnsw(m=4, "
                "ef_construction=40, ef_search=10))" % DIM)
    fill(con, "t", list(hard[1].values())[:1500])
    assert info(con, "t", "ef_search", "recall_target") == (10, None)
    con.execute("INSERT INTO t(t) VALUES ('recall=0.97')")
    ef, target, rows = info(con, "t", "ef_search", "recall_target", "recall_rows")
    assert (target, rows) == (0.97, 1500) and ef > 10
    assert config(con, "t", "recall_target.0") == 9700
    # Another connection follows the stored target.
    assert info(connect(path), "t", "ef_search", "recall_target") == (ef, 0.97)
    con.execute("INSERT INTO t(t) VALUES ('ef_search=12')")
    assert info(con, "t", "ef_search", "recall_target") == (12, None)
    for bad in ("recall=1", "recall=0.2", "recall=", "recall=0.9x", "recall=9e-1",
                "recall=0.95001"):
        with pytest.raises(sqlite3.OperationalError, match=r"recall must be a decimal in "
                           r"0.5..0.999 \(at most 4 places, such as 0.95\)"):
            con.execute("INSERT INTO t(t) VALUES (?)", (bad,))
    con.execute("INSERT INTO t(t) VALUES ('recall=0.97000')")
    assert info(con, "t", "ef_search", "recall_target")[1] == 0.97


def test_tombstones_rebuild_the_graph(tmp_path):
    con = connect(str(tmp_path / "t.db"))
    con.execute("CREATE VIRTUAL TABLE t USING vec0(v float[8] indexed by hnsw(m=6))")
    rows = vectors(8000, 6, 8)
    fill(con, "t", rows)
    # 20 %: below the share, the tombstones stay.
    con.execute("DELETE FROM t WHERE rowid % 5 = 0")
    assert info(con, "t", "rows", "graph_nodes", "tombstones") == (6400, 8000, 1600)
    # 25 % of the nodes: the commit rebuilds the graph from the live rows.
    con.execute("DELETE FROM t WHERE rowid % 5 = 1 AND rowid <= 2000")
    assert info(con, "t", "rows", "tombstones") == (6000, 0)
    con.execute("INSERT INTO t(t) VALUES ('integrity-check')")
    q = rows[10]
    live = {i + 1: v for i, v in enumerate(rows) if (i + 1) % 5 != 0 and
            not ((i + 1) % 5 == 1 and i + 1 <= 2000)}
    got = {r[0] for r in con.execute("SELECT rowid FROM t WHERE v MATCH ? AND k = 10",
                                     (f32(q),))}
    assert len(got & exact(live, q, 10)) >= 9


def test_corrupt_measurement_is_reported(tmp_path):
    path = str(tmp_path / "x.db")
    con = connect(path)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(v float[8])")
    fill(con, "t", vectors(1000, 7, 8))
    con.execute("UPDATE t_config SET value = x'0100' WHERE key = 'recall.0'")
    con = connect(path)
    with pytest.raises(sqlite3.DatabaseError, match="bad recall.0 in t_config"):
        con.execute("SELECT rowid FROM t WHERE v MATCH ? AND k = 1",
                    (f32([0] * 8),)).fetchall()


def test_a_column_named_recall(tmp_path):
    con = connect(str(tmp_path / "n.db"))
    con.execute("CREATE VIRTUAL TABLE t USING vec0(v float[4], recall float)")
    con.execute("INSERT INTO t(rowid, v, recall) VALUES (1, ?, 0.5), (2, ?, 0.9)",
                (f32([1, 0, 0, 0]), f32([0, 1, 0, 0])))
    assert con.execute("SELECT rowid, recall FROM t WHERE v MATCH ? AND k = 2 AND "
                       "_recall = 0.99 ORDER BY distance",
                       (f32([1, 0, 0, 0]),)).fetchall() == [(1, 0.5), (2, 0.9)]
    assert con.execute("SELECT rowid FROM t WHERE v MATCH ? AND k = 2 AND recall > 0.6",
                       (f32([1, 0, 0, 0]),)).fetchall() == [(2,)]


def test_info_shape_and_disk(hard):
    con = connect(hard[0])
    levels, entry, nbytes, disk_bytes, disk = info(
        con, "t", "levels", "entry_rowid", "index_bytes", "disk_bytes", "disk")
    assert levels >= 2 and 1 <= entry <= 3000 and nbytes > 3000 * 4 * 9
    import json
    d = json.loads(disk)
    assert set(d) == {"t_config", "t_rows", "t_slots", "t_free", "t_vectors0", "t_links0"}
    assert disk_bytes == d["t_vectors0"] + d["t_links0"]
    assert d["t_vectors0"] >= 3000 * DIM * 4


@pytest.mark.heavy
def test_measurement_on_threads_is_the_same(tmp_path):
    """A long exact scan (8000 x 64 x 100 queries) is split over threads: the
    curve must not depend on how many."""
    rows = np.random.default_rng(8).standard_normal((8000, 64)).astype(np.float32)
    curves = []
    for threads in (1, 2, 5):
        con = connect(str(tmp_path / ("p%d.db" % threads)))
        con.execute("CREATE VIRTUAL TABLE t USING vec0(v float[64] indexed by hnsw(m=8))")
        con.execute("INSERT INTO t(t) VALUES ('threads=%d')" % threads)
        con.execute("BEGIN")
        con.executemany("INSERT INTO t(rowid, v) VALUES (?, ?)",
                        ((i + 1, rows[i].tobytes()) for i in range(len(rows))))
        con.execute("COMMIT")
        curves.append(config(con, "t", "recall.0"))
    assert curves[0] is not None and curves[0] == curves[1] == curves[2]


def test_commit_leaves_no_read_open(tmp_path):
    """A commit builds the queued rows into the graph and may measure the
    recall, reading vectors lazily (BLOB handles), which xSync must close as
    every other method does.  The dqlite cluster test (tests/cluster) is the
    one that caught their leak ("database is locked" on the next write); plain
    SQLite did not show it here, so this only checks that nothing is left
    that would keep another connection's checkpoint from finishing."""
    path = str(tmp_path / "lock.db")
    a = connect(path)
    a.execute("PRAGMA journal_mode=WAL")
    a.execute("CREATE VIRTUAL TABLE t USING vec0(v float[8])")
    fill(a, "t", vectors(1500, 9, 8))
    a.close()
    b = connect(path)
    for start, n in ((2001, 100), (3001, 1500)):  # the second is measured at commit
        a = connect(path)  # a cold cache: the build and the measurement read lazily
        fill(a, "t", vectors(n, start, 8), start=start)
        assert b.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0
        a.close()
    assert info(b, "t", "recall_rows")[0] == 3100


@pytest.mark.parametrize("quantizer", ["none", "int8"])
def test_many_copies_at_the_default(tmp_path, quantizer):
    """Rows that store one vector many times (here 30 copies of each of 100
    vectors, 32-d): a query near one of them gets k of its copies at the
    default settings.  Copies are at one distance from any query; they used
    to fill the walk's ef places, which then held the copies of the first
    vector reached (recall by distance 0.83-0.92 here).  Counted by distance:
    a copy is as good an answer as another."""
    rng = np.random.default_rng(5)
    base = rng.normal(size=(100, 32)).astype(np.float32)
    x = base[rng.permutation(np.repeat(np.arange(100), 30))]
    con = connect(str(tmp_path / "copies.db"))
    con.execute("CREATE VIRTUAL TABLE t USING vec0(v float[32] indexed by hnsw(quantizer=%s))"
                % quantizer)
    fill(con, "t", [list(v) for v in x])
    hits = 0
    for j in range(100):
        q = base[j] + rng.normal(scale=0.5, size=32).astype(np.float32)
        kth = np.sort(np.sqrt(((x - q) ** 2).sum(axis=1)))[9]
        got = [r[0] for r in con.execute(
            "SELECT distance FROM t WHERE v MATCH ? AND k = 10", (q.tobytes(),))]
        assert len(got) == 10 and got == sorted(got)
        hits += sum(1 for d in got if d <= kth * (1 + 1e-5))
    assert hits / 1000 >= 0.95, hits / 1000
