"""vec0: vector search inside SQLite, from Python.

    import sqlite3, numpy, vec0

    conn = sqlite3.connect("my.db")
    vec0.load(conn)                       # the extension shipped in this package
    conn.execute("CREATE VIRTUAL TABLE docs USING vec0(embedding float[3])")
    conn.execute("INSERT INTO docs(rowid, embedding) VALUES (?, ?)",
                 (1, numpy.array([0.1, 0.2, 0.3], dtype=numpy.float32)))
    conn.execute("SELECT rowid, distance FROM docs WHERE embedding MATCH ? AND k = 5",
                 [numpy.array([0.1, 0.2, 0.25])]).fetchall()

What lives here:

- load(conn) / connect(database): loading the extension.  The file is found
  by loadable_path(): the module shipped inside this package (a wheel built
  with `make wheel` has one), else the path in the environment variable
  VEC0_EXT.  load(conn, path) loads that file instead.
- serialize_f32 / serialize_int8 / serialize_bit turn a sequence of numbers
  (or of 0/1 for bits) or a numpy array into the BLOB a vec0 column stores;
  deserialize_f32 / deserialize_int8 / deserialize_bit turn a BLOB back into
  a numpy array (a list when numpy is not installed).  Nothing is copied when
  the layouts already agree: a C-contiguous little-endian float32 (int8)
  array serializes to a memoryview of its own memory, and deserializing
  returns a read-only array over the BLOB's bytes (numpy.frombuffer).
- sqlite3 adapters, registered on import when numpy is present: a numpy
  array passed as a query parameter becomes a vector BLOB (float arrays as
  float32, int8 arrays as int8, bool arrays as bit vectors), and numpy
  scalars (numpy.int64 from a computation, say) become int and float.

Bit vectors: dimension i is bit (i & 7) of byte i >> 3, the order of
vec_quantize_binary() and vec_to_json().
"""

import array
import math
import os
import sqlite3
import sys

try:
    import numpy as _np
except ImportError:  # the package works without numpy, on lists
    _np = None

__version__ = "0.1.0"
__all__ = ["load", "connect", "loadable_path", "register_adapters",
           "serialize_f32", "serialize_int8", "serialize_bit",
           "deserialize_f32", "deserialize_int8", "deserialize_bit"]

_HERE = os.path.dirname(os.path.abspath(__file__))
_SUFFIXES = (".so", ".dylib", ".dll")
_BIG_ENDIAN = sys.byteorder == "big"


# --- loading ---------------------------------------------------------------

def loadable_path():
    """The extension load() uses: the one shipped in this package, else
    $VEC0_EXT (a path, with or without its .so suffix)."""
    for suffix in _SUFFIXES:
        bundled = os.path.join(_HERE, "vec0" + suffix)
        if os.path.isfile(bundled):
            return bundled
    env = os.environ.get("VEC0_EXT")
    if env:
        return env
    raise FileNotFoundError(
        "vec0: no extension shipped in %s and VEC0_EXT is not set; install the "
        "vec0 wheel, or build dist/vec0.so with `make` and set "
        "VEC0_EXT=/path/to/dist/vec0 (or call vec0.load(conn, path))" % _HERE)


def load(conn, path=None):
    """Loads the extension into conn, a sqlite3.Connection, and returns conn.

    path: the file to load; by default loadable_path().  Loading SQL-side
    extensions stays disabled on conn afterwards, as it was.
    """
    if path is None:
        path = loadable_path()
    if not hasattr(conn, "enable_load_extension"):
        # Name the interpreter: with several Pythons on PATH, the one that
        # ran is often not the one the user meant.
        raise RuntimeError(
            "vec0: the sqlite3 module of %s (Python %s) cannot load extensions (it "
            "was built without them); use one that can, such as Debian's "
            "/usr/bin/python3" % (sys.executable or "this Python",
                                  sys.version.split()[0]))
    conn.enable_load_extension(True)
    try:
        conn.load_extension(os.fspath(path))
    finally:
        conn.enable_load_extension(False)
    return conn


def connect(database, *args, **kwargs):
    """sqlite3.connect(database, ...) with the extension loaded."""
    return load(sqlite3.connect(database, *args, **kwargs))


# --- vectors to BLOBs and back -----------------------------------------------

