"""The cold start of a reopened table: vectors read one at a time while the
fill reads them all in order between statements, 'warm' reading everything
at once, and 'cache_budget=N' keeping a column lazy.  Whatever the cache
holds, every query and every vector read must be what the tables say: the
same as a warm connection's, a lazy-only one's, and another connection's
commits seen at once."""

import os
import sqlite3
import struct
import time

import pytest

from conftest import connect, f32, l2, rand_vectors

DIM = 128
N = 6000  # 3 MB of vectors: the fill takes several steps (1 MB first)


def info(con, *cols):
    return con.execute("SELECT %s FROM vec0_info('t')" % ", ".join(cols)).fetchone()


def make_template(factory, name, dim, n, efc, seed):
    """The bytes of a WAL database holding table t: n random rows of dim."""
    path = str(factory.mktemp(name) / "template.db")
    con = connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE VIRTUAL TABLE t USING vec0(embedding float[%d] "
                "indexed by hnsw(m=8, ef_construction=%d))" % (dim, efc))
    con.execute("BEGIN")
    con.executemany("INSERT INTO t(rowid, embedding) VALUES (?, ?)",
                    [(i + 1, f32(v)) for i, v in enumerate(rand_vectors(n, dim, seed))])
    con.execute("COMMIT")
    con.close()
    with open(path, "rb") as f:
        return f.read()


def copy_of(template, path):
    with open(path, "wb") as f:
        f.write(template)
    return path


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return make_template(tmp_path_factory, "cold", DIM, N, 40, 5)


@pytest.fixture
def db(template, tmp_path):
    return copy_of(template, str(tmp_path / "t.db"))


QUERIES = rand_vectors(40, DIM, 9)


def results(con, queries=QUERIES, ef=40):
    return [con.execute("SELECT rowid, distance FROM t WHERE embedding MATCH ? AND k = 10 "
                        "AND ef = ?", (f32(q), ef)).fetchall() for q in queries]


def vectors(con):
    return dict(con.execute("SELECT rowid, embedding FROM t"))


def single_threaded(path):
    """A connection without helper threads: the fill is the caller's steps."""
    con = connect(path)
    con.execute("INSERT INTO t(t) VALUES ('threads=1')")
    return con


def test_warm_cold_and_lazy_give_the_same_results(db):
    cold = single_threaded(db)  # the caller's steps (test_fill_helper_thread: a helper's)
    assert info(cold, "vectors_cached", "cache_complete") == (0, 0)
    got_cold = results(cold)
    # forty queries read the whole table ahead, a step after each
    assert info(cold, "vectors_cached", "cache_complete") == (N, 1)
    warm = connect(db)
    warm.execute("INSERT INTO t(t) VALUES ('warm')")
    assert info(warm, "vectors_cached", "cache_bytes", "cache_complete") == (N, N * DIM * 4, 1)
    lazy = connect(db)
    lazy.execute("INSERT INTO t(t) VALUES ('cache_budget=0')")
    got_lazy = results(lazy)
    assert info(lazy, "cache_complete")[0] == 0
    assert 0 < info(lazy, "vectors_cached")[0] < N
    assert got_cold == results(warm) == got_lazy
    # every vector reads back the same, however it reaches the cache
    half = connect(db)
    results(half, QUERIES[:2])
    assert info(half, "cache_complete")[0] == 0  # the fill is under way
    assert vectors(half) == vectors(warm) == vectors(lazy)
    # 'warm' on a warm table does nothing more
    warm.execute("INSERT INTO t(t) VALUES ('warm')")
    assert results(warm, QUERIES[:5]) == got_cold[:5]


STEP1 = (1 << 20) // (DIM * 4)  # the vectors of the fill's first step (1 MiB)


def test_first_statement_reads_only_what_it_walks(db):
    """Without a helper thread, the first statement after opening reads only
    the vectors its walk needs, not a step of the fill besides (a query, and
    an INSERT, whose walk comes at the commit); the second starts the fill;
    and after another connection's commit drops the cache, the next
    statement is a first one again.  The results are a warm connection's."""
    warm = connect(db)
    warm.execute("INSERT INTO t(t) VALUES ('warm')")
    con = single_threaded(db)
    assert results(con, QUERIES[:1]) == results(warm, QUERIES[:1])
    assert 0 < info(con, "vectors_cached")[0] < STEP1
    assert results(con, QUERIES[1:2]) == results(warm, QUERIES[1:2])
    assert info(con, "vectors_cached")[0] > STEP1
    writer = single_threaded(db)
    writer.execute("INSERT INTO t(rowid, embedding) VALUES (?, ?)", (N + 1, f32(QUERIES[7])))
    assert 0 < info(writer, "vectors_cached")[0] < STEP1
    assert results(con, QUERIES[2:3]) == results(warm, QUERIES[2:3])
    assert 0 < info(con, "vectors_cached")[0] < STEP1
    assert results(con, QUERIES[3:4]) == results(warm, QUERIES[3:4])
    assert info(con, "vectors_cached")[0] > STEP1
    assert results(con, QUERIES[7:8])[0][0] == (N + 1, 0.0)
    for c in (warm, con, writer):
        c.close()


