"""common.py: what every benchmark process shares.

Paths, the on-disk layout of prepared data sets (raw little-endian float32
rows, row-major, no header, plus a meta.json), the per-process measurements
(peak RSS, timers) and the result protocol between the orchestrator (run.py)
and one engine process: PREFIX.json with the figures and PREFIX.ids with the
returned ids (int64, -1 for a missing row, 0-based row numbers of the base
file, nq * k per query pass, passes in the order listed in the JSON).

Only the standard library and numpy.
"""

import json
import os
import time

import numpy as np

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
DATA = os.path.join(BENCH, "data")
OUT = os.path.join(BENCH, "out")
RESULTS = os.path.join(BENCH, "results")
PEERS = os.path.join(BENCH, "peers", "node_modules")
# The engines of the 1M x 128 scale run (run.py --dataset scale).
SCALE_ENGINES = ["hnswlib", "vec0-hnsw"]

SQLITE_VEC = os.path.join(PEERS, "sqlite-vec-linux-x64", "vec0")
VECTORLITE = os.path.join(PEERS, "@1yefuwang1", "vectorlite-linux-x64",
                          "src", "vectorlite")
VEC0 = os.environ.get("VEC0_EXT", os.path.join(ROOT, "dist", "vec0"))


def now():
    return time.perf_counter()


def simd():
    """The CPU's SIMD levels that decide vec0's and hnswlib's kernels, from
    /proc/cpuinfo: recorded with every result."""
    flags = set()
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    return [x for x in ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_vpopcntdq")
            if x in flags]


def proc_status_kb(field):
    """A VmXXX figure of this process from /proc/self/status, in KiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


def rss_kb():
    return proc_status_kb("VmRSS")


def peak_rss_kb():
    return proc_status_kb("VmHWM")


def read_rows(path, dim, start, count):
    """Rows [start, start + count) of a raw float32 file, as an array."""
    with open(path, "rb") as f:
        f.seek(start * dim * 4)
        a = np.fromfile(f, dtype="<f4", count=count * dim)
    if a.size != count * dim:
        raise ValueError("%s: short read at row %d" % (path, start))
    return a.reshape(count, dim)


def iter_rows(path, dim, n, chunk=1024):
    """Yield (first_row, array) chunks of the first n rows without holding
    the whole file, so the engine process's peak RSS is the engine's."""
    for s in range(0, n, chunk):
        yield s, read_rows(path, dim, s, min(chunk, n - s))


def load_meta(ds_dir):
    with open(os.path.join(ds_dir, "meta.json")) as f:
        return json.load(f)


def write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def read_json(path):
    with open(path) as f:
        return json.load(f)


def file_bytes(*paths):
    """Total size of the files that exist among paths (a database, its
    -wal, a side index file...)."""
    return sum(os.path.getsize(p) for p in paths if os.path.exists(p))


def remove_files(*paths):
    for p in paths:
        if os.path.exists(p):
            os.remove(p)
