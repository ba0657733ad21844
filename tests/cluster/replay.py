"""Statement replication: one statement log, replayed by separate processes.

rqlite (and any statement-shipping replication) runs the same SQL on every
node; the nodes stay identical only if vec0 writes the same shadow-table
bytes for the same statements.  This builds a log of inserts (batches and
single rows), updates of vectors, metadata and keys, deletes, INSERT OR
REPLACE, 'optimize' and 'rebuild', applies it to a fresh database in a new
process per run (each with its own environment), and hashes every shadow
table's rows.

    replay.py apply LOG DB OUT    apply LOG to a new DB, write the hashes to OUT
    run(ext, tmp)                 the runs below, as (name, ok, detail) checks

Runs: the detected kernel set twice, VEC0_KERNELS=avx2 twice (on a CPU with
AVX2), portable once.  Identity within a kernel set across processes is
asserted, and so is identity between AVX-512 and AVX2 (their float32
kernels add in one order).  Against portable C, which sums in double, it is
measured and reported, not asserted: distances can differ in the last bits,
and the HNSW graph built from them can differ (docs/replication.md).

THREADS lists the build thread counts to replay with ('threads=N' right
after the CREATE: the threads of 'rebuild' and 'optimize'; None is the
default, one per core).  Every count must give the same bytes (asserted).
"""

import hashlib
import json
import os
import random
import sqlite3
import subprocess
import sys

THREADS = [None, 1, 3]
TABLE = "items"
COLORS = ["red", "green", "blue", "black"]
# Two logs: 24 dims (l2 and cosine columns) and 128 dims (dot and cosine).
LOGS = [
    ("24-dim l2+cosine", 24,
     "CREATE VIRTUAL TABLE items USING vec0("
     "embedding float[24] indexed by hnsw(m=8, ef_construction=64), "
     "cos float[24] distance_metric=cosine, "
     "tenant integer partition key, color text, score float, +note text)"),
    ("128-dim dot+cosine", 128,
     "CREATE VIRTUAL TABLE items USING vec0("
     "embedding float[128] distance_metric=dot indexed by hnsw(m=8, ef_construction=64), "
     "cos float[128] distance_metric=cosine, "
     "tenant integer partition key, color text, score float, +note text)"),
]


def make_log(schema, dim, seed=19):
    """[(sql, params)]: about 4 200 writes and two maintenance commands."""
    rng = random.Random(seed)
    log = [(schema, [])]

    def vec(rng):
        return "[" + ",".join("%.6f" % rng.uniform(-1, 1) for _ in range(dim)) + "]"

    ins = ("INSERT INTO items(rowid, embedding, cos, tenant, color, score, note) "
           "VALUES (?, ?, ?, ?, ?, ?, ?)")

    def row(rid):
        return [rid, vec(rng), vec(rng), rid % 3, rng.choice(COLORS),
                round(rng.uniform(0, 100), 3), "n%d" % rid]

    rid = 0
    for _ in range(10):                      # 2000 rows in transactions of 200
        log.append(("BEGIN", []))
        for _ in range(200):
            rid += 1
            log.append((ins, row(rid)))
        log.append(("COMMIT", []))
    for _ in range(1000):                    # 1000 single-row transactions
        rid += 1
        log.append((ins, row(rid)))
    live = list(range(1, rid + 1))
    for r in rng.sample(live, 300):
        log.append(("UPDATE items SET embedding = ? WHERE rowid = ?", [vec(rng), r]))
    for r in rng.sample(live, 100):
        log.append(("UPDATE items SET color = ?, score = ?, cos = ? WHERE rowid = ?",
                    [rng.choice(COLORS), rng.uniform(0, 100), vec(rng), r]))
    for r in rng.sample(live, 50):
        log.append(("UPDATE items SET rowid = ? WHERE rowid = ?", [r + 100000, r]))
        live[live.index(r)] = r + 100000
    for r in rng.sample(live, 400):
        log.append(("DELETE FROM items WHERE rowid = ?", [r]))
        live.remove(r)
    for r in rng.sample(live, 100):
        log.append(("INSERT OR REPLACE INTO items(rowid, embedding, cos, tenant, color, "
                    "score, note) VALUES (?, ?, ?, ?, ?, ?, ?)", row(r)))
    log.append(("INSERT INTO items(items) VALUES ('optimize')", []))
    for _ in range(200):
        rid += 1
        log.append((ins, row(rid)))
    log.append(("DELETE FROM items WHERE tenant = 2 AND score < 10", []))
    log.append(("INSERT INTO items(items) VALUES ('rebuild')", []))
    for _ in range(100):
        rid += 1
        log.append((ins, row(rid)))
    log.append(("INSERT INTO items(items) VALUES ('integrity-check')", []))
    return log


def shadow_hashes(con, table):
    """{shadow table: [rows, sha256 of its rows in order of every column]}."""
    out = {}
    names = [r[0] for r in con.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE ? ESCAPE '\\' "
        "ORDER BY name", (table.replace("_", "\\_") + "\\_%",))]
    for name in names:
        ncol = len(con.execute('SELECT * FROM "%s" LIMIT 0' % name).description)
        h = hashlib.sha256()
        n = 0
        order = ", ".join(str(i + 1) for i in range(ncol))
        for r in con.execute('SELECT * FROM "%s" ORDER BY %s' % (name, order)):
            h.update(repr(tuple(x.hex() if isinstance(x, bytes) else x for x in r)).encode())
            n += 1
        out[name] = [n, h.hexdigest()]
    return out