def test_writes_during_the_fill(db):
    """Rows written while the fill is under way (before and after its cursor,
    in the same chunk rows as vectors read lazily), rolled back and
    committed: the cache always reads as the tables do, and the tables hold
    what was written."""
    expected = {i + 1: f32(v) for i, v in enumerate(rand_vectors(N, DIM, 5))}
    con = single_threaded(db)           # the caller's steps: mid-fill at will
    results(con, QUERIES[:2])           # the second statement starts the fill
    # a budget below the column stops the fill where it is: it stays under way
    con.execute("INSERT INTO t(t) VALUES ('cache_budget=0')")
    assert 0 < info(con, "vectors_cached")[0] < N
    new = rand_vectors(30, DIM, 11)
    con.execute("BEGIN")
    for i, v in enumerate(new[:10]):
        # rows near the start (filled already) and near the end (not yet)
        con.execute("UPDATE t SET embedding = ? WHERE rowid = ?", (f32(v), 1 + i * 600))
        expected[1 + i * 600] = f32(v)
    con.execute("INSERT INTO t(rowid, embedding) VALUES (?, ?)", (N + 1, f32(new[10])))
    expected[N + 1] = f32(new[10])
    con.execute("DELETE FROM t WHERE rowid IN (2, 3000, 5999)")
    for r in (2, 3000, 5999):
        del expected[r]
    results(con, QUERIES[2:3])          # a fill step inside the transaction
    con.execute("COMMIT")
    assert info(con, "cache_complete")[0] == 0
    assert vectors(con) == expected     # read mid-fill
    con.execute("INSERT INTO t(t) VALUES ('cache_budget=100')")
    got = results(con)                  # the fill completes
    assert info(con, "cache_complete")[0] == 1
    assert vectors(con) == expected
    fresh = connect(db)
    fresh.execute("INSERT INTO t(t) VALUES ('warm')")
    assert got == results(fresh)
    assert vectors(fresh) == expected
    # rolled back: a savepoint and a transaction, each mid-fill
    con.close()
    con = single_threaded(db)
    results(con, QUERIES[:2])
    con.execute("BEGIN")
    con.execute("SAVEPOINT s")
    con.execute("UPDATE t SET embedding = ? WHERE rowid = 4", (f32(new[11]),))
    results(con, QUERIES[4:5])
    con.execute("ROLLBACK TO s")
    con.execute("RELEASE s")
    con.execute("UPDATE t SET embedding = ? WHERE rowid = 5", (f32(new[12]),))
    results(con, QUERIES[5:6])
    con.execute("ROLLBACK")
    assert vectors(con) == expected
    # statements that read and write the same chunk rows
    con.execute("UPDATE t SET embedding = vec_add(embedding, ?) WHERE rowid BETWEEN 100 AND 110",
                (f32([0.5] * DIM),))
    con.execute("INSERT INTO t(rowid, embedding) SELECT rowid + 100000, embedding FROM t "
                "WHERE rowid BETWEEN 200 AND 220")
    got = results(con)
    fresh = connect(db)
    assert got == results(fresh)
    assert vectors(con) == vectors(fresh)
    assert fresh.execute("SELECT count(*) FROM t").fetchone()[0] == N + 1 - 3 + 21
    con.execute("INSERT INTO t(t) VALUES ('integrity-check')")


def test_other_connection_commits_are_seen(db):
    a, b = connect(db), connect(db)
    a.execute("INSERT INTO t(t) VALUES ('warm')")
    before = results(a, QUERIES[:5])
    q = QUERIES[0]
    b.execute("INSERT INTO t(rowid, embedding) VALUES (?, ?)", (N + 7, f32(q)))
    b.execute("UPDATE t SET embedding = ? WHERE rowid = ?", (f32(QUERIES[1]), before[1][3][0]))
    b.execute("DELETE FROM t WHERE rowid = ?", (before[2][0][0],))
    after = results(a, QUERIES[:5])
    assert after[0][0] == (N + 7, 0.0)
    assert after[1][0] == (before[1][3][0], 0.0)
    assert before[2][0][0] not in [r for r, _ in after[2]]
    assert after == results(b, QUERIES[:5])
    # mid-fill too
    c = connect(db)
    results(c, QUERIES[:2])
    b.execute("UPDATE t SET embedding = ? WHERE rowid = 5000", (f32(QUERIES[3]),))
    assert results(c, QUERIES[3:4])[0][0] == (5000, 0.0)
    assert vectors(c) == vectors(b)


