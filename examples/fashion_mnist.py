#!/usr/bin/python3
"""Index fashion-mnist in a vec0 table and search it, from Python.

Reads the images of Debian's dataset-fashion-mnist (60 000 train and 10 000
test images of 28x28 grey pixels, 784 dimensions), stores the first --n train
images with their label in a vec0 table (the default HNSW index), runs the
first --queries test images as KNN queries, with and without a filter on the
label, and prints recall@k against the exact answer computed with numpy.

    python3 examples/fashion_mnist.py --n 10000 --queries 200

It needs the vec0 Python package (bindings/python; `make wheel` builds it)
and numpy.  From a source checkout without installing anything:

    VEC0_EXT=dist/vec0 PYTHONPATH=bindings/python python3 examples/fashion_mnist.py
"""

import argparse
import gzip
import os
import sqlite3
import struct
import sys
import time

import numpy as np

import vec0

DATA = "/usr/share/datasets/fashion-mnist"


def read_idx(path, count):
    """The first count items of an IDX file of unsigned bytes: a big-endian
    header (magic 0x08 << 8 | number of dimensions, then each dimension),
    then the bytes."""
    with gzip.open(path, "rb") as f:
        magic, = struct.unpack(">I", f.read(4))
        if magic >> 8 != 0x08:
            raise ValueError("%s: not an IDX file of unsigned bytes" % path)
        shape = struct.unpack(">%dI" % (magic & 0xFF), f.read(4 * (magic & 0xFF)))
        count = min(count, shape[0])
        size = int(np.prod(shape[1:]))
        data = np.frombuffer(f.read(count * size), dtype=np.uint8)
    return data.reshape((count,) + shape[1:])


def load(data_dir, name, count):
    """(vectors as float32 rows, labels) of the first count images."""
    images = read_idx(os.path.join(data_dir, "%s-images-idx3-ubyte.gz" % name), count)
    labels = read_idx(os.path.join(data_dir, "%s-labels-idx1-ubyte.gz" % name), count)
    return images.reshape(len(images), -1).astype(np.float32), labels.astype(np.int64)


def exact_knn(base, queries, k, mask=None):
    """Row numbers of the k nearest base rows (L2) of each query; mask[i]
    says which rows query i may return.  In float64, where |b|^2 - 2 b.q is
    exact for pixel vectors, so near-ties are ranked right."""
    base = base.astype(np.float64)
    sq = (base * base).sum(axis=1)
    out = []
    for start in range(0, len(queries), 100):
        block = queries[start:start + 100].astype(np.float64)
        d = sq[:, None] - 2 * (base @ block.T)  # the order of |b - q|^2
        if mask is not None:
            d = np.where(mask[start:start + 100].T, d, np.inf)
        out += [np.argsort(col, kind="stable")[:k] for col in d.T]
    return out


def recall(found, exact, k):
    return sum(len(set(f) & set(e[:k])) for f, e in zip(found, exact)) / (k * len(found))


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=60000, help="train images to index")
    ap.add_argument("--queries", type=int, default=1000, help="test images to search")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--ef", default=None,
                    help="search breadth, or a list such as 16,32,64 (default: the index's)")
    ap.add_argument("--m", type=int, default=16, help="hnsw links per node")
    ap.add_argument("--ef-construction", type=int, default=200, help="hnsw build breadth")
    ap.add_argument("--flat", action="store_true", help="no index: exact scans")
    ap.add_argument("--db", default=":memory:", help="database file (default: in memory)")
    ap.add_argument("--data", default=DATA, help="directory of the *-idx?-ubyte.gz files")
    args = ap.parse_args(argv)

    base, base_labels = load(args.data, "train", args.n)
    queries, query_labels = load(args.data, "t10k", args.queries)
    print("fashion-mnist: %d vectors of %d dimensions, %d queries, k=%d"
          % (len(base), base.shape[1], len(queries), args.k))

    conn = vec0.connect(args.db, isolation_level=None)
    conn.execute("DROP TABLE IF EXISTS fmnist")
    index = "flat()" if args.flat else "hnsw(m=%d, ef_construction=%d)" % (
        args.m, args.ef_construction)
    conn.execute("CREATE VIRTUAL TABLE fmnist USING vec0("
                 "embedding float[%d] indexed by %s, label integer)" % (base.shape[1], index))
    t = time.perf_counter()
    conn.execute("BEGIN")
    # numpy rows bind as float32 vectors, numpy integers as integers
    conn.executemany("INSERT INTO fmnist(rowid, embedding, label) VALUES (?, ?, ?)",
                     zip(range(len(base)), base, base_labels))
    conn.execute("COMMIT")
    print("indexed by %s in %.2f s" % (index, time.perf_counter() - t))

    efs = [int(e) for e in args.ef.split(",")] if args.ef else [None]
    exact_all = exact_knn(base, queries, args.k)
    for ef, filtered in [(ef, False) for ef in efs] + [(efs[-1], True)]:
        sql = "SELECT rowid FROM fmnist WHERE embedding MATCH ? AND k = ?"
        sql += (" AND ef = %d" % ef if ef else "") + (" AND label = ?" if filtered else "")
        found = []
        t = time.perf_counter()
        for q, label in zip(queries, query_labels):
            params = [q, args.k] + ([label] if filtered else [])
            found.append([r for r, in conn.execute(sql, params)])
        ms = (time.perf_counter() - t) * 1000 / len(queries)
        if filtered:
            exact = exact_knn(base, queries, args.k, base_labels[None, :] == query_labels[:, None])
        else:
            exact = exact_all
        print("recall@%d%s%s: %.3f (%.2f ms per query)"
              % (args.k, " at ef=%d" % ef if ef else "",
                 " with label filter" if filtered else "",
                 recall(found, exact, args.k), ms))
    conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
