"""Several processes on one database, and processes killed mid-write.

test_parallel_writers_and_readers: writer processes insert, update and
delete rows of their own (each vector encodes its rowid and a version)
while reader processes search; all share one WAL database, busy_timeout
set.  Every reader transaction takes a snapshot of the rows and checks, in
the same transaction, that every vector still encodes its rowid, that the
flat KNN answer equals brute force over the snapshot and that every HNSW
answer is a row of the snapshot at its true distance.  At the end nothing
is lost: each writer's rows are exactly what it last committed.

test_sigkill_writers: a writer process runs transactions of inserts,
updates and deletes and is killed with SIGKILL at a random moment, over and
over (journal_mode WAL and DELETE).  Before each transaction it logs what
the transaction will do, after COMMIT returns that it was acknowledged.
After each kill the database must open, pass integrity-check in a new
process, and hold exactly the acknowledged state, or that plus the one
transaction in flight.
"""

import json
import multiprocessing
import os
import random
import signal
import sqlite3
import struct
import time

import pytest

from conftest import EXT, brute_knn, connect, f32, integrity, l2

DIM = 4
SCHEMA = ("CREATE VIRTUAL TABLE t USING vec0(embedding float[%d] indexed by flat(), "
          "h float[%d] indexed by hnsw(m=8, ef_construction=32), writer integer)"
          % (DIM, DIM))
CTX = multiprocessing.get_context("fork")


def open_db(path, timeout_ms=20000):
    con = sqlite3.connect(path, isolation_level=None, timeout=timeout_ms / 1000)
    con.enable_load_extension(True)
    con.load_extension(EXT)
    con.execute("PRAGMA busy_timeout = %d" % timeout_ms)
    return con