def test_cache_budget(db):
    con = connect(db)
    con.execute("INSERT INTO t(t) VALUES ('cache_budget=2')")  # MiB; the column has 3
    with pytest.raises(sqlite3.Error, match=r"'warm' would read 3072000 bytes of vectors of "
                       r"column embedding, above cache_budget=2 \(MiB\)"):
        con.execute("INSERT INTO t(t) VALUES ('warm')")
    results(con)
    cached, nbytes, complete = info(con, "vectors_cached", "cache_bytes", "cache_complete")
    assert complete == 0 and 0 < cached < N and nbytes == cached * DIM * 4
    # the budget is this connection's: another one reads ahead
    other = single_threaded(db)
    results(other)
    assert info(other, "cache_complete")[0] == 1
    con.execute("INSERT INTO t(t) VALUES ('cache_budget=3')")
    con.execute("INSERT INTO t(t) VALUES ('warm')")
    assert info(con, "vectors_cached", "cache_complete") == (N, 1)
    assert results(con) == results(other)


def test_flat_column_warm(tmp_path):
    path = str(tmp_path / "f.db")
    con = connect(path)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(embedding float[8] indexed by flat())")
    con.executemany("INSERT INTO t(rowid, embedding) VALUES (?, ?)",
                    [(i + 1, f32(v)) for i, v in enumerate(rand_vectors(300, 8, 3))])
    con.close()
    con = connect(path)
    con.execute("INSERT INTO t(t) VALUES ('warm')")
    assert info(con, "vectors_cached", "cache_complete") == (300, 1)
    q = rand_vectors(1, 8, 4)[0]
    assert results(con, [q]) == results(connect(path), [q])


def test_growing_after_the_fill(tmp_path):
    """The filled block takes the array's place; the array then grows with
    inserts (and moves) keeping every vector where it was."""
    path = str(tmp_path / "g.db")
    con = connect(path)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(embedding float[4] indexed by hnsw(m=8))")
    expected = {i + 1: f32(v) for i, v in enumerate(rand_vectors(60, 4, 21))}
    con.executemany("INSERT INTO t(rowid, embedding) VALUES (?, ?)", expected.items())
    con.close()
    con = connect(path)
    results(con, rand_vectors(1, 4, 22))
    assert info(con, "cache_complete")[0] == 1
    more = {i + 61: f32(v) for i, v in enumerate(rand_vectors(300, 4, 23))}
    for r, v in more.items():
        con.execute("INSERT INTO t(rowid, embedding) VALUES (?, ?)", (r, v))
    expected.update(more)
    assert vectors(con) == expected
    for q in rand_vectors(10, 4, 24):
        for rid, d in con.execute("SELECT rowid, distance FROM t WHERE embedding MATCH ? "
                                  "AND k = 5", (f32(q),)):
            assert d == pytest.approx(l2(struct.unpack("<4f", expected[rid]), q), rel=1e-5)


# A column of 8 MB (4096 slots allocated x 2 KB): its fill block is made of
# whole 2 MiB pages, which the prefault helper thread populates ahead of the
# fill unless 'threads=1'.
BIG_DIM, BIG_N = 512, 3000
BIG_QUERIES = rand_vectors(12, BIG_DIM, 21)


@pytest.fixture(scope="module")
def big_template(tmp_path_factory):
    return make_template(tmp_path_factory, "coldbig", BIG_DIM, BIG_N, 20, 6)


@pytest.fixture
def big(big_template, tmp_path):
    return copy_of(big_template, str(tmp_path / "big.db"))


def thread_count():
    return len(os.listdir("/proc/self/task"))


