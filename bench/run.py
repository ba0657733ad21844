"""run.py: runs the benchmark, one engine process at a time, and reports.

  /usr/bin/python3 bench/run.py                         # full fashion-mnist
  /usr/bin/python3 bench/run.py --n 5000 --queries 200  # a quick subset
  /usr/bin/python3 bench/run.py --dataset scale         # 1M x 128

Each engine runs in processes of its own (engine_sql.py for the SQLite
extensions, hnswlib_bench and brute_bench natively), one thread, one query
at a time; every timed query loop is C (the SQLite engines' passes run in
knn_driver, which prepares the statement once and binds BLOBs), and each
SQLite engine also runs one pass from Python, reported on its own row; this script only prepares data, starts them, computes recall@k
from the ids they return (a returned row counts when its exact distance is
within the k-th true distance, so ties do not matter) and hands the figures
to report.py.  An engine that fails (e.g. vec0 not built yet, or lacking a
feature) is recorded with its error and the others go on.
"""

import argparse
import datetime
import os
import platform
import subprocess
import sys

import numpy as np

import common
import datasets
import engine_sql
import report
import rounds

ENGINES = ["c-loop", "sqlite-vec", "vec0-flat", "hnswlib", "vectorlite",
           "vec0-hnsw"]
FILTER_ENGINES = ["vec0-postfilter"]   # only with --filters
# The recall targets of fashion-mnist cross between ef 10 and 32 for every
# engine, where a coarse grid's interpolation in log QPS misses the shape of
# the curve: 12, 14 and 20 are measured (vec0's int8 walk's ratio at 0.95 moved
# by 4-8 % with them, bench/README "Stop 20").  interleave.py uses the same.
EFS = [10, 12, 14, 16, 20, 24, 32, 48, 64, 96, 128, 200]
FILTER_LIMITS = [500, 100, 10, 1]      # label < L: 50, 10, 1, 0.1 %


def machine():
    info = {"python": platform.python_version(), "kernel": platform.release(),
            "cores": os.cpu_count(),
            "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M")}
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                info["cpu"] = line.split(":", 1)[1].strip()
    except OSError:
        pass
    info["simd"] = common.simd()
    with open("/proc/meminfo") as f:
        info["ram_gb"] = round(int(f.readline().split()[1]) / 2**20, 1)
    info["sqlite"] = __import__("sqlite3").sqlite_version
    git = ["git", "-C", common.ROOT]
    r = subprocess.run(git + ["rev-parse", "--short", "HEAD"],
                       capture_output=True, text=True)
    info["commit"] = r.stdout.strip()
    r = subprocess.run(git + ["status", "--porcelain", "src", "ext"],
                       capture_output=True, text=True)
    info["src_dirty"] = bool(r.stdout.strip())
    return info


