"""interleave.py: vec0's HNSW against native hnswlib, both driven from C,
in alternating rounds, the ratio taken per round.

  /usr/bin/python3 bench/interleave.py                  # 5 rounds, fashion-mnist
  /usr/bin/python3 bench/interleave.py --kernels avx2   # vec0's AVX2 kernels, hnswlib -mavx2 -mfma

This machine is shared and one engine's QPS moves by +-30 % within a minute,
so a ratio of two runs made minutes apart says little.  Each round runs one
query process per engine (vec0 in WAL mode, vec0 with the rollback journal,
vec0 with quantizer=int8 in WAL mode, hnswlib), in an order that alternates
between rounds; each process loads
its index, makes one untimed warm-up pass at the largest ef and one timed
pass per ef (knn_driver.c for vec0: the statement prepared once, the query
bound as a BLOB; hnswlib_bench query for hnswlib).  Per round and engine,
QPS at a recall target is interpolated in log QPS between the two ef values
around it; the vec0/hnswlib ratio is taken within the round; the report
gives the median over rounds and the spread (min-max).  The CPU's SIMD level
and vec0's kernel set are recorded with the result: a ratio depends on them.

The two indexes (bench/out/il-vec0.db, il-hnswlib.hnsw: m = M = 16,
ef_construction 200, the whole base) are built the first time and reused;
each build's wall and CPU seconds (the build process's user + system time,
all its threads) go to out/<prefix>builds.json and into the report.
`--dataset text --n 200000` uses the 200 000-row text-like set (files
il-text200k-*; the default 50 000 rows keep il-text-*); `--dataset scale` the
1 000 000 x 128 clustered set of `make bench-scale` (files il-scale-*).
"""

import argparse
import json
import math
import os
import threading
import time
import shutil
import statistics
import subprocess
import sys

import numpy as np

import common
import datasets
import run

EFS = run.EFS
MMAP_SIZE = 2147418112  # SQLite's default ceiling for mmap_size (SQLITE_MAX_MMAP_SIZE)
TARGETS = [0.90, 0.95, 0.99]
SQL = "SELECT rowid FROM t WHERE embedding MATCH ?1 AND k = ?2 AND ef = ?3"


def vec0_kernels(env):
    out = subprocess.run(["sqlite3", ":memory:", ".load %s" % common.VEC0,
                          "SELECT vec_debug();"], capture_output=True, text=True, env=env)
    return " ".join(out.stdout.split())


def qps_at(points, target):
    """QPS at recall `target` from [(recall, qps)] sorted by ef, interpolated
    in log QPS; None when no ef reaches it."""
    for (r0, q0), (r1, q1) in zip(points, points[1:]):
        if r0 < target <= r1:
            t = (target - r0) / (r1 - r0)
            return math.exp(math.log(q0) + t * (math.log(q1) - math.log(q0)))
    if points and points[0][0] >= target:
        return points[0][1]
    return None


# The engines run with --baseline-ext (a before/after comparison in one run).
BASELINE_ENGINES = ("vec0-base", "vec0-lowmem-base", "vec0-int8-base")


def sql_of(name, a):
    """The query; --rescore N adds AND rescore = N for the quantized engines."""
    if a.rescore and name in ("vec0-int8", "vec0-int8-base", "vec0-lowmem", "vec0-lowmem-mmap",
                              "vec0-lowmem-base"):
        return SQL + " AND rescore = %d" % a.rescore
    return SQL