def apply(ext, log_path, db, out):
    with open(log_path) as f:
        log = json.load(f)
    con = sqlite3.connect(db, isolation_level=None)
    con.enable_load_extension(True)
    con.load_extension(ext)
    con.execute("PRAGMA synchronous = OFF")    # the file's bytes do not depend on it
    threads = os.environ.get("VEC0_REPLAY_THREADS")
    for sql, params in log:
        con.execute(sql, params)
        if threads and sql.startswith("CREATE VIRTUAL TABLE"):
            con.execute("INSERT INTO %s(%s) VALUES ('threads=%s')" % (TABLE, TABLE, threads))
    kernels = [l for l in con.execute("SELECT vec_debug()").fetchone()[0].splitlines()
               if l.startswith("kernels: ")][0][len("kernels: "):]
    res = {"kernels": kernels, "tables": shadow_hashes(con, TABLE), "db": db}
    con.close()
    with open(db, "rb") as f:
        res["file"] = hashlib.sha256(f.read()).hexdigest()
    with open(out, "w") as f:
        json.dump(res, f)


def replay(ext, tmp, log_path, name, kernels, threads=None):
    env = dict(os.environ)
    env.pop("VEC0_KERNELS", None)
    env.pop("VEC0_REPLAY_THREADS", None)
    if kernels:
        env["VEC0_KERNELS"] = kernels
    if threads:
        env["VEC0_REPLAY_THREADS"] = str(threads)
    db = os.path.join(tmp, "replay-%s.db" % name)
    out = os.path.join(tmp, "replay-%s.json" % name)
    subprocess.run([sys.executable, os.path.abspath(__file__), "apply", ext, log_path, db, out],
                   env=env, check=True, timeout=600)
    with open(out) as f:
        return json.load(f)


def differing(a, b):
    return sorted(t for t in set(a["tables"]) | set(b["tables"])
                  if a["tables"].get(t) != b["tables"].get(t))


def run(ext, tmp):
    """Yield (check, ok, detail); ok is None for a cross-kernel report."""
    for ilog, (title, dim, schema) in enumerate(LOGS):
        log = make_log(schema, dim)
        log_path = os.path.join(tmp, "replay-log%d.json" % ilog)
        with open(log_path, "w") as f:
            json.dump(log, f)
        base = replay(ext, tmp, log_path, "%d-native-1" % ilog, None)
        detected = base["kernels"]
        sets = [None, "avx2", "portable"] if detected == "avx512" else [None, "portable"]
        results = {}
        for threads in THREADS:
            # Thread counts with the detected kernel set; kernel sets with the default.
            for kset in (sets if threads is None else [None]):
                label = "%s%s" % (kset or detected,
                                  "" if threads is None else ", %d threads" % threads)
                runs = [base] if (kset is None and threads is None) else []
                while len(runs) < (1 if kset == "portable" or threads else 2):
                    runs.append(replay(ext, tmp, log_path, "%d-%s-%s-%d" % (
                        ilog, kset or "native", threads or "dflt", len(runs) + 1), kset,
                        threads))
                yield ("replay %s, %s: kernel set in use" % (title, label),
                       runs[0]["kernels"] == (kset or detected),
                       "vec_debug() says %s" % runs[0]["kernels"])
                if len(runs) == 2:
                    diff = differing(runs[0], runs[1])
                    yield ("replay %s, %s: two processes, %d statements, %d shadow tables "
                           "identical" % (title, label, len(log), len(runs[0]["tables"])),
                           not diff, "differ: %s" % ", ".join(diff))
                results[label] = runs[0]
        labels = list(results)
        for i, a in enumerate(labels):
            for b in labels[i + 1:]:
                ra, rb = results[a], results[b]
                diff = differing(ra, rb)
                # x86-64's two SIMD sets add float32 in one order (test_f32_sets_agree
                # in tests/check_distance.c): their bytes must agree.  Portable C
                # sums in double and is only reported.
                # Thread counts never change the bytes either.
                x86 = {a.split(",")[0], b.split(",")[0]} <= {"avx512", "avx2"}
                yield ("replay %s, %s vs %s" % (title, a, b), (not diff) if x86 else None,
                       "%s; database file %s" % (
                    "identical shadow tables" if not diff else
                    "shadow tables differ: " + ", ".join(
                        "%s (%s rows differ)" % (t, rows_differing(ra["db"], rb["db"], t))
                        for t in diff),
                    "identical" if ra["file"] == rb["file"] else "differs"))


def rows_differing(db_a, db_b, table):
    """How many rows of table differ between two databases, "n of m"."""
    con = sqlite3.connect(db_a)
    con.execute("ATTACH ? AS b", (db_b,))
    n = con.execute('SELECT count(*) FROM (SELECT * FROM main."%s" EXCEPT '
                    'SELECT * FROM b."%s")' % (table, table)).fetchone()[0]
    m = con.execute('SELECT count(*) FROM main."%s"' % table).fetchone()[0]
    con.close()
    return "%d of %d" % (n, m)


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "apply":
        apply(*sys.argv[2:])
    else:
        sys.exit("usage: replay.py apply EXT LOG DB OUT")
