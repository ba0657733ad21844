"""Many rows added by one transaction or one INSERT ... SELECT go into the
HNSW graph as one batch, on worker threads ('threads=N'): the rows are
queued and the queue is built at the next search, delete, update,
savepoint or commit (vec0_index_hnsw.c, QUEUE).  The same statements give
the same bytes for any thread count; a small queue gives the bytes of
row-by-row insertion; a search in the transaction sees the queued rows; a
statement or transaction that fails or is interrupted leaves the table as
before it and no thread running."""

import os
import random
import sqlite3
import threading
import time

import pytest

from conftest import brute_knn, connect, f32, integrity, rand_vectors

DIM = 16
N = 3000
SCHEMA = ("CREATE VIRTUAL TABLE t USING vec0(e float[%d] indexed by hnsw(m=8, "
          "ef_construction=48)%s)")


def dump(con):
    """Every shadow table but the transaction counter 'changes'."""
    out = []
    for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND "
                               "name LIKE 't\\_%' ESCAPE '\\' ORDER BY name"):
        rows = con.execute('SELECT * FROM "%s" ORDER BY 1' % name).fetchall()
        if name == "t_config":
            rows = [r for r in rows if r[0] != "changes"]
        out.append((name, rows))
    return out


def threads_now():
    return len(os.listdir("/proc/self/task"))


def threads_back_to(n):
    """The thread count once joined threads are gone (the kernel may list a
    joined thread a moment longer)."""
    for _ in range(200):
        if threads_now() <= n:
            break
        time.sleep(0.01)
    return threads_now()


@pytest.fixture(scope="module")
def vecs():
    return rand_vectors(N + 2000, DIM, 33)


def new_table(path, threads, vecs, part=False):
    con = connect(path)
    con.execute(SCHEMA % (DIM, ", p integer partition key" if part else ""))
    con.execute("INSERT INTO t(t) VALUES ('threads=%d')" % threads)
    # the source of the INSERT ... SELECT statements
    con.execute("PRAGMA synchronous = OFF")
    con.execute("BEGIN")
    con.execute("CREATE TABLE src(id INTEGER PRIMARY KEY, v BLOB)")
    con.executemany("INSERT INTO src VALUES (?, ?)",
                    [(i + 1, f32(v)) for i, v in enumerate(vecs)])
    con.execute("COMMIT")
    return con


def nearest(con, v, k=1):
    return [r for (r,) in con.execute("SELECT rowid FROM t WHERE e MATCH ? AND k = ? "
                                      "AND ef = 64", (f32(v), k))]


def workload(con, vecs, part=False):
    """One big transaction of single-row INSERTs, then one with INSERT ...
    SELECT, KNN queries, deletes, updates and savepoints in the middle."""
    ins = ("INSERT INTO t(rowid, e, p) VALUES (?, ?, ?)" if part
           else "INSERT INTO t(rowid, e) VALUES (?, ?)")
    row = (lambda r: (r, f32(vecs[r - 1]), r % 3)) if part else (
        lambda r: (r, f32(vecs[r - 1])))
    sel = ("INSERT INTO t(rowid, e, p) SELECT id, v, id %% 3 FROM src WHERE id BETWEEN %d "
           "AND %d" if part else
           "INSERT INTO t(rowid, e) SELECT id, v FROM src WHERE id BETWEEN %d AND %d")
    con.execute("BEGIN")
    for r in range(1, 2501):
        con.execute(ins, row(r))
    con.execute("COMMIT")
    con.execute("BEGIN")
    con.execute(sel % (2501, 3500))
    # a search in the middle sees the rows queued by this transaction
    if not part:
        assert nearest(con, vecs[3000 - 1]) == [3000]
    con.execute("DELETE FROM t WHERE rowid % 7 = 0 AND rowid > 2000")
    con.execute(sel % (3501, 3900))
    con.execute("UPDATE t SET e = ? WHERE rowid = 3601", (f32(vecs[4500]),))
    con.execute("SAVEPOINT s")
    con.execute(sel % (3901, 4300))
    con.execute("ROLLBACK TO s")
    con.execute(sel % (4301, 4500))
    con.execute("RELEASE s")
    for r in range(4501, 4600):  # reuse the freed slots, queued
        con.execute(ins, row(r))
    con.execute("COMMIT")


