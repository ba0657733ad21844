"""build_scaling.py: the HNSW build on 1, 2, ... threads against hnswlib's
single-threaded build, both driven from C, in alternating rounds.

  /usr/bin/python3 bench/build_scaling.py                 # 3 rounds, fashion-mnist
  /usr/bin/python3 bench/build_scaling.py --threads 1,2,4 --rounds 5
  /usr/bin/python3 bench/build_scaling.py --baseline-ext /path/to/old/vec0

Each round builds, in an order that reverses every other round: vec0 with
'threads=T' for each T (build_driver.c: all rows in one transaction, one
prepared INSERT per row; the queued rows are built as one batch at COMMIT),
hnswlib_bench build (Debian's hnswlib, single-threaded addPoint loop, M =
16, ef_construction = 200) and, with --baseline-ext, another build of vec0
(e.g. one that inserts row by row).  Per round the ratio of each vec0 build
to hnswlib's is taken; the report gives medians and spreads (min-max) over
rounds.  The databases of every thread count must hold the same bytes
(checked); the recall@10 of the threads=1 graph (and of the baseline's) is
measured at each ef with knn_driver.c over --nq queries.  Results:
bench/out/build_scaling.json.
"""

import argparse
import hashlib
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys

import numpy as np

import common
import datasets
import run

EFS = [10, 16, 24, 32, 48, 64, 96, 128, 200]
SQL = "SELECT rowid FROM t WHERE embedding MATCH ?1 AND k = ?2 AND ef = ?3"


def graph_hash(db):
    """A hash of every shadow table (the transaction counter left out)."""
    h = hashlib.sha256()
    con = sqlite3.connect(db)
    for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND "
                               "name LIKE 't\\_%' ESCAPE '\\' ORDER BY name"):
        for row in con.execute('SELECT * FROM "%s" ORDER BY 1' % name):
            if name == "t_config" and row[0] == "changes":
                continue
            h.update(repr(row).encode())
    con.close()
    return h.hexdigest()


def build(name, a, d, meta):
    out = os.path.join(common.OUT, "bs-" + name)
    base = os.path.join(d, "base.f32")
    if name == "hnswlib":
        cmd = [os.path.join(common.BENCH, "hnswlib_bench"), "build", "--index", out + ".hnsw",
               "--out", out, "--M", "16", "--ef_construction", "200", "--ef", "64",
               "--nextra", "0", "--dim", str(meta["dim"]), "--k", "10",
               "--queries", os.path.join(d, "queries.f32"), "--base", base,
               "--n", str(a.n), "--nq", "10"]
    else:
        ext = a.baseline_ext if name == "vec0-base" else common.VEC0
        cmd = [os.path.join(common.BENCH, "build_driver"), "--ext", ext, "--db", out + ".db",
               "--base", base, "--n", str(a.n), "--dim", str(meta["dim"]), "--m", "16",
               "--efc", "200", "--out", out]
        if name.startswith("vec0-t"):
            cmd += ["--threads", name[len("vec0-t"):]]
    load = os.getloadavg()[0]
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = subprocess.run(cmd, capture_output=True, text=True)
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        sys.exit("%s failed: %s" % (name, r.stderr.strip()))
    res = common.read_json(out + ".json")
    # CPU seconds of the whole process (user + system, every thread), and
    # the 1-minute load average as it started and as it ended
    res["cpu_s"] = round(ru1.ru_utime - ru0.ru_utime + ru1.ru_stime - ru0.ru_stime, 3)
    res["load"] = [round(load, 2), round(os.getloadavg()[0], 2)]
    return res


def recall_curve(name, a, d, meta):
    out = os.path.join(common.OUT, "bs-%s-q" % name)
    cmd = [os.path.join(common.BENCH, "knn_driver"), "--ext",
           a.baseline_ext if name == "vec0-base" else common.VEC0,
           "--db", os.path.join(common.OUT, "bs-%s.db" % name),
           "--queries", os.path.join(d, "queries.f32"), "--dim", str(meta["dim"]),
           "--nq", str(a.nq), "--k", "10", "--ef", ",".join(map(str, EFS)), "--sql", SQL,
           "--out", out]
    subprocess.run(cmd, check=True)
    base = common.read_rows(os.path.join(d, "base.f32"), meta["dim"], 0, a.n)
    queries = common.read_rows(os.path.join(d, "queries.f32"), meta["dim"], 0, a.nq)
    _, gd = datasets.ground_truth(d, a.n, a.nq, None)
    raw = np.fromfile(out + ".ids", dtype="<i8")
    curve = []
    for i, ef in enumerate(EFS):
        ids = raw[i * a.nq * 10:(i + 1) * a.nq * 10].reshape(a.nq, 10)
        curve.append((ef, run.recall(ids, gd[:a.nq], base, queries, 10)[0]))
    return curve


def spread(xs):
    return "%.3g (%.3g-%.3g)" % (statistics.median(xs), min(xs), max(xs))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--n", type=int, default=60000)
    ap.add_argument("--nq", type=int, default=1000)
    ap.add_argument("--dataset", default="fashion")
    ap.add_argument("--baseline-ext", default=None)
    a = ap.parse_args()
    os.makedirs(common.OUT, exist_ok=True)
    d = datasets.prepare(a.dataset)
    meta = common.load_meta(d)
    a.n = min(a.n, meta["n"])
    datasets.ground_truth(d, a.n, a.nq, None)
    names = ["vec0-t%s" % t for t in a.threads.split(",")] + ["hnswlib"]
    if a.baseline_ext:
        names.append("vec0-base")
    times = {n: [] for n in names}
    for r in range(a.rounds):
        order = names if r % 2 == 0 else names[::-1]
        for name in order:
            res = build(name, a, d, meta)
            times[name].append(res)
            print("round %d %-10s build %.2f s %s" % (r + 1, name, res["build_s"],
                                                     json.dumps(res)), flush=True)
        hashes = {graph_hash(os.path.join(common.OUT, "bs-%s.db" % n))
                  for n in names if n.startswith("vec0-t")}
        if len(hashes) != 1:
            sys.exit("round %d: the thread counts gave different bytes" % (r + 1))
    report = {"n": a.n, "dataset": a.dataset, "rounds": a.rounds, "cpus": os.cpu_count(),
              "simd": common.simd(),
              "builds": times, "same_bytes_for_thread_counts": True}
    hn = [x["build_s"] for x in times["hnswlib"]]
    print("\n| engine | build s, median (min-max) | / hnswlib, per round | CPU s | load |")
    print("|---|---|---|---|---|")
    for name in names:
        b = [x["build_s"] for x in times[name]]
        ratio = [x / y for x, y in zip(b, hn)]
        report.setdefault("ratio_to_hnswlib", {})[name] = ratio
        print("| %s | %s | %s | %s | %s |" % (
            name, spread(b), spread(ratio), spread([x["cpu_s"] for x in times[name]]),
            spread([sum(x["load"]) / 2 for x in times[name]])))
    curves = {}
    for name in names:
        if name == names[0] or name == "vec0-base":
            curves[name] = recall_curve(name, a, d, meta)
    report["recall"] = curves
    print("\nrecall@10 at ef " + " ".join(str(e) for e in EFS))
    for name, c in curves.items():
        print("%-10s %s" % (name, " ".join("%.4f" % r for _, r in c)))
    common.write_json(os.path.join(common.OUT, "build_scaling.json"), report)


if __name__ == "__main__":
    main()
