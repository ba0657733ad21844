"""The Python package in bindings/python, imported from the source tree:
finding and loading the extension, vectors to BLOBs and back (no copies where
the layouts agree), and the sqlite3 adapters for numpy values."""

import os
import shutil
import sqlite3
import struct
import sys

import numpy as np
import pytest

from support import DIST, EXT, PYTHON, ROOT, run

PKG_DIR = os.path.join(ROOT, "bindings", "python")
sys.path.insert(0, PKG_DIR)
import vec0  # noqa: E402


@pytest.fixture
def conn(monkeypatch):
    monkeypatch.setenv("VEC0_EXT", EXT)
    c = vec0.connect(":memory:", isolation_level=None)
    yield c
    c.close()


# --- finding and loading ----------------------------------------------------

def test_source_tree_has_no_bundled_module():
    # otherwise the tests below would not be testing VEC0_EXT
    assert not any(os.path.exists(os.path.join(PKG_DIR, "vec0", "vec0" + s))
                   for s in (".so", ".dylib", ".dll"))


def test_load_finds_the_extension_through_vec0_ext(monkeypatch):
    monkeypatch.setenv("VEC0_EXT", EXT)
    assert vec0.loadable_path() == EXT
    c = sqlite3.connect(":memory:")
    assert vec0.load(c) is c
    assert c.execute("SELECT vec_version()").fetchone()[0] == "v" + vec0.__version__
    # loading more extensions from SQL stays disabled
    with pytest.raises(sqlite3.OperationalError, match="not authorized"):
        c.execute("SELECT load_extension(?)", [EXT])


def test_load_with_an_explicit_path(monkeypatch):
    monkeypatch.delenv("VEC0_EXT", raising=False)
    c = vec0.load(sqlite3.connect(":memory:"), path=EXT)
    assert c.execute("SELECT vec_length('[1,2,3]')").fetchone() == (3,)


def test_without_extension_the_error_says_what_to_do(monkeypatch):
    monkeypatch.delenv("VEC0_EXT", raising=False)
    with pytest.raises(FileNotFoundError, match="VEC0_EXT is not set"):
        vec0.load(sqlite3.connect(":memory:"))


def test_load_explains_a_python_that_cannot_load_extensions():
    class NoExtensions:  # what sqlite3.connect() returns in such builds
        def execute(self, sql):
            pass
    with pytest.raises(RuntimeError, match="cannot load extensions") as e:
        vec0.load(NoExtensions(), path=EXT)
    # which interpreter ran, for a user with several Pythons on PATH
    assert "the sqlite3 module of %s (Python %s)" % (sys.executable, sys.version.split()[0]) \
        in str(e.value)


def test_load_reports_a_missing_file():
    with pytest.raises(sqlite3.OperationalError):
        vec0.load(sqlite3.connect(":memory:"), path="/nonexistent/vec0")