def threads_down_to(n):
    """The threads of this process, waiting up to 2 s for joined ones to go."""
    for _ in range(200):
        if thread_count() <= n:
            break
        time.sleep(0.01)
    return thread_count()


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="Linux /proc")
def test_prefault_helper_changes_no_result(big):
    """With the helper thread (default) and without it ('threads=1'), cold,
    lazily read ('cache_budget=0') or warm: the same results and vectors;
    a commit of another connection mid-fill is seen at the next query; and
    closing a connection while its fill is under way leaves no thread."""
    before = thread_count()
    cold = connect(big)
    got = results(cold, BIG_QUERIES[:1])
    assert info(cold, "cache_complete")[0] == 0  # the fill is under way
    single = connect(big)
    single.execute("INSERT INTO t(t) VALUES ('threads=1')")
    lazy = connect(big)
    lazy.execute("INSERT INTO t(t) VALUES ('cache_budget=0')")
    warm = connect(big)
    warm.execute("INSERT INTO t(t) VALUES ('warm')")
    assert info(warm, "cache_complete")[0] == 1
    got += results(cold, BIG_QUERIES[1:])
    assert got == results(single, BIG_QUERIES) == results(lazy, BIG_QUERIES) \
        == results(warm, BIG_QUERIES)
    assert vectors(cold) == vectors(single) == vectors(lazy) == vectors(warm)
    # another connection's commit, mid-fill
    mid = connect(big)
    results(mid, BIG_QUERIES[:2])       # the second starts its helper thread
    assert info(mid, "cache_complete")[0] == 0
    warm.execute("UPDATE t SET embedding = ? WHERE rowid = 2999", (f32(BIG_QUERIES[5]),))
    assert results(mid, BIG_QUERIES[5:6])[0][0] == (2999, 0.0)
    assert vectors(mid) == vectors(warm)
    for c in (cold, single, lazy, warm, mid):
        c.close()
    # closed while its fill's helper thread has just started
    for _ in range(3):
        c = connect(big)
        results(c, BIG_QUERIES[:2])  # the second query starts the helper thread
        c.close()
    assert threads_down_to(before) == before


def wait_cached(con, n, seconds=20.0):
    """vectors_cached of con once it reaches n (or after the time is up)."""
    deadline = time.time() + seconds
    while True:
        got = info(con, "vectors_cached")[0]
        if got >= n or time.time() > deadline:
            return got
        time.sleep(0.01)


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="Linux /proc")
def test_fill_helper_thread(big, tmp_path):
    """A large column's fill is read by a helper thread with its own
    read-only connection, started by the caller's second statement and
    running between and during the next ones: the cache fills with no
    statement of the caller's, the next one completes
    it, and results and vectors are a warm connection's, with writes of the
    caller and of another connection while it runs.  In a rollback-journal
    database it reads nothing (its read transaction would make other
    connections' commits busy): the caller's steps fill the cache."""
    before = thread_count()
    warm = connect(big)
    warm.execute("INSERT INTO t(t) VALUES ('warm')")
    cold = connect(big)
    got = results(cold, BIG_QUERIES[:2])            # the second starts the helper
    assert wait_cached(cold, BIG_N) == BIG_N        # no statement in between
    got += results(cold, BIG_QUERIES[2:3])
    assert info(cold, "cache_complete")[0] == 1
    assert got == results(warm, BIG_QUERIES[:3])
    assert vectors(cold) == vectors(warm)
    # writes while it runs, from this connection and another
    new = rand_vectors(6, BIG_DIM, 31)
    busy = connect(big)
    results(busy, BIG_QUERIES[:2])
    busy.execute("UPDATE t SET embedding = ? WHERE rowid = 7", (f32(new[0]),))
    busy.execute("INSERT INTO t(rowid, embedding) VALUES (?, ?)", (BIG_N + 1, f32(new[1])))
    warm.execute("UPDATE t SET embedding = ? WHERE rowid = 2500", (f32(new[2]),))
    busy.execute("BEGIN")
    busy.execute("UPDATE t SET embedding = ? WHERE rowid = 9", (f32(new[3]),))
    results(busy, BIG_QUERIES[2:3])
    busy.execute("ROLLBACK")
    got = results(busy, BIG_QUERIES)
    fresh = connect(big)
    fresh.execute("INSERT INTO t(t) VALUES ('warm')")
    assert got == results(fresh, BIG_QUERIES)
    assert vectors(busy) == vectors(fresh) == vectors(warm)
    assert results(busy, [new[0], new[1], new[2]]) == results(fresh, [new[0], new[1], new[2]])
    assert [r[0] for r in results(busy, [new[0], new[1], new[2]])] == \
        [(7, 0.0), (BIG_N + 1, 0.0), (2500, 0.0)]
    for c in (warm, cold, busy, fresh):
        c.close()
    # a rollback journal: nothing read by the helper
    path = str(tmp_path / "delete.db")
    with open(big, "rb") as f, open(path, "wb") as g:
        g.write(f.read())
    con = connect(path)
    con.execute("PRAGMA journal_mode=DELETE")
    con.close()
    con = connect(path)
    results(con, BIG_QUERIES[:2])       # where a helper would have started
    lazy = info(con, "vectors_cached")[0]
    time.sleep(0.3)
    assert info(con, "vectors_cached")[0] == lazy < BIG_N
    other = connect(path)
    other.execute("PRAGMA busy_timeout=0")
    other.execute("UPDATE t SET embedding = ? WHERE rowid = 11", (f32(new[4]),))
    other.commit()
    got = results(con, BIG_QUERIES)
    assert info(con, "cache_complete")[0] == 1
    assert got == results(other, BIG_QUERIES)
    assert vectors(con) == vectors(other)
    con.close()
    other.close()
    assert threads_down_to(before) == before


