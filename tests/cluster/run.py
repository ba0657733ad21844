"""vec0 replicated: a 3-node dqlite cluster, and statement-log replay.

    run.py --node build/cluster/vec0-node --ext dist/vec0 [--keep] [--only dqlite|replay]

Part 1 (dqlite): three vec0-node processes (node/main.go) on 127.0.0.1 form a
cluster; through the leader a vec0 table with an HNSW column, a partition
key and metadata gets 20 000 rows (batches and single rows); filtered KNN
is compared with an exact scan; the leader is killed with SIGKILL and the
time until another node leads is measured; the same queries must return the
same rows and distances; writes go on; the old node rejoins and catches up
(by a snapshot: the raft log is truncated in between) and, made leader,
answers the same.  Then the vec0 cache: a connection with a warm cache (one
SQLite connection dqlite keeps on the leader) must answer from the new rows
after other clients replace its table's rows, and after they drop and
re-create the table; a leader change closes it (dqlite does), and a new
connection sees what was written while the node followed.  Last, each node's database, dumped through that node, passes PRAGMA
integrity_check and vec0's integrity-check, and every node holds the same
shadow-table rows.

Part 2 (replay.py): the same statement log applied by separate processes,
per kernel set.

Every check prints a line; a failed check stops its part (later steps build
on it).  Every process started here is killed on the way out, whatever
happened.  The last line is "cluster: N passed, M failed".
"""

import argparse
import base64
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import replay  # noqa: E402

DIM = 16
ROWS = 20000
SINGLE = 200                   # of ROWS, inserted one per transaction
TENANTS = 4
COLORS = ["red", "green", "blue", "black", "white"]
SCHEMA = ("CREATE VIRTUAL TABLE items USING vec0("
          "embedding float[16] indexed by hnsw(m=12, ef_construction=100), "
          "tenant integer partition key, color text, score float, +note text)")
SWAP_SCHEMA = ("CREATE VIRTUAL TABLE swap USING vec0("
               "embedding float[16] indexed by hnsw(m=8, ef_construction=64), color text)")
SWAP_ROWS = 2000
# Small raft snapshots, so a node that misses a few hundred entries is sent
# a snapshot instead of the log.
SNAPSHOT = ["-snapshot-threshold", "64", "-snapshot-trailing", "64"]
# No early writes of dirty pages to the WAL: dqlite 1.11 fails a transaction
# that spilled (SQLITE_IOERR_SHORT_READ), and a 1 000-row HNSW transaction
# dirties more pages than the default cache holds (docs/replication.md).
NO_SPILL = ["-cache-spill=false"]
K = 10
EF = 200


class Failed(Exception):
    pass


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.figures = []

    def ok(self, name, cond, detail=""):
        if cond:
            self.passed += 1
            print("  ok   %s" % name, flush=True)
        else:
            self.failed += 1
            print("  FAIL %s%s" % (name, (": " + detail) if detail else ""), flush=True)
            raise Failed(name)

    def figure(self, text):
        self.figures.append(text)
        print("  --   %s" % text, flush=True)


_PORTS_GIVEN = set()


def free_port():
    """A port nothing listens on and this run has not handed out before.

    Binding port 0 and closing can give the same port twice in a row (CI saw two
    nodes given one port), so every port handed out is remembered and skipped.
    """
    held = []
    try:
        while True:
            s = socket.socket()
            held.append(s)
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            if port not in _PORTS_GIVEN:
                _PORTS_GIVEN.add(port)
                return port
    finally:
        for s in held:
            s.close()