def run_once(name, a, d, meta, env):
    out = os.path.join(common.OUT, a.prefix + name)
    files = dict(queries=os.path.join(d, "queries.f32"))
    efs = ",".join(str(e) for e in a.ef)
    if name == "hnswlib":
        exe = os.path.join(common.BENCH, "hnswlib_bench" + ("_avx2" if a.kernels == "avx2" else ""))
        cmd = [exe, "query", "--dim", str(meta["dim"]), "--k", str(a.k),
               "--index", os.path.join(common.OUT, a.prefix + "hnswlib.hnsw"), "--queries",
               files["queries"], "--nq", str(a.nq), "--ef", efs, "--out", out]
    else:
        journal = "delete" if name == "vec0-delete" else "wal"
        db = os.path.join(common.OUT, a.prefix + "%s.db" % (
            {"vec0-int8": "int8", "vec0-int8-base": "int8", "vec0-lowmem": "lowmem",
             "vec0-lowmem-mmap": "lowmem", "vec0-lowmem-base": "lowmem-base"}.get(name, journal)))
        ext = a.baseline_ext if name in BASELINE_ENGINES else common.VEC0
        cmd = [os.path.join(common.BENCH, "knn_driver"), "--ext", ext, "--db", db,
               "--queries", files["queries"], "--dim", str(meta["dim"]), "--nq", str(a.nq),
               "--k", str(a.k), "--ef", efs, "--sql", sql_of(name, a), "--journal", journal,
               "--out", out]
        if name == "vec0-lowmem-mmap":
            # SQLite reads the file through a memory map: a re-ranking read
            # is no pread() (the mapped pages are the page cache's, RssFile)
            cmd += ["--pragma", "mmap_size=%d" % MMAP_SIZE]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        sys.exit("%s failed: %s" % (name, r.stderr.strip()))
    res = common.read_json(out + ".json")
    base = common.read_rows(os.path.join(d, "base.f32"), meta["dim"], 0, a.n)
    queries = common.read_rows(files["queries"], meta["dim"], 0, a.nq)
    _, gd = datasets.ground_truth(d, a.n, a.nq, None)
    raw = np.fromfile(out + ".ids", dtype="<i8")
    points, cpu_points = [], []
    for i, p in enumerate(res["passes"]):
        ids = raw[i * a.nq * a.k:(i + 1) * a.nq * a.k].reshape(a.nq, a.k)
        rec, _ = run.recall(ids, gd[:a.nq], base, queries, a.k)
        # --cpu: the wall-time rows too are from CPU seconds
        points.append((rec, a.nq / (p["cpu_seconds"] if a.cpu else p["seconds"])))
        if p.get("cpu_seconds"):
            cpu_points.append((rec, a.nq / p["cpu_seconds"]))
    return {"points": points, "cpu_points": cpu_points, "rss_peak_kb": res.get("rss_peak_kb"),
            "rss_anon_kb": res.get("rss_anon_kb"), "rss_file_kb": res.get("rss_file_kb")}


def ensure_indexes(a, d, meta):
    """The vec0 table and the hnswlib index of the whole base, built once
    (run.py's own vec0 database is left with half its rows deleted)."""
    db = os.path.join(common.OUT, a.prefix + "vec0.db")
    idx = os.path.join(common.OUT, a.prefix + "hnswlib.hnsw")
    files = dict(base=os.path.join(d, "base.f32"), queries=os.path.join(d, "queries.f32"),
                 extra=os.path.join(d, "extra.f32"))
    shared = ["--dim", str(meta["dim"]), "--k", str(a.k), "--queries", files["queries"],
              "--base", files["base"], "--n", str(a.n), "--nq", "100"]
    metric = ["--metric", meta["metric"]] if meta.get("metric") else []
    times_path = os.path.join(common.OUT, a.prefix + "builds.json")
    times = common.read_json(times_path) if os.path.exists(times_path) else {}

    jobs = []  # (name, command) of the builds still to make

    for engine, path in (("vec0-hnsw", db),
                         ("vec0-int8", os.path.join(common.OUT, a.prefix + "int8.db")),
                         ("vec0-lowmem", os.path.join(common.OUT, a.prefix + "lowmem.db"))):
        wanted = {"vec0-hnsw": ("vec0-wal", "vec0-delete", "vec0-base"),
                  "vec0-int8": ("vec0-int8", "vec0-int8-base"),
                  "vec0-lowmem": ("vec0-lowmem", "vec0-lowmem-mmap")}.get(engine, (engine,))
        if not os.path.exists(path) and set(wanted) & set(a.engines.split(",")):
            jobs.append((engine, [sys.executable, os.path.join(common.BENCH, "engine_sql.py"),
                                  "build", "--engine", engine, "--db", path, "--out",
                                  path + ".build", "--extra", files["extra"], "--nextra", "0",
                                  "--ef", "64"] + shared + metric))
    if not os.path.exists(idx):
        jobs.append(("hnswlib", [os.path.join(common.BENCH, "hnswlib_bench"), "build",
                                 "--index", idx, "--out", idx + ".build", "--M", "16",
                                 "--ef_construction", "200", "--ef", "64", "--nextra", "0"]
                     + shared))
    # One build at a time, or (--parallel-builds) all at once; either way each
    # process's own wall and CPU seconds (user + system, all its threads, from
    # wait4) are kept in <prefix>builds.json.
    for group in ([jobs] if a.parallel_builds else [[j] for j in jobs]):
        started = []
        for name, cmd in group:
            started.append((name, subprocess.Popen(cmd), common.now()))
        for name, proc, t0 in started:
            _, status, ru = os.wait4(proc.pid, 0)
            wall = common.now() - t0
            proc.returncode = os.waitstatus_to_exitcode(status)
            if proc.returncode != 0:
                sys.exit("build of %s failed (%d)" % (name, proc.returncode))
            times[name] = {"wall_s": wall, "cpu_s": ru.ru_utime + ru.ru_stime,
                           "threads": os.environ.get("VEC0_THREADS", "default"),
                           "parallel": bool(a.parallel_builds)}
            common.write_json(times_path, times)
            print("build %s: %.1f s wall, %.1f CPU s" % (name, wall, times[name]["cpu_s"]),
                  file=sys.stderr)
    # One copy per journal mode, so that neither process changes the other's
    # (none when no engine wanted the float32 table: connect() would make an
    # empty file, taken for a built one the next time).
    if not os.path.exists(db):
        return times
    con = __import__("sqlite3").connect(db)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    for journal in ("wal", "delete"):
        copy = os.path.join(common.OUT, a.prefix + "%s.db" % journal)
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(copy + suffix):
                os.remove(copy + suffix)
        shutil.copyfile(db, copy)
    return times