def rss_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="Linux /proc")
@pytest.mark.skipif(bool(os.environ.get("VEC0_SANITIZE")),
                    reason="a sanitizer's own memory is in the process's RSS")
def test_fill_makes_resident_only_the_rows(tmp_path):
    """A column of 16 500 rows has room for 32 768 (the array doubles): the
    fill, the thread that clears its pages ahead of it and the huge-page
    steps after it make the rows' bytes resident, not the room beyond
    them (which once made a 200 000-row table hold 1.3x its vectors)."""
    dim, n = 256, 16500
    path = str(tmp_path / "r.db")
    con = connect(path)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(embedding float[%d] indexed by flat())"
                % dim)
    row = [float(i % 7) for i in range(dim)]
    con.execute("BEGIN")
    con.executemany("INSERT INTO t(rowid, embedding) VALUES (?, ?)",
                    ((i + 1, f32(row)) for i in range(n)))
    con.execute("COMMIT")
    con.close()
    con = connect(path)
    before = rss_kb()
    con.execute("INSERT INTO t(t) VALUES ('warm')")
    for q in rand_vectors(3, dim, 2):
        con.execute("SELECT rowid FROM t WHERE embedding MATCH ? AND k = 3", (f32(q),)).fetchall()
    assert info(con, "vectors_cached", "cache_complete") == (n, 1)
    grown = rss_kb() - before
    rows_kb = n * dim * 4 // 1024  # 16 500 KiB; the room beyond is as much again
    assert grown < rows_kb * 1.4, (grown, rows_kb)
    con.close()


# heavy: 16 s under ASan, which cannot see inside these arrays anyway (they
# are mapped from the system, with no redzones around them)
@pytest.mark.heavy
def test_large_slot_arrays(tmp_path):
    """A per-slot array of 1 MiB or more (8-byte rowids from 131 072 slots
    on) is zeroed memory mapped from the system, not SQLite's (growArray in
    vec0_storage.c): a table grown across that size in two transactions,
    with deletes and a filter column, reads its rowids, labels and nearest
    rows as written, in this connection and after a reopen."""
    path = str(tmp_path / "large.db")
    con = connect(path)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(embedding float[2], label integer)")

    def rows(a, b):
        return [(i, f32([float(i), float(i % 7)]), i % 7) for i in range(a, b)]
    con.execute("BEGIN")
    con.executemany("INSERT INTO t(rowid, embedding, label) VALUES (?, ?, ?)",
                    rows(1, 100001))
    con.execute("COMMIT")
    con.execute("BEGIN")                # 131 072 slots of rowids grow to 262 144
    con.executemany("INSERT INTO t(rowid, embedding, label) VALUES (?, ?, ?)",
                    rows(100001, 140001))
    con.execute("DELETE FROM t WHERE rowid % 1000 = 3")
    con.execute("COMMIT")

    def check(c):
        assert c.execute("SELECT count(*) FROM t").fetchone()[0] == 140000 - 140
        for i in (1, 2, 5, 99999, 100000, 100001, 131072, 131073, 139999, 140000):
            assert c.execute("SELECT label FROM t WHERE rowid = ?", (i,)).fetchone() == (i % 7,)
            got = c.execute("SELECT rowid FROM t WHERE embedding MATCH ? AND k = 2 "
                            "AND label = ?", (f32([float(i), float(i % 7)]), i % 7)).fetchall()
            assert got[0] == (i,) and abs(got[1][0] - i) == 7
        assert c.execute("SELECT rowid FROM t WHERE rowid = 131003").fetchone() is None
        c.execute("INSERT INTO t(t) VALUES ('integrity-check')")
    check(con)
    con.close()
    con = connect(path)
    check(con)
    con.close()