def run_proc(cmd, timeout):
    """Run one engine process; None or an error string."""
    print("$ " + " ".join(cmd), file=sys.stderr)
    try:
        r = subprocess.run(cmd, stderr=subprocess.PIPE, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timed out after %d s" % timeout
    sys.stderr.write(r.stderr)
    if r.returncode != 0:
        tail = [l for l in r.stderr.strip().splitlines() if l.strip()][-1:]
        return "exit %d: %s" % (r.returncode, " ".join(tail))
    return None


def out_prefix(name, a):
    """bench/out/ENGINE.* for the full run, RUN-ENGINE.* for the others, so
    that bench-scale or bench-quick leave the full run's files alone."""
    return os.path.join(common.OUT, name if a.name == "latest" else a.name + "-" + name)


def run_engine(name, a, d, meta, nq):
    """Build-and-query process, then the reopen process.  Returns the
    engine's raw figures (or {"error": ...})."""
    os.makedirs(common.OUT, exist_ok=True)
    out = out_prefix(name, a)
    common.remove_files(out + ".json", out + ".ids", out + ".delete.json",
                        out + ".delete.ids", out + ".insert.json")
    dim = meta["dim"]
    files = dict(base=os.path.join(d, "base.f32"),
                 queries=os.path.join(d, "queries.f32"),
                 extra=os.path.join(d, "extra.f32"),
                 labels=os.path.join(d, "labels.i32"))
    filters = ",".join(str(x) for x in a.filter_limits)
    efs = ",".join(str(x) for x in a.ef)
    if name == "c-loop":
        cmd = [os.path.join(common.BENCH, "brute_bench"),
               "--base", files["base"], "--n", str(a.n), "--dim", str(dim),
               "--queries", files["queries"], "--nq", str(nq),
               "--k", str(a.k), "--out", out]
        if filters:
            cmd += ["--labels", files["labels"], "--filters", filters]
        err = run_proc(cmd, a.timeout)
        return {"error": err} if err else common.read_json(out + ".json")
    if name == "hnswlib":
        index = out + ".hnsw"
        common_args = ["--dim", str(dim), "--k", str(a.k), "--index", index,
                       "--queries", files["queries"]]
        exe = os.path.join(common.BENCH, "hnswlib_bench")
        err = run_proc([exe, "build"] + common_args + [
            "--out", out, "--base", files["base"], "--n", str(a.n),
            "--nq", str(nq), "--extra", files["extra"],
            "--nextra", str(a.nextra), "--M", "16",
            "--ef_construction", "200", "--ef", efs], a.timeout)
        if err:
            return {"error": err}
        res = common.read_json(out + ".json")
        err = run_proc([exe, "reopen"] + common_args + [
            "--out", out + ".reopen", "--ef", str(a.reopen_ef)], a.timeout)
        res["reopen"] = ({"error": err} if err else
                         common.read_json(out + ".reopen.json"))
        return res

    ad = engine_sql.ADAPTERS[name]
    if not os.path.exists(ad.ext + ".so"):
        return {"error": "extension not found: %s.so" % ad.ext}
    db = out + ".db"
    py = sys.executable or "/usr/bin/python3"
    base_args = [py, os.path.join(common.BENCH, "engine_sql.py")]
    shared = ["--engine", name, "--db", db, "--dim", str(dim),
              "--k", str(a.k), "--queries", files["queries"]]
    cmd = base_args + ["build"] + shared + [
        "--out", out, "--base", files["base"], "--n", str(a.n),
        "--nq", str(nq), "--extra", files["extra"], "--nextra",
        str(a.nextra), "--ef", efs,
        "--driver", os.path.join(common.BENCH, "knn_driver"),
        "--py-ef", str(a.py_ef)] + (["--insert-later"] if a.rounds else [])
    if filters and ad.filters:
        cmd += ["--labels", files["labels"], "--filters", filters,
                "--filter-ef", str(a.filter_ef)]
    err = run_proc(cmd, a.timeout)
    if err:
        return {"error": err}
    res = common.read_json(out + ".json")
    err = run_proc(base_args + ["reopen"] + shared + [
        "--out", out + ".reopen", "--ef", str(a.reopen_ef)], a.timeout)
    res["reopen"] = ({"error": err} if err else
                     common.read_json(out + ".reopen.json"))
    return res


def finish_engine(name, a, d, meta, nq, res):
    """After the rounds (which measure the base rows alone): the single-row
    INSERTs a build left for later, then (vec0 HNSW) the delete-half pass,
    which changes the file."""
    if "error" in res or name not in engine_sql.ADAPTERS:
        return
    out = out_prefix(name, a)
    dim = meta["dim"]
    base_args = [sys.executable or "/usr/bin/python3",
                 os.path.join(common.BENCH, "engine_sql.py")]
    shared = ["--engine", name, "--db", out + ".db", "--dim", str(dim),
              "--k", str(a.k), "--queries", os.path.join(d, "queries.f32")]
    if a.rounds:
        cmd = base_args + ["insert"] + shared + [
            "--out", out + ".insert", "--n", str(a.n), "--nq", str(nq),
            "--extra", os.path.join(d, "extra.f32"), "--nextra", str(a.nextra),
            "--ef", ",".join(str(x) for x in a.ef)]
        if a.filter_limits and engine_sql.ADAPTERS[name].filters:
            cmd += ["--filters", ",".join(str(x) for x in a.filter_limits)]
        err = run_proc(cmd, a.timeout)
        if err:
            res["insert_error"] = err
        else:
            res.update(common.read_json(out + ".insert.json"))
    if name == "vec0-hnsw":
        err = run_proc(base_args + ["delete-half"] + shared + [
            "--out", out + ".delete", "--n", str(a.n), "--nq", str(nq)],
            a.timeout)
        res["delete_half"] = ({"error": err} if err else
                              common.read_json(out + ".delete.json"))


def recall(ids, gt_dist, base, queries, k, keep=None):
    """Mean recall@k and mean rows returned.  A returned row counts once,
    when it exists, passes the filter (keep: boolean mask over the base
    rows, None: all) and is no farther than the k-th true neighbour."""
    n = len(base)
    hits, rows = 0.0, 0
    for q in range(len(ids)):
        got = ids[q][ids[q] >= 0]
        rows += len(got)
        got = np.unique(got[got < n])
        if keep is not None:
            got = got[keep[got]]
        want = min(k, int((gt_dist[q] >= 0).sum()))
        if want == 0:
            hits += 1.0
            continue
        thr = gt_dist[q][want - 1] * (1 + 1e-6) + 1e-9
        diff = base[got].astype(np.float64) - queries[q].astype(np.float64)
        hits += min(want, int(((diff * diff).sum(axis=1) <= thr).sum())) / want
    return hits / len(ids), rows / len(ids)


def score(res, name, a, d, meta, nq_gt, passes=True):
    """Turn raw passes into QPS and recall, in place (passes=False: only the
    delete-half pass, which runs after the rounds)."""
    if "error" in res:
        return
    dim, k, n = meta["dim"], a.k, a.n
    base = common.read_rows(os.path.join(d, "base.f32"), dim, 0, n)
    if passes:
        labels = np.fromfile(os.path.join(d, "labels.i32"), dtype="<i4")[:n]
        raw = np.fromfile(out_prefix(name, a) + ".ids", dtype="<i8")
        off = 0
        for p in res["passes"]:
            nq, lt = p["nq"], p.get("filter_lt")
            ids = raw[off:off + nq * k].reshape(nq, k)
            off += nq * k
            queries = common.read_rows(os.path.join(d, "queries.f32"), dim, 0, nq)
            _, gd = datasets.ground_truth(d, n, nq_gt, lt)
            keep = None if lt is None else labels < lt
            p["qps"] = nq / p["seconds"]
            p["recall"], p["rows"] = recall(ids, gd[:nq], base, queries, k, keep)
        for p in res.get("python_passes", []):
            p["qps"] = p["nq"] / p["seconds"]
    dh = res.get("delete_half")
    if dh and "error" not in dh and "recall" not in dh:
        # Rows with an even rowid (odd index) are gone: the truth is the
        # full top 100 restricted to the rows left (about 50 of them).
        nq = dh["nq"]
        ids = np.fromfile(out_prefix(name, a) + ".delete.ids",
                          dtype="<i8").reshape(nq, k)
        gi, gd = datasets.ground_truth(d, n, nq_gt, None)
        keep = np.arange(n) % 2 == 0
        gd_left = np.full((nq, k), -1.0)
        for q in range(nq):
            left = gd[q][(gi[q] >= 0) & keep[np.maximum(gi[q], 0)]][:k]
            gd_left[q, :len(left)] = left
        queries = common.read_rows(os.path.join(d, "queries.f32"), dim, 0, nq)
        dh["qps"] = nq / dh["seconds"]
        dh["recall"], dh["rows"] = recall(ids, gd_left, base, queries, k, keep)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dataset", choices=["fashion", "scale"],
                   default="fashion")
    p.add_argument("--n", type=int, help="base rows (default: all)")
    p.add_argument("--queries", type=int, default=1000,
                   help="queries of each pass of the exact engines")
    p.add_argument("--ann-queries", type=int,
                   help="queries of each pass of the HNSW engines "
                   "(default: --queries)")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--ef", type=lambda s: [int(x) for x in s.split(",")],
                   default=EFS)
    p.add_argument("--engines", type=lambda s: s.split(","))
    p.add_argument("--filters", action="store_true",
                   help="add `label integer` and filtered passes "
                   "(label < %s)" % FILTER_LIMITS)
    p.add_argument("--filter-ef", type=int, default=64)
    p.add_argument("--reopen-ef", type=int, default=64)
    p.add_argument("--py-ef", type=int, default=16,
                   help="ef of the HNSW engines' pass from Python (the "
                   "timed passes run from C, bench/knn_driver)")
    p.add_argument("--nextra", type=int, default=100,
                   help="single-row inserts timed")
    p.add_argument("--timeout", type=int, default=7200)
    p.add_argument("--rounds", type=int, default=5,
                   help="alternating rounds for the target ratios (rounds.py); "
                   "0: the ratios of the one pass per engine")
    p.add_argument("--round-queries", type=int, default=2000,
                   help="queries of a round's HNSW and filtered passes")
    p.add_argument("--round-exact-queries", type=int, default=100,
                   help="queries of a round's exact scans")
    p.add_argument("--name", default="quick",
                   help="results name: bench/results/NAME.{json,md,png} "
                   "for 'latest' and 'scale', else bench/out/NAME.*")
    p.add_argument("--readme", action="store_true",
                   help="also put the table and plot into bench/README.md")
    a = p.parse_args()

    d = datasets.prepare(a.dataset)
    meta = common.load_meta(d)
    a.n = min(a.n or meta["n"], meta["n"])
    a.ann_queries = min(a.ann_queries or a.queries, meta["nq"])
    a.queries = min(a.queries, meta["nq"])
    a.nextra = min(a.nextra, meta["nextra"])
    a.round_queries = min(a.round_queries, max(a.ann_queries, a.queries))
    a.round_exact_queries = min(a.round_exact_queries, a.queries)
    a.filter_limits = FILTER_LIMITS if a.filters else []
    engines = a.engines or (common.SCALE_ENGINES if a.dataset == "scale"
                            else ENGINES + (FILTER_ENGINES if a.filters else []))

    def nq_of(name):
        ann = name in ("hnswlib",) or (name in engine_sql.ADAPTERS and
                                       engine_sql.ADAPTERS[name].ann)
        return a.ann_queries if ann else a.queries

    # Ground truth first: its cost is not any engine's.
    nq_gt = max(a.queries, a.ann_queries)
    for lt in [None] + a.filter_limits:
        datasets.ground_truth(d, a.n, nq_gt, lt)

    results = {"machine": machine(), "dataset": meta["name"], "n": a.n,
               "dim": meta["dim"], "k": a.k, "queries": a.queries,
               "ann_queries": a.ann_queries, "ef": a.ef,
               "filters": a.filter_limits, "filter_ef": a.filter_ef,
               "reopen_ef": a.reopen_ef, "py_ef": a.py_ef, "nextra": a.nextra, "engines": {}}
    for name in engines:
        t0 = common.now()
        res = run_engine(name, a, d, meta, nq_of(name))
        score(res, name, a, d, meta, nq_gt)
        res["wall_s"] = common.now() - t0
        results["engines"][name] = res
        print("== %s: %.0f s%s" % (name, res["wall_s"],
                                   " ERROR " + res["error"]
                                   if "error" in res else ""),
              file=sys.stderr)
    if a.rounds:
        t0 = common.now()
        a.nq_gt = nq_gt
        results["rounds"] = rounds.run(results["engines"], a, d, meta,
                                       lambda name: out_prefix(name, a))
        results["rounds"]["wall_s"] = common.now() - t0
    for name in engines:
        res = results["engines"][name]
        t0 = common.now()
        finish_engine(name, a, d, meta, nq_of(name), res)
        if res.get("insert_ms"):
            res["insert_median_ms"] = float(np.median(res["insert_ms"]))
        score(res, name, a, d, meta, nq_gt, passes=False)
        res["wall_s"] = res.get("wall_s", 0) + common.now() - t0
    # `make bench` runs bench_kernels just before: keep its table too.
    kpath = os.path.join(common.OUT, "kernels.txt")
    if a.name == "latest" and os.path.exists(kpath):
        with open(kpath) as f:
            results["kernels"] = f.read()
    report.write(results, a.name, a.readme)


if __name__ == "__main__":
    main()