def vec_of(rowid, version):
    """The vector of a row: its rowid and version can be read back from it."""
    return [float(rowid % 1000), float(rowid // 1000), float(version), 1.0]


def decode(blob):
    return struct.unpack("<%df" % DIM, blob)


def check_row(rowid, blob):
    v = decode(blob)
    assert v[0] == rowid % 1000 and v[1] == rowid // 1000, \
        "row %d holds the vector of another row: %r" % (rowid, v)
    return int(v[2])


# ---------------------------------------------------------------------------
# Parallel writers and readers

def writer(path, w, ntxn, seed, out):
    rng = random.Random(seed)
    con = open_db(path)
    mine = {}                      # rowid -> version, as committed
    next_id = 1
    for _ in range(ntxn):
        pending = dict(mine)
        con.execute("BEGIN IMMEDIATE")
        for _ in range(rng.randrange(1, 5)):
            rid = w * 1000000 + next_id
            next_id += 1
            con.execute("INSERT INTO t(rowid, embedding, h, writer) VALUES (?, ?, ?, ?)",
                        (rid, f32(vec_of(rid, 0)), f32(vec_of(rid, 0)), w))
            pending[rid] = 0
        if pending and rng.random() < 0.5:
            rid = rng.choice(sorted(pending))
            ver = pending[rid] + 1
            con.execute("UPDATE t SET embedding = ?, h = ? WHERE rowid = ?",
                        (f32(vec_of(rid, ver)), f32(vec_of(rid, ver)), rid))
            pending[rid] = ver
        if pending and rng.random() < 0.3:
            rid = rng.choice(sorted(pending))
            con.execute("DELETE FROM t WHERE rowid = ?", (rid,))
            del pending[rid]
        con.execute("COMMIT")
        mine = pending
    con.close()
    out.send(mine)


def reader(path, stop, seed, out):
    rng = random.Random(seed)
    con = open_db(path)
    n = 0
    while not stop.is_set() or n < 3:
        q = [rng.uniform(0, 60), rng.uniform(0, 3), rng.uniform(0, 3), 1.0]
        con.execute("BEGIN")
        snap = {}
        for rid, blob in con.execute("SELECT rowid, embedding FROM t"):
            check_row(rid, blob)
            snap[rid] = list(decode(blob))
        got = con.execute("SELECT rowid, distance FROM t WHERE embedding MATCH ? "
                          "AND k = 10", (f32(q),)).fetchall()
        want = brute_knn(snap, q, 10)
        assert [d for _, d in got] == pytest.approx([d for _, d in want], rel=1e-5,
                                                     abs=1e-5)
        for rid, d in got:
            assert d == pytest.approx(l2(snap[rid], q), rel=1e-5, abs=1e-5)
        hits = con.execute("SELECT rowid, distance FROM t WHERE h MATCH ? AND k = 10",
                           (f32(q),)).fetchall()
        assert len(hits) == min(10, len(snap))
        for rid, d in hits:
            assert rid in snap, "HNSW returned row %d, not in the snapshot" % rid
            assert d == pytest.approx(l2(snap[rid], q), rel=1e-5, abs=1e-5)
        con.execute("COMMIT")
        n += 1
    con.close()
    out.send(n)


def run_children(targets, timeout):
    """Starts (function, args) children, each with a pipe; returns results."""
    procs = []
    for fn, args in targets:
        recv, send = CTX.Pipe(duplex=False)
        p = CTX.Process(target=fn, args=args + (send,))
        p.start()
        send.close()
        procs.append((p, recv))
    return procs


def collect(procs, timeout):
    results = []
    deadline = time.time() + timeout
    for p, recv in procs:
        if not recv.poll(max(0.1, deadline - time.time())):
            p.kill()
            pytest.fail("a child gave no answer in time")
        try:
            results.append(recv.recv())
        except EOFError:
            p.join()
            pytest.fail("a child died (exit code %s); its error is above" % p.exitcode)
        p.join(10)
        assert p.exitcode == 0
    return results


def test_parallel_writers_and_readers(dbpath):
    con = open_db(dbpath)
    assert con.execute("PRAGMA journal_mode = WAL").fetchone()[0] == "wal"
    con.execute(SCHEMA)
    con.close()
    stop = CTX.Event()
    readers = run_children([(reader, (dbpath, stop, 100 + i)) for i in range(2)], 120)
    writers = run_children([(writer, (dbpath, w, 60, w)) for w in range(1, 4)], 120)
    committed = collect(writers, 120)
    stop.set()
    reads = collect(readers, 60)
    assert all(n >= 3 for n in reads)

    con = open_db(dbpath)
    con.execute("INSERT INTO t(t) VALUES ('integrity-check')")
    rows = {rid: check_row(rid, blob)
            for rid, blob in con.execute("SELECT rowid, embedding FROM t")}
    want = {}
    for mine in committed:
        want.update(mine)
    assert rows == want, "lost or extra writes"
    for w in range(1, 4):
        assert con.execute("SELECT count(*) FROM t WHERE writer = ?", (w,)
                           ).fetchone()[0] == len(committed[w - 1])
    print("parallel: %d rows from 3 writers, %d reader transactions"
          % (len(rows), sum(reads)))


# ---------------------------------------------------------------------------
# Writers killed with SIGKILL

def crash_writer(path, logpath, seed):
    """Runs transactions until killed; logs each one before and after."""
    rng = random.Random(seed)
    con = open_db(path)
    con.execute("PRAGMA synchronous = FULL")
    state = {rid: int(decode(b)[2])
             for rid, b in con.execute("SELECT rowid, embedding FROM t")}
    next_id = max(state, default=0) + 1
    log = os.open(logpath, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    txn = 0
    while True:
        txn += 1
        ops = []
        for _ in range(rng.randrange(1, 12)):
            ops.append(["i", next_id, 0])
            next_id += 1
        live = sorted(state)
        for rid in rng.sample(live, min(len(live), rng.randrange(0, 3))):
            ops.append(["u", rid, state[rid] + 1])
        live = sorted(set(state) - {o[1] for o in ops})
        for rid in rng.sample(live, min(len(live), rng.randrange(0, 3))):
            ops.append(["d", rid, 0])
        os.write(log, (json.dumps({"intent": txn, "ops": ops}) + "\n").encode())
        con.execute("BEGIN IMMEDIATE")
        for op, rid, ver in ops:
            if op == "i":
                con.execute("INSERT INTO t(rowid, embedding, h) VALUES (?, ?, ?)",
                            (rid, f32(vec_of(rid, ver)), f32(vec_of(rid, ver))))
                state[rid] = ver
            elif op == "u":
                con.execute("UPDATE t SET embedding = ?, h = ? WHERE rowid = ?",
                            (f32(vec_of(rid, ver)), f32(vec_of(rid, ver)), rid))
                state[rid] = ver
            else:
                con.execute("DELETE FROM t WHERE rowid = ?", (rid,))
                del state[rid]
        con.execute("COMMIT")
        os.write(log, (json.dumps({"ack": txn}) + "\n").encode())


def apply(state, ops):
    state = dict(state)
    for op, rid, ver in ops:
        if op == "d":
            del state[rid]
        else:
            state[rid] = ver
    return state


def verify(path, out):
    """In a fresh process: open, integrity-check, read every row."""
    con = open_db(path, 5000)
    con.execute("INSERT INTO t(t) VALUES ('integrity-check')")
    rows = {rid: check_row(rid, blob)
            for rid, blob in con.execute("SELECT rowid, embedding FROM t")}
    hnsw = con.execute("SELECT count(*) FROM t WHERE h MATCH ? AND k = 5",
                       (f32(vec_of(1, 0)),)).fetchone()[0]
    con.close()
    out.send((rows, hnsw))


@pytest.mark.heavy
@pytest.mark.parametrize("journal", ["wal", "delete"])
def test_sigkill_writers(tmp_path, journal):
    path = str(tmp_path / "crash.db")
    logpath = str(tmp_path / "crash.log")
    con = open_db(path)
    con.execute("PRAGMA journal_mode = %s" % journal)
    con.execute(SCHEMA)
    con.close()
    rng = random.Random(journal)
    state = {}                   # the state every acknowledged txn made
    kills = in_flight_committed = 0
    for i in range(20):
        open(logpath, "w").close()
        p = CTX.Process(target=crash_writer, args=(path, logpath, i))
        p.start()
        time.sleep(rng.uniform(0.05, 0.4))
        os.kill(p.pid, signal.SIGKILL)
        p.join()
        assert p.exitcode == -signal.SIGKILL, "the writer stopped by itself: %s" % (
            p.exitcode,)
        kills += 1
        intents, acked = {}, set()
        with open(logpath) as f:
            for line in f:
                if not line.endswith("\n"):
                    break               # cut by the kill
                rec = json.loads(line)
                if "intent" in rec:
                    intents[rec["intent"]] = rec["ops"]
                else:
                    acked.add(rec["ack"])
        for txn in sorted(acked):
            state = apply(state, intents[txn])
        pending = [t for t in intents if t not in acked]
        assert len(pending) <= 1
        ((rows, hnsw),) = collect(run_children([(verify, (path,))], 60), 60)
        if rows != state:
            assert pending, "not the acknowledged state, and nothing was in flight"
            assert rows == apply(state, intents[pending[0]]), \
                "neither the acknowledged state nor that plus the txn in flight"
            state = rows
            in_flight_committed += 1
        assert hnsw == min(5, len(rows))
    print("sigkill (%s): %d kills survived, %d rows, %d in-flight commits kept"
          % (journal, kills, len(state), in_flight_committed))


def test_failed_shadow_delete_fails_the_delete(tmp_path):
    """A DELETE whose write to T_rows fails (here: another shared-cache
    connection reads T_rows) fails and changes nothing; the error used to be
    lost, leaving the row's T_rows entry behind a freed slot (committed)."""
    uri = "file:%s?cache=shared" % (tmp_path / "sc.db")
    a = connect(uri, uri=True)
    b = connect(uri, uri=True)
    a.execute("CREATE VIRTUAL TABLE t USING vec0(id integer primary key, emb float[2], m integer)")
    a.execute("INSERT INTO t(id, emb, m) VALUES (1, '[1,0]', 10), (2, '[0,1]', 20), (3, '[1,1]', 30)")
    a.execute("BEGIN")
    a.execute("SELECT count(*) FROM t_rows").fetchall()
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        b.execute("DELETE FROM t WHERE id = 2")
    a.execute("COMMIT")
    rows = "SELECT id, vec_to_json(emb), m FROM t ORDER BY id"
    assert [r[2] for r in b.execute(rows)] == [10, 20, 30]
    assert [r[0] for r in b.execute("SELECT id FROM t WHERE emb MATCH '[0,1]' AND k = 3")] == [2, 3, 1]
    integrity(b, "t")
    b.execute("DELETE FROM t WHERE id = 2")
    assert [r[0] for r in a.execute(rows)] == [1, 3]
    integrity(a, "t")