@pytest.mark.parametrize("part", [False, True])
def test_same_bytes_for_any_thread_count(tmp_path, vecs, part):
    dumps = []
    for threads in (1, 2, 3):
        con = new_table(str(tmp_path / ("%d.db" % threads)), threads, vecs, part)
        workload(con, vecs, part)
        integrity(con, "t")
        live = {r for (r,) in con.execute("SELECT rowid FROM t")}
        want = ({r for r in range(1, 3501) if not (r % 7 == 0 and r > 2000)}
                | set(range(3501, 3901)) | set(range(4301, 4600)))
        assert live == want
        dumps.append(dump(con))
        con.close()
    assert dumps[0] == dumps[1] == dumps[2]


def test_bulk_graph_recall(tmp_path, vecs):
    con = new_table(str(tmp_path / "r.db"), 2, vecs)
    con.execute("BEGIN")
    con.execute("INSERT INTO t(rowid, e) SELECT id, v FROM src WHERE id <= %d" % N)
    con.execute("COMMIT")
    integrity(con, "t")
    rows = {i + 1: v for i, v in enumerate(vecs[:N])}
    rng = random.Random(8)
    hits = 0
    for _ in range(30):
        q = [rng.uniform(-1, 1) for _ in range(DIM)]
        want = [r for r, _ in brute_knn(rows, q, 10)]
        hits += len(set(want) & set(nearest(con, q, 10)))
    assert hits / 300 >= 0.95


def test_small_queue_keeps_row_by_row_bytes(tmp_path, vecs):
    """A transaction of a few rows (fewer than HNSW_BULK_MIN), reusing the
    slots of deleted rows and updating a vector among them, gives the bytes
    of the same statements run one autocommit statement at a time (those of
    the row-by-row insert: a reused slot or an updated vector first builds
    the queue on the vectors as they were); a large one is built as a batch,
    which gives other bytes (so the bulk path is the one taken)."""
    def fill(path, n, txn):
        con = new_table(path, 2, vecs)
        con.execute("INSERT INTO t(rowid, e) SELECT id, v FROM src WHERE id <= 1000")
        con.execute("DELETE FROM t WHERE rowid % 50 = 0")
        if txn:
            con.execute("BEGIN")
        for r in range(1001, 1001 + n):
            con.execute("INSERT INTO t(rowid, e) VALUES (?, ?)", (r, f32(vecs[r - 1])))
            if r == 1010:
                con.execute("UPDATE t SET e = ? WHERE rowid = 7", (f32(vecs[4000]),))
        if txn:
            con.execute("COMMIT")
        integrity(con, "t")
        d = dump(con)
        con.close()
        return d

    assert fill(str(tmp_path / "a.db"), 40, True) == fill(str(tmp_path / "b.db"), 40, False)
    assert fill(str(tmp_path / "c.db"), 300, True) != fill(str(tmp_path / "d.db"), 300, False)


def test_rollback_drops_queue(tmp_path, vecs):
    con = new_table(str(tmp_path / "rb.db"), 2, vecs)
    con.execute("INSERT INTO t(rowid, e) SELECT id, v FROM src WHERE id <= 500")
    before = dump(con)
    con.execute("BEGIN")
    con.execute("INSERT INTO t(rowid, e) SELECT id, v FROM src WHERE id BETWEEN 501 AND 900")
    con.execute("ROLLBACK")
    assert dump(con) == before
    assert nearest(con, vecs[700 - 1]) != [700]
    integrity(con, "t")


