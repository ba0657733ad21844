"""engine_sql.py: one SQLite engine, measured inside its own process.

An engine is an Adapter: which extension to load and the SQL to create,
fill and query a table.  Adding an engine (or a variant, e.g. other HNSW
parameters) means adding an Adapter to ADAPTERS.

  build  : create the table in a new file database and insert all base rows
           in one transaction (build time, through commit and close: a
           vectorlite index is written to its file at close), measure the
           files; reopen and run one timed query pass per ef (and per label
           limit when --filters is given); then time single-row INSERTs in
           autocommit mode (--insert-later: in the insert mode instead).
  insert : reopen, warm up as build does, time the single-row INSERTs.
  reopen : in a fresh process, time open + load extension + first KNN query,
           and the query alone.
  delete-half : (HNSW, last: it changes the file) delete every row with an
           even rowid and the rows the insert timing added, in one
           transaction, then one query pass at the table's default ef.

Vectors are bound as float32 BLOBs.  Figures go to PREFIX.json and the ids
to PREFIX.ids as described in common.py.  Uses Debian's /usr/bin/python3.
"""

import argparse
import sqlite3
import statistics
import subprocess
import sys

import numpy as np

import common


class Adapter:
    name = None
    ext = None
    ann = False          # approximate: one pass per ef
    filters = False      # supports `label integer` and `AND label < ?`
    filter_only = False  # runs the filtered passes only

    def files(self, db):
        return [db, db + "-wal", db + "-journal"]

    def create(self, dim, db, capacity, label):
        raise NotImplementedError

    def insert_sql(self, label):
        if label:
            return "INSERT INTO t(rowid, embedding, label) VALUES (?, ?, ?)"
        return "INSERT INTO t(rowid, embedding) VALUES (?, ?)"

    def query(self, k, ef, lt):
        """(sql, extra parameters after the vector blob)."""
        raise NotImplementedError

    def driver_sql(self, lt):
        """The query for knn_driver (C): ?1 the vector blob, ?2 k, ?3 ef,
        ?4 the label limit (a filtered pass: lt true)."""
        raise NotImplementedError


class Vec0Flat(Adapter):
    name = "vec0-flat"
    ext = common.VEC0
    filters = True
    index = "flat()"

    metric = None  # --metric: distance_metric= of the column (default l2)

    def create(self, dim, db, capacity, label):
        return ("CREATE VIRTUAL TABLE t USING vec0(embedding float[%d]%s "
                "indexed by %s%s)" % (dim, " distance_metric=%s" % self.metric
                                      if self.metric else "", self.index,
                                      ", label integer" if label else ""))

    def query(self, k, ef, lt):
        sql = "SELECT rowid, distance FROM t WHERE embedding MATCH ? AND k = ?"
        args = [k]
        if ef is not None:
            sql += " AND ef = ?"
            args.append(ef)
        if lt is not None:
            sql += " AND label < ?"
            args.append(lt)
        return sql, args

    def driver_sql(self, lt):
        return ("SELECT rowid FROM t WHERE embedding MATCH ?1 AND k = ?2" +
                (" AND ef = ?3" if self.ann else "") +
                (" AND label < ?4" if lt else ""))


class Vec0Hnsw(Vec0Flat):
    name = "vec0-hnsw"
    ann = True
    index = "hnsw(m=16, ef_construction=200)"


class Vec0HnswInt8(Vec0Hnsw):
    """The same graph walked on int8 codes, float32 re-ranking."""
    name = "vec0-int8"
    index = "hnsw(m=16, ef_construction=200, quantizer=int8)"


class Vec0HnswLowMem(Vec0Hnsw):
    """The int8-walked graph with low_memory=1: searches hold the codes and
    links, not the float32 vectors (the re-ranking reads its candidates)."""
    name = "vec0-lowmem"
    index = "hnsw(m=16, ef_construction=200, quantizer=int8, low_memory=1)"


