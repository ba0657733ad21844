"""rounds.py: the ratios of `make bench`'s target table, from alternating rounds.

One engine's QPS moves by +-30 % within a minute on a shared machine, so a
ratio of two passes made minutes apart (run.py measures one engine after the
other) can be noise.  After every engine is built and measured once, run.py
calls run() for --rounds rounds.  Each round runs, each in a process of its
own and from C, one short measurement per item below, in this order on even
rounds and the reverse on odd ones, so that the two sides of each ratio run
next to each other:

  c-loop, vec0-flat, sqlite-vec     the exact scan (--round-exact-queries)
  hnswlib, vec0-hnsw, vectorlite    one pass per ef around recall 0.95
  vec0-flat, vec0-hnsw at 1 %       `AND label < 10` (with --filters)
  vec0-hnsw reopen                  open + load + first query, a new process
                                    (first_query.c)

Per round each ratio is taken (QPS at recall 0.95 interpolated in log QPS
between the ef passes around it, on the round's own queries); the report
gives the median over the rounds and the spread (min-max).  The efs are
those around 0.95 in the engines' full curves (run.py's passes), with one on
each side to spare: the recall of a round's fewer queries differs a little.
"""

import os
import statistics
import subprocess
import sys

import numpy as np

import common
import datasets
import engine_sql
import report

TARGET = report.TARGET_RECALL
ANN = ("hnswlib", "vec0-hnsw", "vectorlite")
EXACT = ("c-loop", "vec0-flat", "sqlite-vec")
LT = 10  # label < 10: 1 % of the rows
# (name in the report, numerator, denominator) of each per-round ratio
RATIOS = [("flat/sqlite-vec", ("vec0-flat", "plain"), ("sqlite-vec", "plain")),
          ("flat/c-loop", ("vec0-flat", "plain"), ("c-loop", "plain")),
          ("hnsw/hnswlib", ("vec0-hnsw", "ann"), ("hnswlib", "ann")),
          ("hnsw/vectorlite", ("vec0-hnsw", "ann"), ("vectorlite", "ann")),
          ("vectorlite/hnswlib", ("vectorlite", "ann"), ("hnswlib", "ann")),
          ("hnsw1/flat1", ("vec0-hnsw", "lt"), ("vec0-flat", "lt"))]


def efs_around(engines, efs, target=TARGET):
    """The efs of the full curves around `target`: for each HNSW engine the
    last pass below it and the first at or above it, and one more on each
    side; their union, sorted."""
    want = set()
    for name in ANN:
        e = engines.get(name)
        if not e or "error" in e:
            continue
        ps = sorted((p for p in report.plain(e["passes"]) if "recall" in p),
                    key=lambda p: p["ef"])
        above = [i for i, p in enumerate(ps) if p["recall"] >= target]
        i = above[0] if above else len(ps) - 1
        for j in range(max(i - 2, 0), min(i + 2, len(ps))):
            want.add(ps[j]["ef"])
    return sorted(e for e in efs if e in want)


def items(engines, a):
    """(engine, kind) in the order of an even round; kinds: plain (the exact
    scan), ann (the ef passes), lt (the 1 % filter), reopen."""
    ok = {n for n, e in engines.items() if "error" not in e}
    out = [(n, "plain") for n in EXACT if n in ok]
    out += [(n, "ann") for n in ANN if n in ok]
    if LT in a.filter_limits:
        out += [(n, "lt") for n in ("vec0-flat", "vec0-hnsw") if n in ok]
    if "vec0-hnsw" in ok:
        out.append(("vec0-hnsw", "reopen"))
    return out


