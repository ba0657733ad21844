"""deletes.py: what deleting rows does to a table's file size and speed,
before and after 'optimize' + VACUUM, for vec0 and sqlite-vec 0.1.9.

  /usr/bin/python3 bench/deletes.py            # fashion-mnist 60k, 50 % and 90 % deleted

For each engine and share deleted: a copy of the 60k table, the DELETE, then
the file size (after a WAL checkpoint), QPS and recall@10 of 500 queries
(C driver: knn_driver.c, default settings, one warm-up pass); then vec0's
'optimize' command (sqlite-vec 0.1.9 has none) and VACUUM, and the same
figures again; and, as the reference, a table built fresh from the rows
left.  Recall is against the exact answer over the rows left.
"""

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys

import numpy as np

import common
import datasets

SQL = {"vec0": "SELECT rowid FROM t WHERE embedding MATCH ?1 AND k = ?2",
       "sqlite-vec": "SELECT rowid FROM t WHERE embedding MATCH ?1 AND k = ?2"}
EXT = {"vec0": common.VEC0, "sqlite-vec": common.SQLITE_VEC}
CREATE = {"vec0": "CREATE VIRTUAL TABLE t USING vec0(embedding float[%d])",
          "sqlite-vec": "CREATE VIRTUAL TABLE t USING vec0(embedding float[%d])"}


def connect(path, engine):
    con = sqlite3.connect(path, isolation_level=None)
    con.enable_load_extension(True)
    con.load_extension(EXT[engine])
    return con


def file_bytes(path):
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return sum(os.path.getsize(path + s) for s in ("", "-wal") if os.path.exists(path + s))


def build(path, engine, base, rows):
    for s in ("", "-wal", "-shm"):
        if os.path.exists(path + s):
            os.remove(path + s)
    con = connect(path, engine)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute(CREATE[engine] % base.shape[1])
    con.execute("BEGIN")
    con.executemany("INSERT INTO t(rowid, embedding) VALUES (?, ?)",
                    ((int(r) + 1, base[r].tobytes()) for r in rows))
    con.execute("COMMIT")
    con.close()


def measure(path, engine, d, meta, nq, k, keep, base, queries):
    out = path + ".run"
    cmd = [os.path.join(common.BENCH, "knn_driver"), "--ext", EXT[engine], "--db", path,
           "--queries", os.path.join(d, "queries.f32"), "--dim", str(meta["dim"]),
           "--nq", str(nq), "--k", str(k), "--ef", "0", "--sql", SQL[engine], "--out", out]
    subprocess.run(cmd, check=True)
    res = common.read_json(out + ".json")
    ids = np.fromfile(out + ".ids", dtype="<i8").reshape(nq, k)
    left = np.nonzero(keep)[0]
    sub = base[left]
    hits = 0
    for q in range(nq):
        dd = ((sub - queries[q]) ** 2).sum(axis=1)
        want = set(left[np.argsort(dd, kind="stable")[:k]].tolist())
        hits += len(want & set(ids[q][ids[q] >= 0].tolist()))
    return {"bytes": file_bytes(path), "qps": nq / res["passes"][0]["seconds"],
            "recall": hits / (nq * k)}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=60000)
    p.add_argument("--nq", type=int, default=500)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--engines", default="vec0,sqlite-vec")
    a = p.parse_args()
    d = datasets.prepare("fashion")
    meta = common.load_meta(d)
    base = common.read_rows(os.path.join(d, "base.f32"), meta["dim"], 0, a.n)
    queries = common.read_rows(os.path.join(d, "queries.f32"), meta["dim"], 0, a.nq)
    os.makedirs(common.OUT, exist_ok=True)
    rows = []
    for engine in a.engines.split(","):
        full = os.path.join(common.OUT, "dl-%s-full.db" % engine)
        if not os.path.exists(full):
            print("building %s (%d rows)" % (engine, a.n), file=sys.stderr)
            build(full, engine, base, np.arange(a.n))
        every = np.ones(a.n, dtype=bool)
        m = measure(full, engine, d, meta, a.nq, a.k, every, base, queries)
        rows.append((engine, "0 %", "-", m))
        for share, cond in (("50 %", "rowid % 2 = 0"), ("90 %", "rowid % 10 != 0")):
            keep = np.array([not eval(cond.replace("rowid", str(r + 1)).replace("!=", "!=")
                                      .replace(" = ", " == ")) for r in range(a.n)])
            db = os.path.join(common.OUT, "dl-%s.db" % engine)
            for s in ("", "-wal", "-shm"):
                if os.path.exists(db + s):
                    os.remove(db + s)
            shutil.copyfile(full, db)
            con = connect(db, engine)
            con.execute("DELETE FROM t WHERE " + cond)
            con.close()
            rows.append((engine, share, "after DELETE",
                         measure(db, engine, d, meta, a.nq, a.k, keep, base, queries)))
            con = connect(db, engine)
            if engine == "vec0":
                con.execute("INSERT INTO t(t) VALUES ('optimize')")
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            con.execute("PRAGMA journal_mode=DELETE")
            con.execute("VACUUM")
            con.execute("PRAGMA journal_mode=WAL")
            con.close()
            rows.append((engine, share, "optimize + VACUUM" if engine == "vec0" else "VACUUM",
                         measure(db, engine, d, meta, a.nq, a.k, keep, base, queries)))
            fresh = os.path.join(common.OUT, "dl-%s-fresh.db" % engine)
            build(fresh, engine, base, np.nonzero(keep)[0])
            rows.append((engine, share, "fresh table of the rows left",
                         measure(fresh, engine, d, meta, a.nq, a.k, keep, base, queries)))
    print("| engine | deleted | state | file MB | QPS | recall@10 |")
    print("|---|---|---|---|---|---|")
    for engine, share, state, m in rows:
        print("| %s | %s | %s | %.1f | %.0f | %.3f |" % (engine, share, state, m["bytes"] / 1e6,
                                                        m["qps"], m["recall"]))
    common.write_json(os.path.join(common.OUT, "deletes.json"),
                      [{"engine": e, "deleted": s, "state": st, **m} for e, s, st, m in rows])


if __name__ == "__main__":
    main()