def test_failing_statement_in_bulk_insert(tmp_path, vecs):
    """A constraint violation in the middle of an INSERT ... SELECT: inside
    a transaction the statement alone is undone (the rows of the earlier
    statements stay queued or built), autocommit undoes it all."""
    dumps = []
    for threads in (1, 2):
        con = new_table(str(tmp_path / ("f%d.db" % threads)), threads, vecs)
        con.execute("INSERT INTO t(rowid, e) SELECT id, v FROM src WHERE id <= 2500")
        con.execute("INSERT INTO t(rowid, e) VALUES (3200, ?)", (f32(vecs[0]),))
        base = threads_now()
        before = dump(con)
        with pytest.raises(sqlite3.IntegrityError):
            con.execute("INSERT INTO t(rowid, e) SELECT id, v FROM src WHERE id BETWEEN "
                        "2501 AND 3500")
        assert dump(con) == before
        con.execute("BEGIN")
        con.execute("INSERT INTO t(rowid, e) SELECT id, v FROM src WHERE id BETWEEN 2501 "
                    "AND 3000")
        with pytest.raises(sqlite3.IntegrityError):
            con.execute("INSERT INTO t(rowid, e) SELECT id, v FROM src WHERE id BETWEEN "
                        "3001 AND 3500")
        assert nearest(con, vecs[2800 - 1]) == [2800]
        con.execute("COMMIT")
        assert threads_back_to(base) == base
        integrity(con, "t")
        assert con.execute("SELECT count(*) FROM t").fetchone()[0] == 3001
        dumps.append(dump(con))
        con.close()
    assert dumps[0] == dumps[1]