def proc(cmd):
    r = subprocess.run(cmd, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit("round: %s failed: %s" % (cmd[0], r.stderr.strip()[-300:]))


def measure(name, kind, a, d, meta, prefix, out, efs, data):
    """One item of a round: its passes (ef, filter_lt, nq, seconds) or, for
    reopen, its times in ms.  data: the base rows, queries and labels, read
    once for every item's recall."""
    dim, k = str(meta["dim"]), str(a.k)
    queries = os.path.join(d, "queries.f32")
    nq = a.round_exact_queries if kind == "plain" else a.round_queries
    if kind == "reopen":
        # first_query.c: a new process opens the file, loads the extension
        # and runs one query (the first of the file), timed from C
        r = subprocess.run([os.path.join(common.BENCH, "first_query"), "--ext",
                            engine_sql.ADAPTERS[name].ext, "--db", prefix + ".db",
                            "--queries", queries, "--dim", dim, "--runs", "1",
                            "--ef", str(a.reopen_ef)], capture_output=True, text=True)
        line = [l for l in r.stdout.splitlines() if l.startswith("run ")]
        if r.returncode != 0 or not line:
            sys.exit("round: first_query failed: %s" % r.stderr.strip()[-300:])
        return {"total_ms": float(line[0].split()[3])}
    if name == "c-loop":
        proc([os.path.join(common.BENCH, "brute_bench"), "--base",
              os.path.join(d, "base.f32"), "--n", str(a.n), "--dim", dim,
              "--queries", queries, "--nq", str(nq), "--k", k, "--out", out])
    elif name == "hnswlib":
        proc([os.path.join(common.BENCH, "hnswlib_bench"), "query", "--dim", dim,
              "--k", k, "--index", prefix + ".hnsw", "--queries", queries,
              "--nq", str(nq), "--ef", ",".join(map(str, efs)), "--out", out])
    else:
        ad = engine_sql.ADAPTERS[name]
        cmd = [os.path.join(common.BENCH, "knn_driver"), "--ext", ad.ext,
               "--db", prefix + ".db", "--queries", queries, "--dim", dim,
               "--nq", str(nq), "--k", k, "--sql", ad.driver_sql(kind == "lt"),
               "--journal", "wal", "--out", out]
        if kind == "lt":
            cmd += ["--ef", "", "--lt", str(LT), "--warm", str(min(100, nq)),
                    "--filter-ef", str(a.filter_ef if ad.ann else 0)]
        elif kind == "ann":
            cmd += ["--ef", ",".join(map(str, efs))]
        else:
            cmd += ["--ef", "0", "--warm", str(min(10, nq))]
        proc(cmd)
    passes = common.read_json(out + ".json")["passes"]
    raw = np.fromfile(out + ".ids", dtype="<i8")
    for i, p in enumerate(passes):
        if name == "hnswlib":
            p["filter_lt"] = None
        elif kind != "ann":
            p["ef"] = None
        q = p["nq"]
        ids = raw[i * q * a.k:(i + 1) * q * a.k].reshape(q, a.k)
        lt = p.get("filter_lt")
        _, gd = datasets.ground_truth(d, a.n, a.nq_gt, lt)
        keep = None
        if lt is not None:
            keep = data["labels"] < lt
        p["qps"] = q / p["seconds"]
        p["recall"], p["rows"] = recall(ids, gd[:q], data["base"], data["queries"][:q],
                                        a.k, keep)
    return passes


def recall(*args):
    import run  # run.py imports this module
    return run.recall(*args)


def figure(kind, got):
    """The QPS an item stands for in a ratio (or None)."""
    if got is None:
        return None
    if kind == "ann":
        return report.qps_at(got)
    return got[0]["qps"] if got else None


def run(engines, a, d, meta, prefix_of):
    """--rounds rounds of items(); returns what results["rounds"] holds."""
    efs = efs_around(engines, a.ef)
    todo = items(engines, a)
    data = {"base": common.read_rows(os.path.join(d, "base.f32"), meta["dim"], 0, a.n),
            "queries": common.read_rows(os.path.join(d, "queries.f32"), meta["dim"], 0,
                                        max(a.round_queries, a.round_exact_queries))}
    labels = os.path.join(d, "labels.i32")
    if os.path.exists(labels):
        data["labels"] = np.fromfile(labels, dtype="<i4")[:a.n]
    raw = []
    for r in range(a.rounds):
        order = todo if r % 2 == 0 else todo[::-1]
        got = {}
        for name, kind in order:
            out = os.path.join(common.OUT, "round-%s-%s" % (name, kind))
            got["%s %s" % (name, kind)] = measure(name, kind, a, d, meta, prefix_of(name),
                                                  out, efs, data)
        fig = {key: (got[key]["total_ms"] if key.endswith("reopen")
                     else figure(key.split()[1], got[key])) for key in got}
        ratios = {}
        for what, num, den in RATIOS:
            x, y = fig.get("%s %s" % num), fig.get("%s %s" % den)
            if x and y:
                ratios[what] = x / y
        if "vec0-hnsw reopen" in fig:
            ratios["reopen_ms"] = fig["vec0-hnsw reopen"]
        print("round %d: %s" % (r + 1, "  ".join("%s %.2f" % kv for kv in ratios.items())),
              file=sys.stderr)
        raw.append({"passes": got, "figures": fig, "ratios": ratios})
    keys = sorted({key for rd in raw for key in rd["ratios"]})
    summary = {}
    for key in keys:
        v = [rd["ratios"][key] for rd in raw if key in rd["ratios"]]
        summary[key] = {"median": statistics.median(v), "min": min(v), "max": max(v),
                        "values": v}
    return {"rounds": a.rounds, "queries": a.round_queries,
            "exact_queries": a.round_exact_queries, "efs": efs,
            "order": ["%s %s" % it for it in todo], "summary": summary, "raw": raw}