class Vec0PostFilter(Vec0Hnsw):
    """The baseline for filtered search: the same HNSW table, but the filter
    applied after the search, to 10 x k rows fetched without it (what a
    vector index that cannot filter inside its walk offers).  MATERIALIZED
    keeps SQLite from pushing the filter down into the KNN query."""
    name = "vec0-postfilter"
    filter_only = True
    overfetch = 10

    def query(self, k, ef, lt):
        if lt is None:
            return Vec0Hnsw.query(self, k, ef, lt)
        kk = k * self.overfetch
        sql = ("WITH c AS MATERIALIZED (SELECT rowid, distance, label FROM t "
               "WHERE embedding MATCH ? AND k = ? AND ef = ?) "
               "SELECT rowid, distance FROM c WHERE label < ? "
               "ORDER BY distance LIMIT ?")
        return sql, [kk, max(ef or 0, kk), lt, k]

    def driver_sql(self, lt):
        if not lt:
            return Vec0Hnsw.driver_sql(self, lt)
        return ("WITH c AS MATERIALIZED (SELECT rowid, distance, label FROM t "
                "WHERE embedding MATCH ?1 AND k = %d * ?2 "
                "AND ef = max(?3, %d * ?2)) "
                "SELECT rowid FROM c WHERE label < ?4 ORDER BY distance LIMIT ?2"
                % (self.overfetch, self.overfetch))


class SqliteVec(Vec0Flat):
    name = "sqlite-vec"
    ext = common.SQLITE_VEC

    def create(self, dim, db, capacity, label):
        return ("CREATE VIRTUAL TABLE t USING vec0(embedding float[%d]%s)"
                % (dim, ", label integer" if label else ""))


class Vectorlite(Adapter):
    name = "vectorlite"
    ext = common.VECTORLITE
    ann = True

    def files(self, db):
        return Adapter.files(self, db) + [db + ".idx"]

    def create(self, dim, db, capacity, label):
        # The index lives in memory and in the side file named here, which
        # vectorlite writes when the connection closes.
        return ("CREATE VIRTUAL TABLE t USING vectorlite(embedding float32[%d]"
                " l2, hnsw(max_elements=%d, M=16, ef_construction=200), '%s')"
                % (dim, capacity, db + ".idx"))

    def query(self, k, ef, lt):
        return ("SELECT rowid, distance FROM t WHERE "
                "knn_search(embedding, knn_param(?, ?, ?))", [k, ef])

    def driver_sql(self, lt):
        return ("SELECT rowid FROM t WHERE "
                "knn_search(embedding, knn_param(?1, ?2, ?3))")


ADAPTERS = {a.name: a for a in (Vec0Flat(), Vec0Hnsw(), Vec0HnswInt8(), Vec0HnswLowMem(),
                                  SqliteVec(),
                                Vectorlite(), Vec0PostFilter())}


# Every SQLite engine runs with the same durability settings: WAL and
# synchronous=NORMAL, so that an autocommit INSERT measures the engine and
# not the disk's fsync (FULL/DELETE costs ~10-20 ms per commit here).
PRAGMAS = ["PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL"]
WARMUP = 100
PY_EXACT_NQ = 200   # queries of an exact engine's "from Python" pass


def connect(path, ext):
    con = sqlite3.connect(path, isolation_level=None)
    con.enable_load_extension(True)
    con.load_extension(ext)
    for pragma in PRAGMAS:
        con.execute(pragma).fetchall()
    return con


