"""datasets.py: prepares the benchmark data sets and their ground truth.

Everything lands under bench/data/<name>/ (ignored by git) and is made once:
  base.f32, queries.f32   raw float32 rows (see common.py), meta.json
  extra.f32               rows for the single-row insert test (not in base)
  labels.i32              int32 label per base row in [0, 1000), fixed seed,
                          so `label < 500/100/10/1` selects 50/10/1/0.1 %
  gt_n<N>_q<Q>[_lt<L>].ids/.dist   exact top 100 (int64 ids, float64 squared
                          L2) of the first Q queries over the first N rows

fashion-mnist-784-euclidean comes from Debian's dataset-fashion-mnist (idx3
files, uint8 pixels kept as float32 0..255, as ann-benchmarks does).
clustered-1m-128 is generated: 1 000 000 rows around 1000 Gaussian centres,
seed 20240601.  text-like-50k-768 is generated to behave like text
embeddings (seed 20261202): 50 000 unit vectors of 768 dimensions, each a
mix of 300 latent directions with a decaying spectrum (weight of direction i
proportional to (i + 1)^-0.6) plus isotropic noise, normalised; compared by
cosine (the ground truth's L2 on unit vectors orders rows the same way).
50 000 rows by default, to keep its builds short on a 2-core machine;
prepare("text", n=200000) makes text-like-200k-768, issue 15's size, with
the same seed and definition (its first 50 000 base rows are the 50k set's;
its queries and extra rows, drawn after the base, differ).

The ground truth is computed by brute_bench --exact (double sums) because
Debian's numpy uses the reference BLAS; a sample is checked with numpy.
"""

import glob
import re
import gzip
import os
import subprocess
import sys

import numpy as np

import common

FASHION_DIR = "/usr/share/datasets/fashion-mnist"
GT_K = 100
LABEL_SEED = 7
SCALE_SEED = 20240601
TEXT_SEED = 20261202