def stop_time(s):
    """HH:MM UTC today, as a Unix time."""
    h, m = (int(x) for x in s.split(":"))
    day = time.time() // 86400 * 86400
    return day + h * 3600 + m * 60


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--nq", type=int, default=2000, help="queries per pass")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--ef", type=lambda s: [int(x) for x in s.split(",")], default=EFS)
    p.add_argument("--kernels", choices=["native", "avx2"], default="native",
                   help="avx2: vec0 with VEC0_KERNELS=avx2, hnswlib built -mavx2 -mfma")
    p.add_argument("--out", default=os.path.join(common.OUT, "interleave.json"))
    p.add_argument("--baseline-ext", help="another build of vec0 (path without .so), run as "
                   "engine vec0-base on the same WAL database: a before/after comparison; "
                   "or, with engine vec0-lowmem-base, on out/il-lowmem-base.db (made by hand: "
                   "the baseline's low-memory table, whose layout may differ); or, with engine "
                   "vec0-int8-base, on the int8 database")
    p.add_argument("--rescore", type=int, help="AND rescore = N in the queries of vec0-int8 "
                   "and vec0-lowmem (default: the column's)")
    p.add_argument("--cpu", action="store_true", help="QPS from each pass's CPU seconds, not "
                   "its wall time (steadier on a shared machine: waiting for a core is left out)")
    p.add_argument("--engines", default="vec0-wal,vec0-delete,vec0-int8,hnswlib",
                   help="comma-separated subset of vec0-wal, vec0-delete, vec0-int8, vec0-lowmem, "
                   "vec0-lowmem-mmap (the same with PRAGMA mmap_size), vec0-lowmem-base, vec0-int8-base, "
                   "hnswlib "
                   "(hnswlib is always run: the ratios are against it)")
    p.add_argument("--dataset", choices=["fashion", "text", "scale"], default="fashion",
                   help="text: the generated text-like set (datasets.py), cosine; "
                   "hnswlib compares it in L2, which orders unit vectors the same; "
                   "scale: the 1 000 000 x 128 clustered set (L2)")
    p.add_argument("--n", type=int, help="rows of the text-like set (default 50000; "
                   "200000 is issue 15's size, generated once under data/text-like-200k-768)")
    p.add_argument("--parallel-builds", action="store_true", help="make the missing indexes "
                   "and the ground truth at the same time (shorter on a shared machine; the "
                   "builds' CPU seconds stay each process's own, their wall times overlap)")
    p.add_argument("--stop-at", type=stop_time, help="HH:MM (UTC, today): start no round "
                   "that would end after it (at least one round runs)")
    a = p.parse_args()
    os.makedirs(common.OUT, exist_ok=True)
    if a.n is not None and a.dataset != "text":
        p.error("--n applies to --dataset text only")
    a.prefix = "il-" if a.dataset == "fashion" else "il-%s-" % a.dataset
    if a.dataset == "text" and a.n not in (None, 50000):
        a.prefix = "il-text%dk-" % (a.n // 1000)
    d = datasets.prepare(a.dataset, a.n)
    meta = common.load_meta(d)
    a.n = meta["n"]
    a.nq = min(a.nq, meta["nq"])
    if a.parallel_builds:
        # the ground truth (one brute_bench process) beside the builds
        gt = threading.Thread(target=datasets.ground_truth, args=(d, a.n, a.nq, None))
        gt.start()
        builds = ensure_indexes(a, d, meta)
        gt.join()
    else:
        datasets.ground_truth(d, a.n, a.nq, None)
        builds = ensure_indexes(a, d, meta)
    datasets.ground_truth(d, a.n, a.nq, None)  # raises if the thread's failed
    env = dict(os.environ)
    if a.kernels == "avx2":
        env["VEC0_KERNELS"] = "avx2"
    engines = [e for e in a.engines.split(",") if e != "hnswlib"] + ["hnswlib"]
    if a.baseline_ext and not set(engines) & set(BASELINE_ENGINES):
        engines.insert(1, "vec0-base")
    rounds = []
    t_start = common.now()
    for r in range(a.rounds):
        # --stop-at: no round that would end after the given time (UTC) starts
        # (estimated from the mean round so far); the report gives the rounds run
        if a.stop_at is not None and r > 0 and \
                time.time() + (common.now() - t_start) / r > a.stop_at:
            print("--stop-at: stopping after %d of %d rounds" % (r, a.rounds), file=sys.stderr)
            break
        order = engines if r % 2 == 0 else engines[::-1]
        res = {}
        for name in order:
            res[name] = run_once(name, a, d, meta, env)
            at = {t: qps_at(res[name]["points"], t) for t in TARGETS}
            res[name]["qps_at"] = at
            res[name]["cpu_qps_at"] = {t: qps_at(res[name]["cpu_points"], t) if
                                       res[name]["cpu_points"] else None for t in TARGETS}
            print("round %d %-12s %s  (by CPU time: %s)" % (r + 1, name, "  ".join(
                "%.2f: %s" % (t, "%.0f" % q if q else "-") for t, q in at.items()), "  ".join(
                "%.0f" % q if q else "-" for q in res[name]["cpu_qps_at"].values())),
                file=sys.stderr)
        rounds.append(res)

    a.rounds = len(rounds)
    common.write_json(a.out, {"raw": rounds})  # kept even if the report below fails
    if not rounds:
        # --rounds 0 (or --stop-at before the first): the builds only
        print("no query rounds run: the builds are in %s" % common.OUT, file=sys.stderr)
        return

    def ratios_of(key):
        out = {}
        for name in [e for e in engines if e != "hnswlib"]:
            out[name] = {}
            for t in TARGETS:
                ratios = [rd[name][key][t] / rd["hnswlib"][key][t] for rd in rounds
                          if rd[name][key][t] and rd["hnswlib"][key][t]]
                out[name][t] = (statistics.median(ratios), min(ratios), max(ratios)) \
                    if ratios else None
        return out
    summary = ratios_of("qps_at")
    summary_cpu = ratios_of("cpu_qps_at")
    qps = {name: {t: statistics.median([rd[name]["qps_at"][t] for rd in rounds
                                         if rd[name]["qps_at"][t]] or [0])
                  for t in TARGETS} for name in engines}
    info = {"dataset": a.dataset, "n": a.n, "builds": builds, "machine": run.machine(), "simd": common.simd(), "vec0_kernels": vec0_kernels(env),
            "kernels_forced": a.kernels, "cpu": a.cpu, "rounds": a.rounds, "nq": a.nq, "k": a.k,
            "ef": a.ef, "qps_median": {n: {str(t): q for t, q in v.items()}
                                       for n, v in qps.items()},
            "ratio": {n: {str(t): v for t, v in s.items()} for n, s in summary.items()},
            "ratio_cpu": {n: {str(t): v for t, v in s.items()} for n, s in summary_cpu.items()},
            "raw": rounds}
    lines = ["| vec0 / hnswlib, QPS at recall@10 | %s |" % " | ".join("%.2f" % t for t in TARGETS),
             "|---|" + "---|" * len(TARGETS)]
    labels = {"vec0-wal": "float32 graph, WAL", "vec0-base": "baseline build, WAL",
              "vec0-lowmem-base": "baseline build, low_memory=1 (its own database), WAL",
              "vec0-int8-base": "baseline build, int8-walked graph, WAL",
              "vec0-delete": "float32 graph, rollback journal",
              "vec0-int8": "int8-walked graph, WAL",
              "vec0-lowmem": "int8-walked graph, low_memory=1, WAL",
              "vec0-lowmem-mmap": "int8-walked graph, low_memory=1, PRAGMA mmap_size, WAL"}
    for name, label in [(e, labels[e]) for e in engines if e != "hnswlib"]:
        for summ, suffix in ((summary, ""), (summary_cpu, ", by CPU time")):
            cells = []
            for t in TARGETS:
                s = summ[name][t]
                cells.append("**%.2f** (%.2f-%.2f)" % s if s else "-")
            lines.append("| %s%s | %s |" % (label, suffix, " | ".join(cells)))
    lines.append("")
    rss = {n: statistics.median([rd[n]["rss_peak_kb"] or 0 for rd in rounds]) for n in engines}
    lines.append("Peak RSS of the query process (MiB, median): " + "; ".join(
        "%s %.0f" % (n, rss[n] / 1024.0) for n in engines))
    # Both drivers hold the query set (nq x dim float32) and the returned ids:
    # the memory of the search itself is the rest.
    harness = (a.nq * meta["dim"] * 4 + a.nq * a.k * 8) / 1024.0
    lines.append("Less the drivers' query set and ids (%.1f MiB): " % (harness / 1024.0) + "; ".join(
        "%s %.1f (%.3fx hnswlib)" % (n, (rss[n] - harness) / 1024.0,
                                    (rss[n] - harness) / (rss["hnswlib"] - harness))
        for n in engines))
    info["rss_peak_kb_median"] = rss
    # The process's own memory at the end (RssAnon), without the pages of
    # files it maps (the database under PRAGMA mmap_size: page cache, shared
    # and reclaimable) and after the warm-up's transient blocks are freed.
    anon = {n: statistics.median([rd[n].get("rss_anon_kb") or 0 for rd in rounds])
            for n in engines}
    if all(anon.values()):
        lines.append("Anonymous RSS at the end (RssAnon, MiB, median), less the query set and "
                     "ids: " + "; ".join(
                         "%s %.1f (%.3fx hnswlib)" % (n, (anon[n] - harness) / 1024.0,
                                                     (anon[n] - harness) /
                                                     (anon["hnswlib"] - harness))
                         for n in engines))
        info["rss_anon_kb_median"] = anon
    info["harness_kb"] = harness
    lines.append("QPS medians: " + "; ".join(
        "%s %s" % (n, ", ".join("%.0f" % qps[n][t] for t in TARGETS)) for n in engines))
    lines.append("Builds (wall s / CPU s): " + "; ".join(
        "%s %.1f / %.1f" % (n, b["wall_s"], b["cpu_s"]) for n, b in sorted(builds.items())))
    medians = {n: [(e, statistics.median([rd[n]["points"][i][0] for rd in rounds]),
                    statistics.median([rd[n]["points"][i][1] for rd in rounds]))
                   for i, e in enumerate(a.ef)] for n in engines}
    info["curve_median"] = medians
    lines.append("Curves, median over rounds (ef: recall@%d / QPS%s):" % (
        a.k, " by CPU time" if a.cpu else ""))
    for n in engines:
        lines.append("  %s: %s" % (n, "; ".join("%d: %.4f / %.0f" % m for m in medians[n])))
    lines.append("Data set %s (%d rows); CPU %s, SIMD %s; vec0 kernels: %s (forced: %s); %d rounds x %d "
                 "queries, commit %s" % (a.dataset, a.n, info["machine"].get("cpu", "?"),
                                         "/".join(info["simd"]),
                                info["vec0_kernels"], a.kernels, a.rounds, a.nq,
                                info["machine"].get("commit")))
    common.write_json(a.out, info)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