def build(a, args):
    dim, n, k = args.dim, args.n, args.k
    label = bool(args.filters)
    labels = np.fromfile(args.labels, dtype="<i4")[:n] if label else None
    queries = common.read_rows(args.queries, dim, 0, args.nq)
    blobs = [q.tobytes() for q in queries]
    common.remove_files(*a.files(args.db))
    res = {"engine": a.name, "n": n, "dim": dim, "k": k,
           "rss_base_kb": common.rss_kb()}

    t0 = common.now()
    con = connect(args.db, a.ext)
    con.execute(a.create(dim, args.db, n + args.nextra, label))
    ins = a.insert_sql(label)
    con.execute("BEGIN")
    for s, rows in common.iter_rows(args.base, dim, n):
        if label:
            con.executemany(ins, ((s + i + 1, r.tobytes(), int(labels[s + i]))
                                  for i, r in enumerate(rows)))
        else:
            con.executemany(ins, ((s + i + 1, r.tobytes())
                                  for i, r in enumerate(rows)))
    con.execute("COMMIT")
    res["build_commit_s"] = common.now() - t0
    con.close()
    res["build_s"] = common.now() - t0
    res["file_bytes"] = common.file_bytes(*a.files(args.db))

    passes = ([] if a.filter_only else
              [(ef, None) for ef in (args.ef if a.ann else [None])])
    passes += [(args.filter_ef if a.ann else None, lt) for lt in args.filters]
    res["pragmas"] = PRAGMAS
    if args.driver:
        # The timed passes from C (knn_driver, a process of its own, with no
        # other connection open: vectorlite's index file is written at
        # close); Python's own pass below is the "from Python" figure.
        res["passes"] = drive(a, args, passes)
        py_ids = args.out + ".py.ids"
        passes = [] if a.filter_only else [(args.py_ef if a.ann else None, None)]
        py_blobs = blobs if a.ann else blobs[:PY_EXACT_NQ]
    else:
        py_ids = args.out + ".ids"
        py_blobs = blobs

    con = connect(args.db, a.ext)
    # The cost of a trivial statement through the same Python path: what
    # the SQL engines pay per query on top of the native ones.
    t0 = common.now()
    for b in blobs:
        con.execute("SELECT length(?)", (b,)).fetchall()
    res["python_overhead_us"] = (common.now() - t0) / len(blobs) * 1e6

    warm_up(con, a, args, blobs)
    timed = []
    with open(py_ids, "wb") as f:
        for ef, lt in passes:
            sql, extra = a.query(k, ef, lt)
            ids = np.full((len(py_blobs), k), -1, dtype="<i8")
            t0 = common.now()
            for i, b in enumerate(py_blobs):
                rows = con.execute(sql, [b] + extra).fetchall()
                ids[i, :len(rows)] = [r[0] - 1 for r in rows[:k]]
            secs = common.now() - t0
            ids.tofile(f)
            timed.append({"ef": ef, "filter_lt": lt, "nq": len(py_blobs),
                          "seconds": secs})
            print("  %s ef=%s lt=%s: %.1f QPS from Python" % (
                a.name, ef, lt, len(py_blobs) / secs), file=sys.stderr)
    res["python_passes" if args.driver else "passes"] = timed

    if not args.insert_later:
        res.update(time_inserts(con, a, args))
    con.close()
    res["rss_peak_kb"] = common.peak_rss_kb()
    common.write_json(args.out + ".json", res)


def warm_up(con, a, args, blobs):
    """Untimed, so that what follows measures the steady state (cold caches
    and lazy loading are what the reopen figures measure): HNSW engines run
    every query once at the largest ef, which touches all the index the
    timed passes will; exact engines run WARMUP queries."""
    if a.ann:
        sql, extra = a.query(args.k, max(args.ef), None)
        warm = blobs
    else:
        sql, extra = a.query(args.k, None, args.filters[0] if a.filter_only else None)
        warm = blobs[:WARMUP]
    for b in warm:
        con.execute(sql, [b] + extra).fetchall()


def time_inserts(con, a, args):
    """Single-row INSERTs of the extra rows (rowids after the base), each in
    autocommit mode, timed one by one."""
    extra_rows = common.read_rows(args.extra, args.dim, 0, args.nextra)
    ins = a.insert_sql(bool(args.filters))
    times = []
    for i, r in enumerate(extra_rows):
        params = (args.n + i + 1, r.tobytes()) + ((0,) if args.filters else ())
        t0 = common.now()
        con.execute(ins, params)
        times.append((common.now() - t0) * 1e3)
    out = {"insert_ms": times}
    if times:
        out["insert_median_ms"] = statistics.median(times)
    return out


def insert(a, args):
    """build --insert-later's inserts, in a process of their own after the
    warm-up the build's connection had (run.py's rounds run before them, on
    the base rows alone)."""
    blobs = [q.tobytes() for q in common.read_rows(args.queries, args.dim, 0, args.nq)]
    con = connect(args.db, a.ext)
    warm_up(con, a, args, blobs)
    res = time_inserts(con, a, args)
    con.close()
    common.write_json(args.out + ".json", res)


def drive(a, args, passes):
    """Run the passes from C: knn_driver once for the plain passes and once
    for the filtered ones (their statements differ), its ids appended to
    PREFIX.ids in the order of the passes."""
    out = []
    with open(args.out + ".ids", "wb") as ids:
        for filtered in (False, True):
            mine = [p for p in passes if (p[1] is not None) == filtered]
            if not mine:
                continue
            prefix = args.out + (".cf" if filtered else ".c")
            cmd = [args.driver, "--ext", a.ext, "--db", args.db,
                   "--queries", args.queries, "--dim", str(args.dim),
                   "--nq", str(args.nq), "--k", str(args.k),
                   "--sql", a.driver_sql(filtered), "--out", prefix]
            if filtered:
                cmd += ["--ef", "", "--lt", ",".join(str(lt) for _, lt in mine),
                        "--filter-ef", str(mine[0][0] or 0),
                        "--warm", str(min(WARMUP, args.nq))]
            else:
                cmd += ["--ef", ",".join(str(ef or 0) for ef, _ in mine)]
                if not a.ann:
                    cmd += ["--warm", str(min(WARMUP, args.nq))]
            cmd += ["--journal", "wal"]  # as PRAGMAS; synchronous is moot for reads
            subprocess.run(cmd, check=True)
            got = common.read_json(prefix + ".json")["passes"]
            for p in got:
                if not a.ann:
                    p["ef"] = None
                print("  %s ef=%s lt=%s: %.1f QPS from C" % (
                    a.name, p["ef"], p["filter_lt"], p["nq"] / p["seconds"]),
                    file=sys.stderr)
            with open(prefix + ".ids", "rb") as f:
                ids.write(f.read())
            out += got
    return out