def _idx3(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic, count, rows, cols = np.frombuffer(raw[:16], dtype=">u4")
    if magic != 2051:
        raise ValueError("%s: not an idx3-ubyte file" % path)
    return np.frombuffer(raw[16:], dtype=np.uint8).reshape(
        count, rows * cols).astype("<f4")


def _write(path, a):
    tmp = path + ".tmp"
    np.ascontiguousarray(a).tofile(tmp)
    os.replace(tmp, path)


def _labels(d, n):
    rng = np.random.default_rng(LABEL_SEED)
    _write(os.path.join(d, "labels.i32"),
           rng.integers(0, 1000, size=n).astype("<i4"))


def prepare_fashion():
    d = os.path.join(common.DATA, "fashion-mnist-784-euclidean")
    if os.path.exists(os.path.join(d, "meta.json")):
        return d
    os.makedirs(d, exist_ok=True)
    base = _idx3(os.path.join(FASHION_DIR, "train-images-idx3-ubyte.gz"))
    test = _idx3(os.path.join(FASHION_DIR, "t10k-images-idx3-ubyte.gz"))
    _write(os.path.join(d, "base.f32"), base)
    _write(os.path.join(d, "queries.f32"), test)
    # Inserted rows are test images read backwards: not in base and, being
    # inserted after the query passes, they cannot disturb the recall.
    _write(os.path.join(d, "extra.f32"), test[::-1][:1000])
    _labels(d, len(base))
    common.write_json(os.path.join(d, "meta.json"), {
        "name": "fashion-mnist-784-euclidean", "dim": int(base.shape[1]),
        "n": len(base), "nq": len(test), "nextra": 1000,
        "exact_ints": True})
    return d


def prepare_scale(n=1000000, dim=128, nq=10000, centres=1000):
    d = os.path.join(common.DATA, "clustered-1m-128")
    if os.path.exists(os.path.join(d, "meta.json")):
        return d
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(SCALE_SEED)
    c = rng.normal(0.0, 1.0, size=(centres, dim)).astype("<f4")
    spread = rng.uniform(0.05, 0.3, size=centres).astype("<f4")

    def draw(count):
        pick = rng.integers(0, centres, size=count)
        noise = rng.normal(0.0, 1.0, size=(count, dim)).astype("<f4")
        return c[pick] + noise * spread[pick, None]

    with open(os.path.join(d, "base.f32.tmp"), "wb") as f:
        for s in range(0, n, 100000):
            draw(min(100000, n - s)).tofile(f)
    os.replace(os.path.join(d, "base.f32.tmp"), os.path.join(d, "base.f32"))
    _write(os.path.join(d, "queries.f32"), draw(nq))
    _write(os.path.join(d, "extra.f32"), draw(1000))
    _labels(d, n)
    common.write_json(os.path.join(d, "meta.json"), {
        "name": "clustered-1m-128", "dim": dim, "n": n, "nq": nq,
        "nextra": 1000, "exact_ints": False})
    return d


def prepare_text(n=50000, dim=768, nq=10000, latent=300):
    d = os.path.join(common.DATA, "text-like-%dk-%d" % (n // 1000, dim))
    if os.path.exists(os.path.join(d, "meta.json")):
        return d
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(TEXT_SEED)
    basis = rng.normal(0.0, 1.0, size=(latent, dim)) / np.sqrt(dim)
    weight = (np.arange(latent) + 1.0) ** -0.6
    # a common offset, as real embeddings share a mean direction
    mean = rng.normal(0.0, 1.0, size=dim) / np.sqrt(dim) * 0.8

    def draw(count):
        z = rng.normal(0.0, 1.0, size=(count, latent)) * weight
        x = z @ basis + mean + rng.normal(0.0, 0.35 / np.sqrt(dim), size=(count, dim))
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        return x.astype("<f4")

    # written block by block: the same draws as one concatenation, without
    # holding the whole base (614 MB at 200k rows) in memory
    with open(os.path.join(d, "base.f32.tmp"), "wb") as f:
        for s in range(0, n, 10000):
            draw(min(10000, n - s)).tofile(f)
    os.replace(os.path.join(d, "base.f32.tmp"), os.path.join(d, "base.f32"))
    _write(os.path.join(d, "queries.f32"), draw(nq))
    _write(os.path.join(d, "extra.f32"), draw(1000))
    _labels(d, n)
    common.write_json(os.path.join(d, "meta.json"), {
        "name": "text-like-%dk-%d" % (n // 1000, dim), "dim": dim, "n": n, "nq": nq,
        "nextra": 1000, "exact_ints": False, "metric": "cosine"})
    return d


def prepare(name, n=None):
    """n: the text-like set's row count (default 50 000); the other sets
    have one size."""
    if n is not None and name != "text":
        raise ValueError("data set %r has a fixed size" % name)
    if name == "fashion":
        return prepare_fashion()
    if name == "text":
        return prepare_text() if n is None else prepare_text(n=n)
    if name == "scale":
        return prepare_scale()
    raise ValueError("unknown data set %r" % name)


def _gt_prefix(d, n, nq, lt):
    return os.path.join(d, "gt_n%d_q%d%s" % (n, nq, "" if lt is None
                                              else "_lt%d" % lt))


def ground_truth(d, n, nq, lt=None):
    """(ids, dist) arrays of shape (nq, 100), made and cached on first use.
    A cached file with more queries serves fewer."""
    meta = common.load_meta(d)
    pat = _gt_prefix(d, n, 0, lt).replace("_q0", "_q*") + ".ids"
    want = re.compile(re.escape(_gt_prefix(d, n, 0, lt)).replace("_q0", r"_q(\d+)")
                      + r"\.ids$")
    for path in glob.glob(pat):
        # q* alone would also match the files of a filter (gt_n.._q.._lt10)
        m = want.match(path)
        if not m:
            continue
        have = int(m.group(1))
        if have >= nq and os.path.exists(path[:-4] + ".dist"):
            ids = np.fromfile(path, dtype="<i8").reshape(have, GT_K)[:nq]
            dist = np.fromfile(path[:-4] + ".dist",
                               dtype="<f8").reshape(have, GT_K)[:nq]
            return ids, dist
    prefix = _gt_prefix(d, n, nq, lt)
    cmd = [os.path.join(common.BENCH, "brute_bench"), "--exact",
           "--base", os.path.join(d, "base.f32"), "--n", str(n),
           "--dim", str(meta["dim"]),
           "--queries", os.path.join(d, "queries.f32"), "--nq", str(nq),
           "--k", str(GT_K), "--out", prefix + ".tmp"]
    if lt is not None:
        cmd += ["--labels", os.path.join(d, "labels.i32"),
                "--filters", str(lt), "--no-plain"]
    print("ground truth: n=%d queries=%d%s ..." % (
        n, nq, "" if lt is None else " label<%d" % lt), file=sys.stderr)
    subprocess.run(cmd, check=True)
    ids = np.fromfile(prefix + ".tmp.ids", dtype="<i8").reshape(-1, GT_K)
    dist = np.fromfile(prefix + ".tmp.dist", dtype="<f8").reshape(-1, GT_K)
    check_sample(d, n, ids, dist, lt)
    ids.tofile(prefix + ".ids")
    dist.tofile(prefix + ".dist")
    for ext in (".ids", ".dist", ".json"):
        common.remove_files(prefix + ".tmp" + ext)
    return ids, dist


def check_sample(d, n, ids, dist, lt, count=20):
    """Recompute some queries with numpy in float64 and insist on the same
    distances (ids may differ only between equal distances)."""
    meta = common.load_meta(d)
    base = common.read_rows(os.path.join(d, "base.f32"), meta["dim"], 0, n)
    keep = np.arange(n)
    if lt is not None:
        lab = np.fromfile(os.path.join(d, "labels.i32"), dtype="<i4")[:n]
        keep = np.nonzero(lab < lt)[0]
    rng = np.random.default_rng(1)
    picks = rng.choice(len(ids), size=min(count, len(ids)), replace=False)
    qs = np.stack([common.read_rows(os.path.join(d, "queries.f32"), meta["dim"],
                                    int(q), 1)[0] for q in picks]).astype(np.float64)
    # float64 distances of the sampled queries, 20 000 rows at a time (the
    # whole base in float64 would be 1.2 GB at 200k x 768)
    dists = np.empty((len(picks), len(keep)))
    for s in range(0, len(keep), 20000):
        sub = base[keep[s:s + 20000]].astype(np.float64)
        for i, qv in enumerate(qs):
            dists[i, s:s + 20000] = ((sub - qv) ** 2).sum(axis=1)
    for q, dd in zip(picks, dists):
        m = min(GT_K, len(keep))
        want = np.sort(dd)[:m]
        if not np.allclose(want, dist[q][:m], rtol=1e-9, atol=1e-9):
            raise RuntimeError("ground truth disagrees with numpy at query %d"
                               % q)
