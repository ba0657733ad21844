"""writes.py: what a long run of writes does to a small graph's recall and
reachability (m = 4, 8, 16), for one or two builds of vec0.

  /usr/bin/python3 bench/writes.py [--ext A,B] [--m 4,8,16]

Per m and build: 4 000 clustered 16-d rows (12 centres uniform in
[-5, 5), each row a centre plus N(0, 1) noise, seed 7) inserted in one
transaction, then 2 000 single-row UPDATEs of random rows to new such
vectors, 500 DELETEs and 1 000 single-row INSERTs, then recall@10 of 400
such queries at ef 10, 20 and 40 against the graph's own exact answer (ef
3 000), and whether 'integrity-check' passes (every live row reachable).
Recall here is a property of the graph the writes leave: the same on every
machine for the same build and kernels.  The milliseconds per UPDATE (the
2 000, from Python, in memory, after a first query has built the graph)
are one timing on whatever machine: compare builds in the same run.
"""

import argparse
import os
import random
import sqlite3
import struct
import time

import common

D = 16


def run(ext, m):
    r = random.Random(7)
    centres = [[r.uniform(-5, 5) for _ in range(D)] for _ in range(12)]

    def vec():
        c = r.choice(centres)
        return struct.pack("<%df" % D, *[x + r.gauss(0, 1) for x in c])

    db = sqlite3.connect(":memory:", isolation_level=None)
    db.enable_load_extension(True)
    db.load_extension(ext)
    db.execute("CREATE VIRTUAL TABLE t USING vec0(v float[%d] "
               "indexed by hnsw(m=%d, ef_construction=32))" % (D, m))
    db.execute("BEGIN")
    for i in range(4000):
        db.execute("INSERT INTO t(rowid, v) VALUES (?, ?)", (i + 1, vec()))
    db.execute("COMMIT")
    db.execute("SELECT rowid FROM t WHERE v MATCH ? AND k = 1", (vec(),)).fetchall()
    t0 = time.perf_counter()
    for _ in range(2000):
        db.execute("UPDATE t SET v = ? WHERE rowid = ?", (vec(), r.randint(1, 4000)))
    ms = (time.perf_counter() - t0) / 2000 * 1000
    for _ in range(500):
        db.execute("DELETE FROM t WHERE rowid = ?", (r.randint(1, 4000),))
    for i in range(1000):
        db.execute("INSERT INTO t(rowid, v) VALUES (?, ?)", (5000 + i, vec()))
    queries = [vec() for _ in range(400)]
    out = ["%.3f" % ms]
    for ef in (10, 20, 40):
        hit = 0
        for q in queries:
            got = {x for (x,) in db.execute(
                "SELECT rowid FROM t WHERE v MATCH ? AND k = 10 AND ef = ?", (q, ef))}
            want = {x for (x,) in db.execute(
                "SELECT rowid FROM t WHERE v MATCH ? AND k = 10 AND ef = 3000", (q,))}
            hit += len(got & want)
        out.append("%.4f" % (hit / (10 * len(queries))))
    try:
        db.execute("INSERT INTO t(t) VALUES ('integrity-check')")
        out.append("passes")
    except sqlite3.DatabaseError as e:
        out.append("FAILS (%s)" % str(e).split(": ")[-1])
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ext", default=common.VEC0, help="one or two builds, comma-separated")
    ap.add_argument("--m", default="4,8,16")
    a = ap.parse_args()
    print("| build | m | ms per UPDATE | recall@10 ef 10 | ef 20 | ef 40 | integrity-check |")
    print("|---|---|---|---|---|---|---|")
    for m in [int(x) for x in a.m.split(",")]:
        for ext in a.ext.split(","):
            print("| %s | %d | %s |" % (os.path.basename(os.path.dirname(ext)) or ext, m,
                                         " | ".join(run(ext, m))), flush=True)


if __name__ == "__main__":
    main()