def _sequence(values, what):
    """values as a sequence with a length: an iterable (a generator, say) is
    read into a list; anything else is refused with a vec0 message."""
    if isinstance(values, (bytes, bytearray, memoryview, str)) or hasattr(values, "__len__"):
        return values
    try:
        return list(values)
    except TypeError:
        raise TypeError("vec0: cannot make %s vector of %s: pass a sequence of numbers"
                        % (what, type(values).__name__)) from None


def _not_int8(values):
    for i, x in enumerate(values):
        if not -128 <= x <= 127:
            return ValueError("vec0: int8 vector element %d is %r, outside -128..127"
                              % (i, x.item() if hasattr(x, "item") else x))
    return ValueError("vec0: int8 vector elements must be in -128..127")


def _check_1d(n, shape=None):
    if shape is not None and len(shape) != 1:
        raise ValueError("vec0: a vector has one dimension, got an array of shape %s"
                         % (shape,))
    if n == 0:
        raise ValueError("vec0: a vector needs at least one element")


def _array_view(a, dtype):
    """a as a BLOB of dtype: a memoryview of a's memory when it already is
    that (C-contiguous, little-endian), else of a converted copy."""
    _check_1d(a.size, a.shape)
    if a.dtype != dtype or not a.flags.c_contiguous:
        a = _np.ascontiguousarray(a, dtype=dtype)
    return memoryview(a).cast("B")


def _array_of(typecode, values, what):
    """array.array(typecode, values), with a vec0 message for what it refuses."""
    # array.array() would read bytes as raw machine values, not as numbers.
    if isinstance(values, (bytes, bytearray, memoryview, str)):
        raise TypeError("vec0: cannot make %s vector of %s: pass a sequence of numbers"
                        % (what, type(values).__name__))
    try:
        return array.array(typecode, values)
    except TypeError:
        pass
    need = "__index__" if typecode == "b" else "__float__"
    for i, x in enumerate(values):
        if not hasattr(x, need):
            raise TypeError("vec0: element %d of %s vector is %r, not %s" % (
                i, what, x, "an integer" if typecode == "b" else "a number"))
    raise TypeError("vec0: cannot make %s vector of %s: pass a sequence of numbers"
                    % (what, type(values).__name__))


def _packed(typecode, values, what):
    buf = _array_of(typecode, values, what)
    if _BIG_ENDIAN:
        buf.byteswap()
    return buf.tobytes()


def _not_float32(i, value):
    return ValueError(
        "vec0: float32 vector element %d is %r: NaN, infinities and numbers beyond "
        "float32's range (about 3.4e38) cannot be stored or searched" % (i, value))


def serialize_f32(vector):
    """A float32 vector BLOB: from a sequence of numbers (bytes) or a numpy
    array of any real dtype (a memoryview; of the array's own memory when it
    is C-contiguous little-endian float32, so later changes to the array show
    through).  NaN, infinities and numbers float32 cannot hold raise
    ValueError, as vec0 itself refuses them."""
    if _np is not None and isinstance(vector, _np.ndarray):
        if vector.dtype.kind not in "fiub":
            raise TypeError("vec0: cannot make a float32 vector of a numpy array "
                            "of dtype %s" % vector.dtype)
        with _np.errstate(over="ignore"):  # an overflow is reported below
            view = _array_view(vector, _np.dtype("<f4"))
        if vector.dtype.kind == "f":
            bad = _np.flatnonzero(~_np.isfinite(_np.frombuffer(view, dtype="<f4")))
            if bad.size:
                i = int(bad[0])
                raise _not_float32(i, vector.reshape(-1)[i].item())
        return view
    vector = _sequence(vector, "a float32")
    _check_1d(len(vector))
    buf = _array_of("f", vector, "a float32")
    for i, x in enumerate(buf):
        if not math.isfinite(x):
            raise _not_float32(i, vector[i])
    if _BIG_ENDIAN:
        buf.byteswap()
    return buf.tobytes()


def serialize_int8(vector):
    """An int8 vector BLOB (for int8[N] columns and vec_int8()): from a
    sequence of integers in -128..127 or a numpy integer array (not copied
    when it is C-contiguous int8)."""
    if _np is not None and isinstance(vector, _np.ndarray):
        if vector.dtype.kind not in "iub":
            raise TypeError("vec0: an int8 vector needs integers, got a numpy array of "
                            "dtype %s (vec_quantize_int8() quantizes floats)" % vector.dtype)
        if vector.dtype != _np.int8 and vector.size and \
                (vector.min() < -128 or vector.max() > 127):
            raise _not_int8(vector.reshape(-1))
        return _array_view(vector, _np.dtype("i1"))
    vector = _sequence(vector, "an int8")
    _check_1d(len(vector))
    try:
        return _packed("b", vector, "an int8")
    except OverflowError:
        raise _not_int8(vector) from None


