"""copies.py: recall on data that stores each vector many times, for one or
two builds of vec0.

  /usr/bin/python3 bench/copies.py [--ext A,B] [--copies 1,5,50] [--quantizer int8]

Per build, number of copies, load and metric: 200 distinct 32-d vectors
(N(0, 1), seed 1), each stored that many times, in a shuffled order, into an
in-memory `indexed by hnsw(m=16)` table, rows one by one (each its own
transaction) or all in one transaction; then 200 queries, each a stored
distinct vector plus N(0, 0.5) noise per dimension, k = 10, at the default
settings and at ef 10, 40 and 160.  Recall counts by distance: a result is a
hit when its distance is within the exact 10th (a copy is as good as
another).  The numbers depend only on the build and its kernels, not on the
machine's speed.
"""

import argparse
import sqlite3

import numpy as np

import common

EFS = (None, 10, 40, 160)


def run(ext, ncopy, bulk, metric, quantizer, ndistinct=200, dim=32, seed=1):
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(ndistinct, dim)).astype(np.float32)
    x = base[rng.permutation(np.repeat(np.arange(ndistinct), ncopy))]
    con = sqlite3.connect(":memory:", isolation_level=None)
    con.enable_load_extension(True)
    con.load_extension(ext)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(v float[%d] distance_metric=%s indexed by "
                "hnsw(m=16, quantizer=%s))" % (dim, metric, quantizer))
    if bulk:
        con.execute("BEGIN")
    for i, v in enumerate(x):
        con.execute("INSERT INTO t(rowid, v) VALUES (?, ?)", (i + 1, v.tobytes()))
    if bulk:
        con.execute("COMMIT")
    queries = base[rng.integers(0, ndistinct, 200)] + \
        rng.normal(scale=0.5, size=(200, dim)).astype(np.float32)
    norms = np.linalg.norm(x, axis=1)
    out = []
    for ef in EFS:
        hits = 0
        for q in queries:
            if metric == "l2":
                d = np.sqrt(((x - q) ** 2).sum(1))
            else:
                d = 1 - (x @ q) / (norms * np.linalg.norm(q))
            kth = np.sort(d)[9]
            sql = "SELECT distance FROM t WHERE v MATCH ? AND k = 10" + \
                (" AND ef = %d" % ef if ef else "")
            got = [r[0] for r in con.execute(sql, (q.tobytes(),))]
            hits += sum(1 for g in got if g <= kth * (1 + 1e-5) + 1e-6)
        out.append(hits / (10 * len(queries)))
    con.close()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ext", default=common.VEC0, help="one or two builds, comma-separated")
    ap.add_argument("--copies", default="1,5,50")
    ap.add_argument("--quantizer", default="none")
    a = ap.parse_args()
    exts = a.ext.split(",")
    print("recall@10 by distance at the default settings / ef 10 / 40 / 160, quantizer=%s"
          % a.quantizer)
    for ncopy in [int(c) for c in a.copies.split(",")]:
        for bulk in (False, True):
            for metric in ("l2", "cosine"):
                cells = []
                for ext in exts:
                    r = run(ext, ncopy, bulk, metric, a.quantizer)
                    cells.append(" ".join("%.3f" % v for v in r))
                print("copies %2d %-4s %-6s %s" % (ncopy, "txn" if bulk else "rows", metric,
                                                   " | ".join(cells)), flush=True)
    if len(exts) > 1:
        print("(columns: %s)" % ", ".join(exts))


if __name__ == "__main__":
    main()
