'use strict';
/*
 * vec0 for Node.js: finds the extension shipped in this package, loads it
 * into a better-sqlite3 Database or a node:sqlite DatabaseSync, and turns
 * vectors (typed arrays, arrays of numbers) into the BLOBs vec0 stores and
 * back.  No dependencies; the database library is the caller's.
 *
 * The extension lives in lib/<platform>-<arch>/ (make npm-pack puts the
 * build there); without one, $VEC0_EXT names the file to load.
 */

const fs = require('fs');
const os = require('os');
const path = require('path');

const version = require('./package.json').version;
const LITTLE_ENDIAN = os.endianness() === 'LE';
const SUFFIX = { darwin: '.dylib', win32: '.dll' }[process.platform] || '.so';

function vec0Error(Kind, message) {
  return new Kind('vec0: ' + message);
}

// --- loading ---------------------------------------------------------------

/** The extension load() uses: the one shipped in this package for this
 *  platform, else $VEC0_EXT (with or without its suffix). */
function getLoadablePath() {
  const platform = process.platform + '-' + process.arch;
  const bundled = path.join(__dirname, 'lib', platform, 'vec0' + SUFFIX);
  if (fs.existsSync(bundled)) return bundled;
  if (process.env.VEC0_EXT) return process.env.VEC0_EXT;
  let shipped = [];
  try {
    shipped = fs.readdirSync(path.join(__dirname, 'lib'));
  } catch (e) {
    // no lib/: a source checkout
  }
  throw vec0Error(Error,
    'no extension for ' + platform + ' in ' + path.join(__dirname, 'lib') +
    (shipped.length ? ' (this package has ' + shipped.join(', ') + ')' : '') +
    ' and VEC0_EXT is not set; install the package made by `make npm-pack` on this ' +
    'platform, or build dist/vec0.so with `make` and set VEC0_EXT=/path/to/dist/vec0');
}

/** Loads the extension into db and returns db.  db: a better-sqlite3
 *  Database, or a node:sqlite DatabaseSync opened with
 *  { allowExtension: true }.  file: what to load (default getLoadablePath()). */
function load(db, file) {
  if (file === undefined) file = getLoadablePath();
  if (db === null || typeof db !== 'object' || typeof db.loadExtension !== 'function') {
    throw vec0Error(TypeError,
      'load() takes a better-sqlite3 Database or a node:sqlite DatabaseSync');
  }
  if (typeof db.enableLoadExtension !== 'function') {
    db.loadExtension(file); // better-sqlite3: no switch to turn
    return db;
  }
  // node:sqlite: loading is off by default and refused for good unless the
  // database was opened with allowExtension; leave it off again afterwards.
  try {
    db.enableLoadExtension(true);
  } catch (e) {
    throw vec0Error(Error,
      'this node:sqlite database cannot load extensions: open it with ' +
      'new DatabaseSync(path, { allowExtension: true }) (' + e.message + ')');
  }
  try {
    db.loadExtension(file);
  } finally {
    db.enableLoadExtension(false);
  }
  return db;
}

// --- vectors to BLOBs and back ---------------------------------------------

function isArrayLike(v) {
  return v !== null && typeof v === 'object' && typeof v.length === 'number' &&
    !(v instanceof ArrayBuffer) && !(v instanceof DataView) && typeof v !== 'string';
}

function checkVector(v, what) {
  if (!isArrayLike(v) || Buffer.isBuffer(v)) {
    // A Buffer is already a BLOB: reading its bytes as numbers is a mistake.
    throw vec0Error(TypeError, 'cannot make ' + what + ' vector of ' + describe(v) +
      ': pass a typed array or an array of numbers');
  }
  if (v.length === 0) throw vec0Error(RangeError, 'a vector needs at least one element');
}

function describe(v) {
  if (v === null) return 'null';
  if (typeof v !== 'object') return 'a ' + typeof v;
  return 'a ' + (v.constructor ? v.constructor.name : 'object');
}

function show(x) {
  return typeof x === 'string' ? JSON.stringify(x) : String(x);
}