class Node:
    def __init__(self, i, binary, root):
        self.i = i
        self.binary = binary
        self.dir = os.path.join(root, "node%d" % i)
        self.log = os.path.join(root, "node%d.log" % i)
        self.addr = "127.0.0.1:%d" % free_port()
        self.api = "127.0.0.1:%d" % free_port()
        self.proc = None
        self.id = None
        os.makedirs(self.dir)

    def start(self, join=None):
        cmd = ([self.binary, "-dir", self.dir, "-addr", self.addr, "-api", self.api,
                "-parent", str(os.getpid())] + SNAPSHOT + NO_SPILL)
        if join:
            cmd += ["-join", join]
        env = dict(os.environ, LIBDQLITE_TRACE="1")
        with open(self.log, "a") as f:
            self.proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, env=env)

    def wait_fresh(self, join=None):
        """Wait for a node that has never run before; should another process have taken
        one of its ports between choosing and binding, choose again and restart it
        (twice at most)."""
        for attempt in range(3):
            try:
                return self.wait_up()
            except RuntimeError as e:
                if attempt == 2 or "failed to set bind address" not in str(e):
                    raise
            self.kill()
            shutil.rmtree(self.dir)
            os.makedirs(self.dir)
            self.addr = "127.0.0.1:%d" % free_port()
            self.api = "127.0.0.1:%d" % free_port()
            self.start(join)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self, sig=signal.SIGKILL):
        if self.alive():
            os.kill(self.proc.pid, signal.SIGCONT)
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def call(self, path, body=None, timeout=60):
        data = json.dumps(body or {}).encode()
        req = urllib.request.Request("http://%s%s" % (self.api, path), data=data,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            body = e.read().decode(errors="replace")
            try:
                msg = json.loads(body).get("error", body)
            except ValueError:
                msg = body
            raise RuntimeError("node %d %s: %s" % (self.i, path, msg.strip()))

    def wait_up(self, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if not self.alive():
                raise RuntimeError("node %d exited: %s" % (self.i, tail(self.log)))
            try:
                info = self.call("/leader", timeout=5)
                self.id = info["self"]
                if info["id"]:
                    return info
            except (OSError, RuntimeError):
                pass
            time.sleep(0.1)
        raise RuntimeError("node %d not up after %d s: %s" % (self.i, timeout, tail(self.log)))

    def exec(self, stmts, timeout=120):
        return self.call("/exec", {"stmts": [{"sql": s, "args": a} for s, a in stmts]}, timeout)

    def query(self, sql, args=(), path="/query"):
        return [tuple(r) for r in self.call(path, {"sql": sql, "args": list(args)})["rows"]]


def tail(path, n=15):
    """The last lines of a node's log, without dqlite's trace lines."""
    try:
        with open(path, errors="replace") as f:
            return "".join([l for l in f if not l.startswith("LIBDQLITE")][-n:])
    except OSError:
        return ""


def vec(rng):
    return [round(rng.uniform(-1, 1), 5) for _ in range(DIM)]


def text(v):
    return "[" + ",".join(repr(x) for x in v) + "]"


def f32(v):
    return struct.unpack("<%df" % len(v), struct.pack("<%df" % len(v), *v))


def l2(a, b):
    return sum((x - y) ** 2 for x, y in zip(f32(a), f32(b))) ** 0.5


# ---------------------------------------------------------------------------
# The queries: KNN with filters, and the same by an exact scan.

QUERIES = [  # (filter SQL, its arguments as a function of the tenant)
    ("AND tenant = ?", lambda t: [t]),
    ("AND tenant = ? AND color = ?", lambda t: [t, COLORS[t % len(COLORS)]]),
    ("AND tenant = ? AND score < ?", lambda t: [t, 20.0]),
    ("AND color IN ('red', 'blue')", lambda t: []),
]


def run_queries(node, qvecs, path="/query"):
    """{(query, filter): [(rowid, distance)]} by KNN."""
    out = {}
    for qi, q in enumerate(qvecs):
        for fi, (flt, fargs) in enumerate(QUERIES):
            t = qi % TENANTS
            sql = ("SELECT rowid, distance FROM items WHERE embedding MATCH ? AND k = %d "
                   "AND ef = %d %s ORDER BY distance" % (K, EF, flt))
            out[(qi, fi)] = node.query(sql, [text(q)] + fargs(t), path)
    return out


def exact_queries(node, qvecs):
    out = {}
    for qi, q in enumerate(qvecs):
        for fi, (flt, fargs) in enumerate(QUERIES):
            t = qi % TENANTS
            sql = ("SELECT rowid, vec_distance_l2(embedding, ?) AS d FROM items "
                   "WHERE 1 %s ORDER BY d, rowid LIMIT %d" % (flt, K))
            out[(qi, fi)] = node.query(sql, [text(q)] + fargs(t))
    return out


def brute(rows, q, qi, fi):
    t = qi % TENANTS
    keep = {
        0: lambda r: r["tenant"] == t,
        1: lambda r: r["tenant"] == t and r["color"] == COLORS[t % len(COLORS)],
        2: lambda r: r["tenant"] == t and r["score"] < 20.0,
        3: lambda r: r["color"] in ("red", "blue"),
    }[fi]
    scored = sorted((l2(r["v"], q), rid) for rid, r in rows.items() if keep(r))
    return [rid for _, rid in scored[:K]]


def compare_knn(checks, label, knn, exact, rows, qvecs):
    """KNN against the exact scan (itself checked against brute force here):
    the same number of rows, each at its true distance, recall >= 0.95."""
    hits = total = 0
    bad_exact, bad_count, bad_dist = [], [], []
    for key, res in knn.items():
        ex = exact[key]
        q = qvecs[key[0]]
        if [r for r, _ in ex] != brute(rows, q, *key):
            bad_exact.append(key)
        if len(res) != len(ex):
            bad_count.append((key, len(res), len(ex)))
        for rid, d in res:
            want = l2(rows[rid]["v"], q)
            if abs(d - want) > 1e-5 * max(1.0, want):
                bad_dist.append((key, rid, d, want))
        hits += len({r for r, _ in ex} & {r for r, _ in res})
        total += len(ex)
    recall = hits / total
    checks.ok("%s: the exact scans equal brute force" % label, not bad_exact, repr(bad_exact[:3]))
    checks.ok("%s: %d filtered KNN queries (k=%d) return min(k, matches) rows, each at its "
              "true distance, recall %.4f against the exact scan (>= 0.95)" % (
                  label, len(knn), K, recall),
              not bad_count and not bad_dist and recall >= 0.95,
              "counts %r, distances %r, recall %.4f" % (bad_count[:3], bad_dist[:3], recall))
    return recall


# ---------------------------------------------------------------------------
# Dumps: the database as one node holds it, opened with vec0 here.

def shadow_and_checks(checks, ext, node, root, tag):
    out = os.path.join(root, "dump-%s-node%d" % (tag, node.i))
    shutil.rmtree(out, ignore_errors=True)
    node.call("/dump", {"out": out})
    con = sqlite3.connect(os.path.join(out, "vec"), isolation_level=None)
    con.enable_load_extension(True)
    con.load_extension(ext)
    ic = con.execute("PRAGMA integrity_check").fetchall()
    checks.ok("node %d: PRAGMA integrity_check of its dumped database" % node.i,
              ic == [("ok",)], repr(ic[:5]))
    for t in ("items", "swap"):
        try:
            con.execute("INSERT INTO %s(%s) VALUES ('integrity-check')" % (t, t))
            err = None
        except sqlite3.Error as e:
            err = str(e)
        checks.ok("node %d: vec0 integrity-check of %s" % (node.i, t), err is None, err or "")
    hashes = {}
    for t in ("items", "swap"):
        hashes.update(replay.shadow_hashes(con, t))
    count = con.execute("SELECT count(*) FROM items").fetchone()[0]
    con.close()
    return hashes, count


def dump_hashes(node, root, tag):
    """Shadow-table hashes of a node's dump, without the checks (polling)."""
    out = os.path.join(root, "dump-%s-node%d" % (tag, node.i))
    shutil.rmtree(out, ignore_errors=True)
    node.call("/dump", {"out": out})
    con = sqlite3.connect(os.path.join(out, "vec"))
    try:
        h = {}
        for t in ("items", "swap"):
            h.update(replay.shadow_hashes(con, t))
        return h
    finally:
        con.close()


def wait_same(nodes, ref, root, tag, ext, timeout=90):
    """Wait until every node's dump has the shadow tables of ref's dump."""
    deadline = time.time() + timeout
    want = dump_hashes(ref, root, tag + "-ref")
    while True:
        diff = [n.i for n in nodes if dump_hashes(n, root, tag) != want]
        if not diff or time.time() > deadline:
            return diff
        time.sleep(0.25)


# ---------------------------------------------------------------------------

def leader_of(nodes):
    for n in nodes:
        if n.alive():
            try:
                lid = n.call("/leader", timeout=5)["id"]
            except (OSError, RuntimeError):
                continue
            for m in nodes:
                if m.id == lid:
                    return m
    return None


def transfer(nodes, to, timeout=30):
    any_node = next(n for n in nodes if n.alive() and n is not to)
    any_node.call("/transfer", {"id": str(to.id)})
    deadline = time.time() + timeout
    while time.time() < deadline:
        if leader_of(nodes) is to:
            return
        time.sleep(0.05)
    raise RuntimeError("leadership did not move to node %d" % to.i)


def swap_rows(rng, version):
    rows = {}
    for rid in range(1, SWAP_ROWS + 1):
        rows[rid] = (vec(rng), "v%d-%s" % (version, rng.choice(COLORS)))
    return rows


def swap_stmts(rows):
    stmts = [("DELETE FROM swap", [])]
    ids = sorted(rows)
    for i in range(0, len(ids), 80):            # dqlite binds at most 255 parameters
        chunk = ids[i:i + 80]
        stmts.append(("INSERT INTO swap(rowid, embedding, color) VALUES " +
                      ",".join(["(?, ?, ?)"] * len(chunk)),
                      [x for rid in chunk for x in (rid, text(rows[rid][0]), rows[rid][1])]))
    return stmts


SWAP_KNN = "SELECT rowid, distance, color FROM swap WHERE embedding MATCH ? AND k = 10 AND ef = 400"


def swap_exact(rows, q):
    return sorted(((l2(v, q), rid) for rid, (v, _) in rows.items()))[:10]


def swap_check(checks, label, res, rows, q):
    want = [rid for _, rid in swap_exact(rows, q)]
    got = [r[0] for r in res]
    colors_ok = all(r[2] == rows[r[0]][1] for r in res)
    dist_ok = all(abs(r[1] - l2(rows[r[0]][0], q)) <= 1e-5 for r in res)
    checks.ok(label, len(set(got) & set(want)) >= 9 and colors_ok and dist_ok,
              "got %r, exact %r, colors %s, distances %s" % (got, want, colors_ok, dist_ok))


INSERT = "INSERT INTO items(rowid, embedding, tenant, color, score, note) VALUES "


def new_row(rng, rid):
    return {"v": vec(rng), "tenant": rid % TENANTS, "color": rng.choice(COLORS),
            "score": round(rng.uniform(0, 100), 3)}


def insert_batch(rng, rows, rid, n):
    """Statements inserting rows rid+1 .. rid+n, 40 rows each (dqlite binds
    at most 255 parameters); rows records them.  Returns (stmts, last rid)."""
    stmts = []
    while n > 0:
        m = min(40, n)
        vals = []
        for _ in range(m):
            rid += 1
            r = rows[rid] = new_row(rng, rid)
            vals += [rid, text(r["v"]), r["tenant"], r["color"], r["score"], "n%d" % rid]
        stmts.append((INSERT + ",".join(["(?, ?, ?, ?, ?, ?)"] * m), vals))
        n -= m
    return stmts, rid


def cluster_part(checks, binary, ext, root):
    rng = random.Random(1919)
    nodes = [Node(i, binary, root) for i in (1, 2, 3)]
    try:
        t0 = time.time()
        nodes[0].start()
        nodes[0].wait_fresh()
        for n in nodes[1:]:
            n.start(join=nodes[0].addr)
        for n in nodes[1:]:
            n.wait_fresh(join=nodes[0].addr)
        deadline = time.time() + 60
        while time.time() < deadline:
            members = nodes[0].call("/cluster")["nodes"]
            if sum(1 for m in members if m["role"] == "voter") == 3:
                break
            time.sleep(0.2)
        checks.ok("3 dqlite nodes up, all voters (%.1f s)" % (time.time() - t0),
                  sum(1 for m in members if m["role"] == "voter") == 3, repr(members))
        leader = leader_of(nodes)
        checks.ok("a leader: node %d" % leader.i, leader is not None)

        # Schema and 20 000 rows through the leader (any node forwards).
        leader.exec([(SCHEMA, []), (SWAP_SCHEMA, [])])
        rows = {}
        t1 = time.time()
        rid = 0
        while rid < ROWS - SINGLE:
            stmts, rid = insert_batch(rng, rows, rid, min(1000, ROWS - SINGLE - rid))
            nodes[rid // 1000 % 3].exec(stmts)
        for _ in range(SINGLE):
            stmts, rid = insert_batch(rng, rows, rid, 1)
            nodes[rid % 3].exec(stmts)
        t_ins = time.time() - t1
        count = leader.query("SELECT count(*) FROM items")[0][0]
        checks.ok("%d rows inserted through the cluster (%d in 1 000-row transactions, %d "
                  "single), %.1f s" % (count, ROWS - SINGLE, SINGLE, t_ins), count == ROWS)
        checks.figure("insert: %d rows in %.1f s (%.0f rows/s)" % (ROWS, t_ins, ROWS / t_ins))

        qvecs = [vec(rng) for _ in range(12)]
        before = run_queries(leader, qvecs)
        exact = exact_queries(leader, qvecs)
        compare_knn(checks, "leader node %d" % leader.i, before, exact, rows, qvecs)

        # SIGKILL the leader; time until a surviving node names a new one.
        old = leader
        t2 = time.time()
        old.kill(signal.SIGKILL)
        rest = [n for n in nodes if n is not old]
        new = None
        while time.time() - t2 < 60 and new is None:
            for n in rest:
                try:
                    lid = n.call("/leader", timeout=2)["id"]
                except (OSError, RuntimeError):
                    continue
                if lid and lid != old.id:
                    new = next(m for m in rest if m.id == lid)
                    break
            else:
                time.sleep(0.02)
        t_elect = time.time() - t2
        checks.ok("leader node %d killed (SIGKILL); node %s elected after %.2f s" % (
            old.i, new.i if new else "?", t_elect), new is not None)
        while True:
            try:
                after = run_queries(new, qvecs)
                break
            except RuntimeError:
                if time.time() - t2 > 60:
                    raise
                time.sleep(0.05)
        t_query = time.time() - t2
        checks.figure("election: new leader %.2f s after SIGKILL, first query answered after "
                      "%.2f s" % (t_elect, t_query))
        same = [k for k in before if before[k] != after[k]]
        checks.ok("new leader node %d: the %d queries return the same rows and distances, "
                  "bit for bit" % (new.i, len(before)), not same,
                  "differ: %r" % [(k, before[k], after[k]) for k in same[:2]])

        # Writes go on with one node down: more rows, updates, deletes.
        t3 = time.time()
        for b in range(3):
            stmts, rid = insert_batch(rng, rows, rid, 300)
            new.exec(stmts)
        live = sorted(rows)
        for r in rng.sample(live, 100):
            rows[r]["v"] = vec(rng)
            new.exec([("UPDATE items SET embedding = ? WHERE rowid = ?", [text(rows[r]["v"]), r])])
        for r in rng.sample(live, 100):
            rows[r]["color"] = rng.choice(COLORS)
            new.exec([("UPDATE items SET color = ? WHERE rowid = ?", [rows[r]["color"], r])])
        for r in rng.sample(live, 100):
            del rows[r]
            new.exec([("DELETE FROM items WHERE rowid = ?", [r])])
        count = new.query("SELECT count(*) FROM items")[0][0]
        checks.ok("writes after the failover (900 rows in 3 transactions, 300 single-row "
                  "updates and deletes, %.1f s): %d rows" % (time.time() - t3, count),
                  count == len(rows), "expected %d" % len(rows))
        compare_knn(checks, "new leader after writes", run_queries(new, qvecs),
                    exact_queries(new, qvecs), rows, qvecs)

        # The old node rejoins and catches up.
        t4 = time.time()
        old.start()
        old.wait_up()
        diff = wait_same(nodes, new, root, "rejoin", ext)
        t_catch = time.time() - t4
        restored = "vfs restore" in open(old.log, errors="replace").read()
        checks.ok("node %d restarted and caught up in %.1f s (by a snapshot install: %s)" % (
            old.i, t_catch, "yes" if restored else "no"), not diff, "behind: %r" % diff)
        checks.figure("rejoin: node %d identical to the leader %.1f s after restart" % (
            old.i, t_catch))
        ref = run_queries(new, qvecs)
        transfer(nodes, old)
        again = run_queries(old, qvecs)
        same = [k for k in ref if ref[k] != again[k]]
        checks.ok("node %d, restored from the snapshot, leads: the %d queries return the same "
                  "rows and distances as on node %d" % (old.i, len(ref), new.i), not same,
                  "differ: %r" % [(k, ref[k], again[k]) for k in same[:2]])

        # A warm cache whose pages are replaced while its node follows.
        cache_part(checks, nodes, rng, root, ext)

        # Every node: integrity and identical shadow tables.
        leader = leader_of(nodes)
        diff = wait_same(nodes, leader, root, "final", ext)
        checks.ok("all nodes caught up", not diff, "behind: %r" % diff)
        results = {}
        for n in nodes:
            results[n.i] = shadow_and_checks(checks, ext, n, root, "final")
        ref = results[nodes[0].i]
        for n in nodes[1:]:
            d = sorted(t for t in set(ref[0]) | set(results[n.i][0])
                       if ref[0].get(t) != results[n.i][0].get(t))
            checks.ok("node %d holds the same %d shadow tables as node %d (%d rows)" % (
                n.i, len(ref[0]), nodes[0].i, results[n.i][1]), not d, "differ: %r" % d)
        checks.ok("every node holds %d items rows, as written" % len(rows),
                  all(r[1] == len(rows) for r in results.values()),
                  repr({i: r[1] for i, r in results.items()}))
        same_files = len({open(os.path.join(root, "dump-final-node%d" % n.i, "vec"), "rb").read()
                          for n in nodes}) == 1
        checks.figure("dumped database files byte-identical on all nodes: %s" % same_files)
    finally:
        for n in nodes:
            n.kill(signal.SIGKILL)


def cache_part(checks, nodes, rng, root, ext):
    """A warm vec0 cache whose pages change underneath it.

    The pinned connection is one SQLite connection on the leader L, its
    cache warmed by a query.  Other connections on L (those dqlite opens
    for other clients) replace the table's rows, then drop and re-create
    the table with other rows; dqlite hands their pages to L's database
    through raft (the frames leave the WAL at commit and come back when the
    entry is applied, as on a follower).  The pinned connection must answer
    from the new rows each time.  Last, a leader change: dqlite 1.11 closes
    every client connection of a node that stops leading, so no cache
    outlives it; a new connection on L answers from the rows written
    while L followed."""
    L = leader_of(nodes)
    M = next(n for n in nodes if n is not L)
    q = vec(rng)
    v1 = swap_rows(rng, 1)
    L.exec(swap_stmts(v1))
    res = L.query(SWAP_KNN, [text(q)], "/pin/open")
    swap_check(checks, "cache: pinned connection on leader node %d, warm, answers from version 1"
               % L.i, res, v1, q)
    # A TEMP table exists in one SQLite connection only: finding it later
    # shows the pinned connection is still the same one on node L.
    L.call("/pin/exec", {"sql": "CREATE TEMP TABLE pin_marker(x)", "args": []})
    for n in range(3):
        L.query(SWAP_KNN, [text(vec(rng))], "/pin/query")

    v2 = swap_rows(rng, 2)
    M.exec(swap_stmts(v2))
    L.query("SELECT count(*) FROM temp.pin_marker", [], "/pin/query")
    swap_check(checks, "cache: the same pinned connection answers from version 2 after another "
               "connection replaced every row", L.query(SWAP_KNN, [text(q)], "/pin/query"), v2, q)

    v3 = swap_rows(rng, 3)
    M.exec([("DROP TABLE swap", []),
            (SWAP_SCHEMA.replace("m=8, ef_construction=64", "m=16, ef_construction=100"), [])]
           + swap_stmts(v3)[1:])
    L.query("SELECT count(*) FROM temp.pin_marker", [], "/pin/query")
    swap_check(checks, "cache: the same pinned connection answers from version 3 after another "
               "connection dropped and re-created the table", L.query(SWAP_KNN, [text(q)],
                                                                      "/pin/query"), v3, q)

    transfer(nodes, M)
    v4 = swap_rows(rng, 4)
    M.exec(swap_stmts(v4))
    diff = wait_same([L], M, root, "swap4", ext)
    checks.ok("cache: leadership moved to node %d; node %d follows and holds version 4" % (
        M.i, L.i), not diff)
    transfer(nodes, L)
    try:
        L.query(SWAP_KNN, [text(q)], "/pin/query")
        closed = None
    except RuntimeError as e:
        closed = str(e)
    checks.ok("cache: leadership back on node %d; dqlite closed the pinned connection when "
              "node %d stopped leading (%s)" % (L.i, L.i, closed), closed is not None,
              "the pinned connection still answers")
    swap_check(checks, "cache: a new connection on node %d answers from version 4" % L.i,
               L.query(SWAP_KNN, [text(q)], "/pin/open"), v4, q)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--node", required=True)
    ap.add_argument("--ext", required=True)
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--only", choices=["dqlite", "replay"])
    a = ap.parse_args()
    root = tempfile.mkdtemp(prefix="vec0-cluster-")
    checks = Checks()
    t0 = time.time()
    # SIGTERM/SIGINT unwind through the finally blocks that kill the nodes.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    failed_logs = False
    try:
        if a.only in (None, "dqlite"):
            print("cluster: dqlite, 3 nodes on 127.0.0.1 (%s)" % root, flush=True)
            try:
                cluster_part(checks, os.path.abspath(a.node), a.ext, root)
            except Failed:
                failed_logs = True
            except Exception as e:  # an error, not a failed check: count it too
                checks.failed += 1
                failed_logs = True
                print("  FAIL dqlite scenario: %s: %s" % (type(e).__name__, e), flush=True)
        if a.only in (None, "replay"):
            print("cluster: statement-log replay, separate processes", flush=True)
            try:
                for name, ok, detail in replay.run(a.ext, root):
                    if ok is None:
                        checks.figure(name + ": " + detail)
                    else:
                        checks.ok(name, ok, detail)
            except Failed:
                pass
            except Exception as e:
                checks.failed += 1
                print("  FAIL replay: %s: %s" % (type(e).__name__, e), flush=True)
    finally:
        if failed_logs:
            for i in (1, 2, 3):
                log = os.path.join(root, "node%d.log" % i)
                print("---- node%d.log (tail)\n%s" % (i, tail(log)))
        if a.keep or failed_logs:
            print("cluster: files kept in %s" % root)
        else:
            shutil.rmtree(root, ignore_errors=True)
    print("cluster: %d passed, %d failed (%.0f s)" % (checks.passed, checks.failed,
                                                      time.time() - t0), flush=True)
    sys.exit(1 if checks.failed else 0)


if __name__ == "__main__":
    main()
