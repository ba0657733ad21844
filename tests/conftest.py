"""Shared fixtures of the Python integration tests.

The tests run under Debian's /usr/bin/python3 (its sqlite3 module can load
extensions) and find the extension through VEC0_EXT, which `make test-py`
sets to dist/vec0 (no suffix); by default the same path from the repo root.
"""

import os
import random
import sqlite3
import struct

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXT = os.environ.get("VEC0_EXT", os.path.join(ROOT, "dist", "vec0"))


def connect(path, **kw):
    """A connection with the extension loaded, in autocommit mode."""
    con = sqlite3.connect(path, isolation_level=None, **kw)
    con.enable_load_extension(True)
    con.load_extension(EXT)
    con.enable_load_extension(False)
    return con


def f32(v):
    """A float32 vector BLOB."""
    return struct.pack("<%df" % len(v), *v)


def rand_vectors(n, dim, seed):
    rng = random.Random(seed)
    return [[rng.uniform(-1, 1) for _ in range(dim)] for _ in range(n)]


def l2(a, b):
    """Euclidean distance as float32 inputs give it (float64 sums)."""
    a = struct.unpack("<%df" % len(a), f32(a))
    b = struct.unpack("<%df" % len(b), f32(b))
    return sum((x - y) ** 2 for x, y in zip(a, b)) ** 0.5


def brute_knn(rows, q, k, dist=l2):
    """[(rowid, distance)] of the k nearest of rows {rowid: vector}."""
    scored = sorted((dist(v, q), rid) for rid, v in rows.items())
    return [(rid, d) for d, rid in scored[:k]]


def knn(con, table, q, k, extra="", params=()):
    sql = ("SELECT rowid, distance FROM %s WHERE embedding MATCH ? AND k = ? %s "
           "ORDER BY distance" % (table, extra))
    return con.execute(sql, (f32(q), k) + tuple(params)).fetchall()


def integrity(con, table):
    con.execute("INSERT INTO %s(%s) VALUES ('integrity-check')" % (table, table))


def on_fresh_connection(path, fn, *args):
    """fn(con, *args) on a connection opened afresh on path, closed after:
    what a connection that has cached nothing yet answers."""
    con = connect(path)
    try:
        return fn(con, *args)
    finally:
        con.close()


@pytest.fixture
def dbpath(tmp_path):
    return str(tmp_path / "test.db")


# Tests marked heavy measure recall or crash-survival at a scale that takes a
# sanitized build minutes, through the same C paths as smaller tests: they run
# in test-py and are skipped in test-san's Python pass (VEC0_SANITIZE set),
# which keeps `make test` inside its time budget (tests/RELIABILITY.md).
def pytest_configure(config):
    config.addinivalue_line("markers", "heavy: recall or crash-survival at scale; "
                            "not run under sanitizers")


def pytest_collection_modifyitems(config, items):
    if not os.environ.get("VEC0_SANITIZE"):
        return
    skip = pytest.mark.skip(reason="heavy: run by test-py, not under sanitizers")
    for item in items:
        if "heavy" in item.keywords:
            item.add_marker(skip)