def serialize_bit(bits):
    """A bit vector BLOB (for bit[N] columns and vec_bit()): from a sequence
    of truth values or a numpy array (non-zero = 1), whose length is a
    multiple of 8.  Dimension i is bit (i & 7) of byte i >> 3."""
    is_array = _np is not None and isinstance(bits, _np.ndarray)
    if not is_array:
        bits = _sequence(bits, "a bit")
    n = bits.size if is_array else len(bits)
    _check_1d(n, getattr(bits, "shape", None))
    if n % 8:
        raise ValueError("vec0: a bit vector has a multiple of 8 dimensions, got %d" % n)
    if is_array and bits.dtype.kind in "biuf":
        return _np.packbits(bits != 0, bitorder="little").tobytes()
    if _np is not None:
        # truth values as Python has them ('' and None are 0), one each
        truth = _np.fromiter((bool(b) for b in (bits.reshape(-1) if is_array else bits)),
                             dtype=bool, count=n)
        return _np.packbits(truth, bitorder="little").tobytes()
    out = bytearray(n // 8)
    for i, b in enumerate(bits):
        if b:
            out[i >> 3] |= 1 << (i & 7)
    return bytes(out)


def _blob(blob, size, what):
    if not isinstance(blob, (bytes, bytearray, memoryview)):
        raise TypeError("vec0: expected a BLOB (bytes), got %s" % type(blob).__name__)
    n = len(memoryview(blob).cast("B"))
    if n == 0 or n % size:
        raise ValueError("vec0: a %s vector BLOB has a positive multiple of %d bytes, got %d"
                         % (what, size, n))


def deserialize_f32(blob):
    """The float32 vector in blob: a read-only numpy array over blob's bytes
    (no copy), or a list of floats without numpy."""
    _blob(blob, 4, "float32")
    if _np is not None:
        return _np.frombuffer(blob, dtype="<f4")
    buf = array.array("f", bytes(blob))
    if _BIG_ENDIAN:
        buf.byteswap()
    return buf.tolist()


def deserialize_int8(blob):
    """The int8 vector in blob: a read-only numpy array over blob's bytes
    (no copy), or a list of ints without numpy."""
    _blob(blob, 1, "int8")
    if _np is not None:
        return _np.frombuffer(blob, dtype=_np.int8)
    return array.array("b", bytes(blob)).tolist()


def deserialize_bit(blob):
    """The bits of a bit vector BLOB, 8 per byte: a numpy bool array, or a
    list of 0/1 without numpy."""
    _blob(blob, 1, "bit")
    if _np is not None:
        return _np.unpackbits(_np.frombuffer(blob, dtype=_np.uint8),
                              bitorder="little").astype(bool)
    return [(byte >> i) & 1 for byte in bytes(blob) for i in range(8)]


# --- sqlite3 adapters --------------------------------------------------------

def _adapt_ndarray(a):
    kind = a.dtype.kind
    if kind == "f":
        return serialize_f32(a)
    if a.dtype == _np.int8:
        return serialize_int8(a)
    if kind == "b":
        return serialize_bit(a)
    raise TypeError(
        "vec0: cannot bind a numpy array of dtype %s as a vector: convert it with "
        ".astype(numpy.float32) for float[N] columns or .astype(numpy.int8) for "
        "int8[N] columns" % a.dtype)


def register_adapters():
    """Lets sqlite3 bind numpy arrays (as vectors) and numpy scalars (as int
    and float).  Done on import; sqlite3 adapters are process-wide."""
    if _np is None:
        return
    sqlite3.register_adapter(_np.ndarray, _adapt_ndarray)
    for t in (_np.int8, _np.int16, _np.int32, _np.int64,
              _np.uint8, _np.uint16, _np.uint32, _np.uint64, _np.bool_):
        sqlite3.register_adapter(t, int)
    for t in (_np.float16, _np.float32, _np.float64):
        sqlite3.register_adapter(t, float)


register_adapters()
