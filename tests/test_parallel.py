"""'rebuild' and 'optimize' build the HNSW graphs with worker threads
('threads=N', default one per core): the shadow tables are the same bytes
for any thread count, and the graph is as good as a row-by-row build."""

import random

import pytest

from conftest import brute_knn, connect, f32, integrity, rand_vectors

DIM = 24
N = 6000


def dump(con):
    out = []
    for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND "
                               "name LIKE 't\\_%' ESCAPE '\\' ORDER BY name"):
        out.append((name, con.execute('SELECT * FROM "%s" ORDER BY 1' % name).fetchall()))
    return out


@pytest.fixture(scope="module")
def rows():
    return {i + 1: v for i, v in enumerate(rand_vectors(N, DIM, 21))}


def build(path, rows, threads, cmd, part=False):
    con = connect(path)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(e float[%d] indexed by hnsw(m=8, "
                "ef_construction=64)%s)" % (DIM, ", p integer partition key" if part else ""))
    con.execute("BEGIN")
    for r, v in rows.items():
        if part:
            con.execute("INSERT INTO t(rowid, e, p) VALUES (?, ?, ?)", (r, f32(v), r % 3))
        else:
            con.execute("INSERT INTO t(rowid, e) VALUES (?, ?)", (r, f32(v)))
    con.execute("COMMIT")
    con.execute("DELETE FROM t WHERE rowid % 10 = 0")
    con.execute("INSERT INTO t(t) VALUES ('threads=%d')" % threads)
    con.execute("INSERT INTO t(t) VALUES ('%s')" % cmd)
    return con


@pytest.mark.parametrize("cmd,part", [("rebuild", False), ("optimize", False),
                                      ("rebuild", True)])
def test_same_bytes_for_any_thread_count(tmp_path, rows, cmd, part):
    dumps = []
    for threads in (1, 2, 3):
        con = build(str(tmp_path / ("%d.db" % threads)), rows, threads, cmd, part)
        integrity(con, "t")
        dumps.append(dump(con))
        con.close()
    assert dumps[0] == dumps[1] == dumps[2]
    assert any(name == "t_links0" and len(r) > 1000 for name, r in dumps[0])


def test_rebuilt_graph_recall(tmp_path, rows):
    con = build(str(tmp_path / "r.db"), rows, 2, "rebuild")
    left = {r: v for r, v in rows.items() if r % 10}
    rng = random.Random(5)
    hits = 0
    for _ in range(30):
        q = [rng.uniform(-1, 1) for _ in range(DIM)]
        want = [r for r, _ in brute_knn(left, q, 10)]
        got = [r for (r,) in con.execute("SELECT rowid FROM t WHERE e MATCH ? AND k = 10 "
                                         "AND ef = 100", (f32(q),))]
        hits += len(set(want) & set(got))
    assert hits / 300 >= 0.95


def test_threads_command(dbpath):
    con = connect(dbpath)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(e float[2])")
    for bad in ("threads=", "threads=65", "threads=-1", "threads=2x"):
        with pytest.raises(Exception, match=r"vec0: .*threads must be an integer in 0\.\.64"):
            con.execute("INSERT INTO t(t) VALUES (?)", (bad,))
    con.execute("INSERT INTO t(t) VALUES ('threads=0')")