def test_interrupt_anywhere(tmp_path, vecs):
    """sqlite3_interrupt (a progress handler) at points spread over a bulk
    transaction, its commit included: the table holds the rows before it or
    after it, sound, and no thread is left running."""
    path = str(tmp_path / "i.db")
    con = new_table(path, 2, vecs)
    con.execute("INSERT INTO t(rowid, e) SELECT id, v FROM src WHERE id <= 2200")
    con.close()
    script = ["BEGIN",
              "INSERT INTO t(rowid, e) SELECT id, v FROM src WHERE id BETWEEN 2201 AND 2700",
              "DELETE FROM t WHERE rowid % 11 = 0",
              "INSERT INTO t(rowid, e) SELECT id, v FROM src WHERE id BETWEEN 2701 AND 2900",
              "COMMIT"]

    def run(limit):
        """Runs the script on a copy, interrupted after `limit` progress calls;
        returns the connection, whether it completed, the calls before
        COMMIT and in all."""
        work = str(tmp_path / "w.db")
        with open(path, "rb") as f, open(work, "wb") as g:
            g.write(f.read())
        c = connect(work)
        c.execute("INSERT INTO t(t) VALUES ('threads=2')")
        calls = [0]

        def progress():
            calls[0] += 1
            return 1 if limit and calls[0] >= limit else 0

        c.set_progress_handler(progress, 20)
        ok, before_commit = True, 0
        try:
            for sql in script:
                if sql == "COMMIT":
                    before_commit = calls[0]
                c.execute(sql)
        except sqlite3.OperationalError as e:
            assert "interrupt" in str(e)
            ok = False
            if c.in_transaction:
                c.execute("ROLLBACK")
        c.set_progress_handler(None, 0)
        return c, ok, before_commit, calls[0]

    base = threads_now()
    c, ok, at_commit, total = run(0)
    assert ok and at_commit < total
    after = dump(c)
    c.close()
    c = connect(path)
    before = dump(c)
    c.close()
    # points spread over the statements, then over the commit (its flush)
    limits = [at_commit * i // 8 for i in range(1, 9)]
    limits += [at_commit + (total - at_commit) * i // 6 for i in range(1, 7)]
    outcomes = set()
    for limit in limits:
        c, ok, _, _ = run(max(1, limit))
        outcomes.add(ok)
        assert threads_back_to(base) == base
        assert dump(c) == (after if ok else before)
        integrity(c, "t")
        c.close()
    assert False in outcomes


def test_interrupt_stops_the_batch(tmp_path):
    """sqlite3_interrupt from another thread while the batch of a COMMIT, or
    of 'rebuild', is being built: the batch asks the connection whether it
    was interrupted as it goes (vec0HnswHost.xInterrupt) and stops, the
    statement fails with "interrupted", the table is as before it, sound,
    and no thread is left.  (That it stops promptly, not after the whole
    batch, is check_hnsw_batch's batch_interrupted.)"""
    n = 12000
    rows = [(i + 1, f32(v)) for i, v in enumerate(rand_vectors(n, DIM, 35))]
    base = threads_now()

    def fresh(name):
        con = connect(str(tmp_path / name))
        con.execute(SCHEMA % (DIM, ""))
        con.execute("INSERT INTO t(t) VALUES ('threads=2')")
        return con

    con = fresh("ref.db")
    con.execute("BEGIN")
    con.executemany("INSERT INTO t(rowid, e) VALUES (?, ?)", rows)
    t0 = time.monotonic()
    con.execute("COMMIT")
    took = time.monotonic() - t0
    con.close()

    def interrupted(con, sql, delay):
        """sql run with con.interrupt() called `delay` s after it began: True
        if it failed as interrupted, False if it was done before."""
        timer = threading.Timer(delay, con.interrupt)
        timer.start()
        try:
            con.execute(sql)
            ok = True
        except sqlite3.OperationalError as e:
            assert "interrupt" in str(e)
            ok = False
        timer.cancel()
        timer.join()
        return not ok

    stopped = 0
    for i, frac in enumerate((0.3, 0.15, 0.05)):
        con = fresh("c%d.db" % i)
        before = dump(con)
        con.execute("BEGIN")
        con.executemany("INSERT INTO t(rowid, e) VALUES (?, ?)", rows)
        if interrupted(con, "COMMIT", took * frac):
            stopped += 1
            assert not con.in_transaction
            assert threads_back_to(base) == base
            assert dump(con) == before
            integrity(con, "t")
            # the same transaction again goes through
            con.execute("BEGIN")
            con.executemany("INSERT INTO t(rowid, e) VALUES (?, ?)", rows)
            con.execute("COMMIT")
            assert con.execute("SELECT count(*) FROM t").fetchone()[0] == n
            before = dump(con)
            if interrupted(con, "INSERT INTO t(t) VALUES ('rebuild')", took * frac):
                assert threads_back_to(base) == base
                assert dump(con) == before
                integrity(con, "t")
        con.close()
    assert stopped > 0


@pytest.mark.heavy
@pytest.mark.parametrize("threads", [1, 2])
def test_rows_in_order_stay_reachable(tmp_path, threads):
    """Rows inserted in the order of their vectors (points along a line), in
    one transaction: a new node's true neighbours are the other new nodes of
    its sub-batch, which its search cannot see, and its neighbours in the
    graph may all refuse it.  Row 64 991 of 65 000 was left with no way in:
    integrity-check failed and a query on its own vector with ef = 2000
    returned another row.  A node whose hand-over finds no place is now
    connected again."""
    con = connect(str(tmp_path / "line.db"))
    con.execute("CREATE VIRTUAL TABLE t USING vec0(embedding float[2])")
    con.execute("INSERT INTO t(t) VALUES ('threads=%d')" % threads)
    con.execute("BEGIN")
    con.executemany("INSERT INTO t(rowid, embedding) VALUES (?, ?)",
                    [(i, f32([float(i), float(i % 7)])) for i in range(1, 65001)])
    con.execute("COMMIT")
    integrity(con, "t")
    for i in (64991, 64999, 65000, 32768, 1):
        got = con.execute("SELECT rowid FROM t WHERE embedding MATCH ? AND k = 1 AND ef = 2000",
                          (f32([float(i), float(i % 7)]),)).fetchall()
        assert got == [(i,)]
    con.close()


def self_misses(tmp_path, columns, rows, threads=None, n=200, ef=400):
    """Inserts rows (rowid, vector[, partition key]) in one transaction into
    t(columns), checks integrity, and queries n of them, chosen at random,
    on their own vector (k = 1, within their partition): the rows a query
    did not find first."""
    con = connect(str(tmp_path / "order.db"))
    con.execute("CREATE VIRTUAL TABLE t USING vec0(%s)" % columns)
    if threads:
        con.execute("INSERT INTO t(t) VALUES ('threads=%d')" % threads)
    con.execute("BEGIN")
    if len(rows[0]) == 3:
        con.executemany("INSERT INTO t(rowid, e, p) VALUES (?, ?, ?)", rows)
    else:
        con.executemany("INSERT INTO t(rowid, e) VALUES (?, ?)", rows)
    con.execute("COMMIT")
    integrity(con, "t")
    sql = "SELECT rowid FROM t WHERE e MATCH ? AND k = 1 AND ef = %d" % ef
    if len(rows[0]) == 3:
        sql += " AND p = ?"
    missed = [rows[i][0] for i in random.Random(1).sample(range(len(rows)), n)
              if con.execute(sql, rows[i][1:]).fetchone() != (rows[i][0],)]
    con.close()
    return missed


@pytest.mark.parametrize("threads", [1, 2])
def test_grid_in_order_keeps_recall(tmp_path, threads):
    """A 100 x 100 grid inserted row by row in one transaction: each new
    node saw only the rows before its sub-batch and kept one link there (the
    heuristic drops the rest as covered by it), so the sub-batch became a
    comb whose teeth never met and the graph a bundle of chains.  A query on
    a point's own vector at ef 400 missed it 18 times in 200 (hnswlib, row by
    row: never).  A new node whose list lacks the node before it, which
    the heuristic would have kept had it seen it, is now connected again."""
    rows = [(x * 100 + y + 1, f32([float(x), float(y)])) for x in range(100) for y in range(100)]
    assert self_misses(tmp_path, "e float[2]", rows, threads=threads) == []


def test_partitioned_grid_in_order_keeps_recall(tmp_path):
    """The grid in order again, its rows dealt to three partitions in turn:
    the node before a new one in the batch is of another group, and in its
    own group the row before is 3 away while the frozen graph offered one
    at 1, whose link covers the rest.  What counts is whether the heuristic
    would have kept that row had the search seen it."""
    rows = [(x * 120 + y + 1, f32([float(x), float(y)]), (x * 120 + y) % 3)
            for x in range(120) for y in range(120)]
    assert self_misses(tmp_path, "p integer partition key, e float[2]", rows, n=300,
                       ef=100) == []


@pytest.mark.heavy
def test_clusters_in_order_keep_recall(tmp_path):
    """Thirty 16-d clusters of 1 000 rows, inserted cluster after cluster
    in one transaction: each sub-batch's rows land on the few nodes of the
    graph nearest to their cluster, more than a list holds.  A query on a
    row's own vector at ef 400 missed the row 5 times in 200 before such
    rows were connected again; row by row it never does."""
    r = random.Random(7)
    rows = [(i, f32([float(i // 1000) * 10 + r.gauss(0, 1) for _ in range(16)]))
            for i in range(1, 30001)]
    assert self_misses(tmp_path, "e float[16]", rows) == []


def test_many_copies_pass_integrity_check(tmp_path):
    """30 000 copies of one vector: the link heuristic takes a copy of a kept
    node for redundant, and one copy was left with no way in, so
    integrity-check failed on a sound table ('live but not reachable').  A
    node with a reachable twin (same vector) is no corruption: queries find
    a copy at the same distance, and a filter on that row still finds it."""
    con = connect(str(tmp_path / "copies.db"))
    con.execute("CREATE VIRTUAL TABLE t USING vec0(e float[8], label integer)")
    con.execute("BEGIN")
    con.executemany("INSERT INTO t(rowid, e, label) VALUES (?, ?, ?)",
                    [(i, f32([1.0] * 8), int(i == 1026)) for i in range(1, 30001)])
    con.execute("COMMIT")
    integrity(con, "t")
    assert con.execute("SELECT rowid, distance FROM t WHERE e MATCH ? AND k = 3 AND label = 1",
                       (f32([1.0] * 8),)).fetchall() == [(1026, 0.0)]
    con.close()