/** A view of a typed array's own memory as a Buffer (no copy). */
function bytesOf(a) {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** A float32 vector BLOB (for float[N] columns and MATCH) from a
 *  Float32Array (its own memory, not copied, on little-endian machines), any
 *  other typed array or an array of numbers.  NaN, infinities and numbers
 *  beyond float32's range throw, as vec0 refuses them. */
function serializeF32(v) {
  checkVector(v, 'a float32');
  let f = v;
  if (!(v instanceof Float32Array)) {
    f = new Float32Array(v.length);
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      if (typeof x !== 'number') {
        throw vec0Error(TypeError,
          'element ' + i + ' of a float32 vector is ' + show(x) + ', not a number');
      }
      f[i] = x;
    }
  }
  for (let i = 0; i < f.length; i++) {
    if (!Number.isFinite(f[i])) {
      throw vec0Error(RangeError, 'float32 vector element ' + i + ' is ' + show(v[i]) +
        ': NaN, infinities and numbers beyond float32\'s range (about 3.4e38) ' +
        'cannot be stored or searched');
    }
  }
  if (!LITTLE_ENDIAN) {
    const out = Buffer.alloc(f.length * 4);
    f.forEach((x, i) => out.writeFloatLE(x, i * 4));
    return out;
  }
  return bytesOf(f);
}

/** An int8 vector BLOB (for int8[N] columns and vec_int8()) from an
 *  Int8Array (not copied) or integers in -128..127. */
function serializeInt8(v) {
  checkVector(v, 'an int8');
  if (v instanceof Int8Array) return bytesOf(v);
  const out = Buffer.alloc(v.length);
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (typeof x !== 'number' || !Number.isInteger(x)) {
      throw vec0Error(TypeError,
        'element ' + i + ' of an int8 vector is ' + show(x) + ', not an integer');
    }
    if (x < -128 || x > 127) {
      throw vec0Error(RangeError,
        'int8 vector element ' + i + ' is ' + x + ', outside -128..127');
    }
    out.writeInt8(x, i);
  }
  return out;
}

/** A bit vector BLOB (for bit[N] columns and vec_bit()) from truth values,
 *  a multiple of 8 of them: dimension i is bit (i & 7) of byte i >> 3. */
function serializeBit(bits) {
  checkVector(bits, 'a bit');
  if (bits.length % 8) {
    throw vec0Error(RangeError,
      'a bit vector has a multiple of 8 dimensions, got ' + bits.length);
  }
  const out = Buffer.alloc(bits.length / 8);
  for (let i = 0; i < bits.length; i++) {
    if (bits[i]) out[i >> 3] |= 1 << (i & 7);
  }
  return out;
}

function checkBlob(blob, size, what) {
  if (!(blob instanceof Uint8Array)) {
    throw vec0Error(TypeError, 'expected a BLOB (Buffer or Uint8Array), got ' + describe(blob));
  }
  if (blob.length === 0 || blob.length % size) {
    throw vec0Error(RangeError, 'a ' + what + ' vector BLOB has a positive multiple of ' +
      size + ' bytes, got ' + blob.length);
  }
}

/** The float32 vector in a BLOB: a Float32Array over its bytes when they
 *  are aligned (no copy), else over a copy. */
function deserializeF32(blob) {
  checkBlob(blob, 4, 'float32');
  const n = blob.length / 4;
  if (LITTLE_ENDIAN && blob.byteOffset % 4 === 0) {
    return new Float32Array(blob.buffer, blob.byteOffset, n);
  }
  const out = new Float32Array(n);
  const view = new DataView(blob.buffer, blob.byteOffset, blob.length);
  for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

/** The int8 vector in a BLOB: an Int8Array over its bytes (no copy). */
function deserializeInt8(blob) {
  checkBlob(blob, 1, 'int8');
  return new Int8Array(blob.buffer, blob.byteOffset, blob.length);
}

/** The bits of a bit vector BLOB, 8 per byte, as an array of 0 and 1. */
function deserializeBit(blob) {
  checkBlob(blob, 1, 'bit');
  const out = new Array(blob.length * 8);
  for (let i = 0; i < out.length; i++) out[i] = (blob[i >> 3] >> (i & 7)) & 1;
  return out;
}

module.exports = {
  version,
  getLoadablePath,
  load,
  serializeF32,
  serializeInt8,
  serializeBit,
  deserializeF32,
  deserializeInt8,
  deserializeBit,
};