def test_bundled_module_comes_before_vec0_ext(tmp_path):
    """A package with vec0.so inside (what the wheel installs) loads it even
    when VEC0_EXT names something else."""
    shutil.copytree(os.path.join(PKG_DIR, "vec0"), str(tmp_path / "vec0"),
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copyfile(os.path.join(DIST, "vec0.so"), str(tmp_path / "vec0" / "vec0.so"))
    script = ("import sqlite3, vec0\n"
              "print(vec0.loadable_path())\n"
              "c = vec0.load(sqlite3.connect(':memory:'))\n"
              "print(c.execute('SELECT vec_length(?)', [vec0.serialize_f32([1, 2])]).fetchone()[0])\n")
    env = dict(os.environ, PYTHONPATH=str(tmp_path), VEC0_EXT="/nonexistent/vec0")
    out = run([PYTHON, "-c", script], env=env, cwd=str(tmp_path)).stdout
    assert out == "%s\n2\n" % (tmp_path / "vec0" / "vec0.so")


# --- vectors to BLOBs and back ------------------------------------------------

def test_f32_from_lists_and_arrays_matches_sql(conn):
    v = [1.0, -2.5, 0.125]
    blob = struct.pack("<3f", *v)
    assert vec0.serialize_f32(v) == blob
    assert vec0.serialize_f32((1, -2.5, 0.125)) == blob
    assert bytes(vec0.serialize_f32(np.array(v, dtype=np.float32))) == blob
    assert bytes(vec0.serialize_f32(np.array(v))) == blob              # float64
    assert bytes(vec0.serialize_f32(np.array(v, dtype=">f4"))) == blob  # big-endian
    assert bytes(vec0.serialize_f32(np.array([9, 1.0, 9, -2.5, 9, 0.125])[1::2])) == blob
    assert conn.execute("SELECT vec_f32('[1, -2.5, 0.125]') = ?", [blob]).fetchone() == (1,)
    assert list(vec0.deserialize_f32(blob)) == v


def test_f32_without_copies():
    a = np.array([1, 2, 3], dtype=np.float32)
    view = vec0.serialize_f32(a)
    assert isinstance(view, memoryview) and view.obj is a and len(view) == 12
    a[0] = 7
    assert bytes(view[:4]) == struct.pack("<f", 7)
    blob = struct.pack("<2f", 0.5, 4)
    out = vec0.deserialize_f32(blob)
    assert out.dtype == np.float32 and not out.flags.owndata and out.base is blob
    assert not out.flags.writeable
    assert out.tolist() == [0.5, 4.0]


def test_int8_round_trip(conn):
    blob = vec0.serialize_int8([1, -128, 127])
    assert blob == b"\x01\x80\x7f"
    assert conn.execute("SELECT vec_to_json(vec_int8(?))", [blob]).fetchone() == ("[1,-128,127]",)
    a = np.array([1, -128, 127], dtype=np.int8)
    view = vec0.serialize_int8(a)
    assert view.obj is a and bytes(view) == blob
    assert bytes(vec0.serialize_int8(np.array([1, -128, 127]))) == blob  # int64 in range
    out = vec0.deserialize_int8(blob)
    assert out.dtype == np.int8 and out.base is blob and out.tolist() == [1, -128, 127]


def test_bit_order_is_vec0s(conn):
    bits = [1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]
    blob = vec0.serialize_bit(bits)
    # the same bits as vec_quantize_binary() of +1/-1 floats
    floats = "[%s]" % ",".join("1" if b else "-1" for b in bits)
    assert conn.execute("SELECT vec_quantize_binary(?) = ?", [floats, blob]).fetchone() == (1,)
    assert blob == b"\x0d\x80"
    assert bytes(vec0.serialize_bit(np.array(bits, dtype=bool))) == blob
    assert vec0.deserialize_bit(blob).tolist() == [bool(b) for b in bits]
    assert conn.execute("SELECT vec_to_json(vec_bit(?))", [blob]).fetchone()[0] == \
        "[%s]" % ",".join(map(str, bits))


def test_bit_truth_values():
    """Any truth values, as Python has them: '' and None are 0 (with numpy
    these used to be compared with 0 as an array: one byte for any input,
    or None as 1)."""
    assert vec0.serialize_bit(["", "x", "", "", "", "", "", ""]) == b"\x02"
    assert vec0.serialize_bit(["x"] * 16) == b"\xff\xff"
    assert vec0.serialize_bit([None] * 8) == b"\x00"
    assert vec0.serialize_bit([False, None, 0, "", 0.0, 0, 0, 1]) == b"\x80"
    assert vec0.serialize_bit(np.array([None, 1, 0, 0, 0, 0, 0, 0], dtype=object)) == b"\x02"
    assert vec0.serialize_bit(np.array([0.5, 0, 0, 0, 0, 0, 0, -1])) == b"\x81"
    assert vec0.serialize_bit(b for b in [1] * 8) == b"\xff"
    assert vec0.serialize_f32(x for x in [1, 2]) == struct.pack("<2f", 1, 2)


@pytest.mark.parametrize("call, error, message", [
    (lambda: vec0.serialize_f32([]), ValueError, "at least one element"),
    (lambda: vec0.serialize_f32(np.zeros((2, 2))), ValueError, "shape \\(2, 2\\)"),
    (lambda: vec0.serialize_f32(np.array(["a"])), TypeError, "dtype <U1"),
    (lambda: vec0.serialize_f32(["x"]), TypeError, "element 0 of a float32 vector is 'x'"),
    (lambda: vec0.serialize_f32([1, None]), TypeError, "element 1 .* is None, not a number"),
    (lambda: vec0.serialize_f32(b"\0\0\0\0"), TypeError, "of bytes: pass a sequence"),
    (lambda: vec0.serialize_f32([1, float("nan")]), ValueError, "element 1 is nan"),
    (lambda: vec0.serialize_f32([float("-inf")]), ValueError, "element 0 is -inf"),
    (lambda: vec0.serialize_f32([1e39]), ValueError, r"element 0 is 1e\+39: .*float32's range"),
    (lambda: vec0.serialize_f32(np.array([0, np.nan])), ValueError, "element 1 is nan"),
    (lambda: vec0.serialize_f32(np.array([[1e39]])[0]), ValueError, r"element 0 is 1e\+39"),
    (lambda: vec0.serialize_f32(np.array([np.inf], dtype=np.float32)), ValueError, "is inf"),
    (lambda: vec0.serialize_int8([1, 2.5]), TypeError, "element 1 of an int8 vector is 2.5"),
    (lambda: vec0.serialize_int8(b"\x01"), TypeError, "of bytes: pass a sequence"),
    (lambda: vec0.serialize_int8([128]), ValueError, "element 0 is 128, outside -128..127"),
    (lambda: vec0.serialize_int8([1, 2, -129]), ValueError, "element 2 is -129, outside"),
    (lambda: vec0.serialize_int8(np.array([0, -129, 0])), ValueError,
     "element 1 is -129, outside -128..127"),
    (lambda: vec0.serialize_f32(None), TypeError, "of NoneType: pass a sequence"),
    (lambda: vec0.serialize_f32(np.float32(1)), TypeError, "of float32: pass a sequence"),
    (lambda: vec0.serialize_int8(7), TypeError, "of int: pass a sequence"),
    (lambda: vec0.serialize_bit(None), TypeError, "of NoneType: pass a sequence"),
    (lambda: vec0.serialize_int8(np.array([0.5])), TypeError, "vec_quantize_int8"),
    (lambda: vec0.serialize_bit([1, 0, 1]), ValueError, "multiple of 8 dimensions, got 3"),
    (lambda: vec0.deserialize_f32(b"\x00\x00\x00"), ValueError, "multiple of 4 bytes, got 3"),
    (lambda: vec0.deserialize_f32(b""), ValueError, "got 0"),
    (lambda: vec0.deserialize_int8("[1]"), TypeError, "expected a BLOB"),
])
def test_bad_vectors_are_refused(call, error, message):
    with pytest.raises(error, match=message) as e:
        call()
    assert str(e.value).startswith("vec0: "), e.value


def test_largest_float32_is_accepted():
    # rounds to FLT_MAX, which float32 holds: not an overflow
    flt_max = 3.4028234663852886e38
    assert vec0.serialize_f32([3.4028235e38, -3.4028235e38]) == struct.pack("<2f", flt_max, -flt_max)
    assert bytes(vec0.serialize_f32(np.array([3.4028235e38]))) == struct.pack("<f", flt_max)


# --- adapters: numpy values as query parameters ----------------------------------

def test_knn_with_numpy_parameters(conn):
    rng = np.random.default_rng(7)
    data = rng.standard_normal((200, 16)).astype(np.float32)
    conn.execute("CREATE VIRTUAL TABLE t USING vec0(embedding float[16] indexed by flat())")
    conn.executemany("INSERT INTO t(rowid, embedding) VALUES (?, ?)",
                     [(np.int64(i), row) for i, row in enumerate(data)])
    q = rng.standard_normal(16)  # float64: bound as float32
    k = np.int64(5)              # a numpy integer: bound as an integer
    got = conn.execute("SELECT rowid, distance FROM t WHERE embedding MATCH ? AND k = ? "
                       "ORDER BY distance", [q, k]).fetchall()
    dist = np.linalg.norm(data - q.astype(np.float32), axis=1)
    assert [r for r, _ in got] == np.argsort(dist)[:5].tolist()
    assert np.allclose([d for _, d in got], np.sort(dist)[:5], rtol=1e-5)
    # the stored vector comes back as the same float32 values
    blob = conn.execute("SELECT embedding FROM t WHERE rowid = 3").fetchone()[0]
    assert np.array_equal(vec0.deserialize_f32(blob), data[3])


def test_int8_and_bit_arrays_bind_as_their_types(conn):
    conn.execute("CREATE VIRTUAL TABLE q USING vec0(a int8[4] indexed by flat(), b bit[8])")
    conn.execute("INSERT INTO q(rowid, a, b) VALUES (1, ?, ?)",
                 [np.array([1, 2, 3, 4], dtype=np.int8), np.array([1, 0, 0, 0, 0, 0, 0, 1], bool)])
    assert conn.execute("SELECT vec_to_json(a), hex(b) FROM q").fetchone() == ("[1,2,3,4]", "81")
    assert conn.execute("SELECT rowid FROM q WHERE b MATCH ? AND k = 1",
                        [np.ones(8, dtype=bool)]).fetchall() == [(1,)]


def test_an_ambiguous_array_is_refused(conn):
    with pytest.raises(TypeError, match="astype\\(numpy.float32\\)"):
        conn.execute("SELECT vec_length(?)", [np.array([1, 2, 3])])


def test_without_numpy_lists_still_work():
    """numpy is optional: the same calls work on lists."""
    script = """if True:
        import sys
        sys.modules["numpy"] = None          # as if it were not installed
        import vec0
        assert vec0._np is None
        blob = vec0.serialize_f32([1, 2.5])
        assert vec0.deserialize_f32(blob) == [1.0, 2.5]
        assert vec0.deserialize_int8(vec0.serialize_int8([-1, 5])) == [-1, 5]
        bits = [0, 1, 0, 0, 0, 0, 0, 1]
        assert vec0.deserialize_bit(vec0.serialize_bit(bits)) == bits
        assert vec0.serialize_bit(["", "x", None, 0, 0, 0, 0, 0]) == b"\x02"
        try:
            vec0.serialize_int8([1, 300])
        except ValueError as e:
            assert str(e) == "vec0: int8 vector element 1 is 300, outside -128..127", e
        c = vec0.connect(":memory:")
        c.execute("CREATE VIRTUAL TABLE t USING vec0(v float[2])")
        c.executemany("INSERT INTO t(rowid, v) VALUES (?, ?)",
                      [(i, vec0.serialize_f32([i, i])) for i in range(10)])
        print(c.execute("SELECT group_concat(rowid) FROM t WHERE v MATCH ? AND k = 3",
                        [vec0.serialize_f32([4.2, 4.2])]).fetchone()[0])
    """
    env = dict(os.environ, PYTHONPATH=PKG_DIR, VEC0_EXT=EXT)
    assert run([PYTHON, "-c", script], env=env).stdout == "4,5,3\n"