def reopen(a, args):
    q = common.read_rows(args.queries, args.dim, 0, 1)[0].tobytes()
    sql, extra = a.query(args.k, args.ef[0] if a.ann else None, None)
    rss0 = common.rss_kb()
    t0 = common.now()
    con = sqlite3.connect(args.db, isolation_level=None)
    t1 = common.now()
    con.enable_load_extension(True)
    con.load_extension(a.ext)
    t2 = common.now()
    con.execute(sql, [q] + extra).fetchall()
    t3 = common.now()
    con.execute(sql, [q] + extra).fetchall()
    t4 = common.now()
    con.close()
    common.write_json(args.out + ".json", {
        "total_ms": (t3 - t0) * 1e3, "open_ms": (t1 - t0) * 1e3,
        "load_ms": (t2 - t1) * 1e3, "query_ms": (t3 - t2) * 1e3,
        "second_query_ms": (t4 - t3) * 1e3, "rss_base_kb": rss0,
        "rss_kb": common.peak_rss_kb()})


def delete_half(a, args):
    blobs = [q.tobytes() for q in
             common.read_rows(args.queries, args.dim, 0, args.nq)]
    sql, extra = a.query(args.k, None, None)
    con = connect(args.db, a.ext)
    t0 = common.now()
    con.execute("BEGIN")
    con.execute("DELETE FROM t WHERE rowid %% 2 = 0 OR rowid > %d" % args.n)
    con.execute("COMMIT")
    res = {"delete_s": common.now() - t0,
           "rows_left": con.execute("SELECT count(*) FROM t").fetchone()[0]}
    for b in blobs[:WARMUP]:
        con.execute(sql, [b] + extra).fetchall()
    ids = np.full((len(blobs), args.k), -1, dtype="<i8")
    t0 = common.now()
    for i, b in enumerate(blobs):
        rows = con.execute(sql, [b] + extra).fetchall()
        ids[i, :len(rows)] = [r[0] - 1 for r in rows[:args.k]]
    res.update({"nq": len(blobs), "seconds": common.now() - t0})
    con.close()
    ids.tofile(args.out + ".ids")
    common.write_json(args.out + ".json", res)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("mode", choices=["build", "insert", "reopen", "delete-half"])
    p.add_argument("--engine", required=True, choices=sorted(ADAPTERS))
    p.add_argument("--db", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--dim", type=int, required=True)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--base")
    p.add_argument("--n", type=int)
    p.add_argument("--queries", required=True)
    p.add_argument("--nq", type=int, default=1)
    p.add_argument("--extra")
    p.add_argument("--nextra", type=int, default=0)
    p.add_argument("--ef", type=lambda s: [int(x) for x in s.split(",")],
                   default=[64])
    p.add_argument("--labels")
    p.add_argument("--filters", type=lambda s: [int(x) for x in s.split(",")
                                                if x], default=[])
    p.add_argument("--filter-ef", type=int, default=64)
    p.add_argument("--metric", help="vec0 tables: distance_metric= of the column")
    p.add_argument("--driver", help="build: knn_driver, which then runs the "
                   "timed passes from C; Python runs one pass (--py-ef)")
    p.add_argument("--py-ef", type=int, default=16)
    p.add_argument("--insert-later", action="store_true", help="build: leave the "
                   "timed INSERTs (room for --nextra rows is still made) to the "
                   "insert mode")
    args = p.parse_args()
    a = ADAPTERS[args.engine]
    if args.metric and isinstance(a, Vec0Flat):
        a.metric = args.metric
    if args.filters and not a.filters:
        args.filters = []
    {"build": build, "insert": insert, "reopen": reopen,
     "delete-half": delete_half}[args.mode](a, args)


if __name__ == "__main__":
    main()
