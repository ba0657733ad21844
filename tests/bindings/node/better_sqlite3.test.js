'use strict';
// The Node.js package with better-sqlite3: loading, inserts and filtered
// KNN joined with an ordinary table, keys and k bound as JavaScript numbers
// (which SQLite receives as REAL), errors, and the vector helpers.
// Run by tests/bindings/bind_node.py: VEC0_NODE_PKG is the package to test,
// NODE_PATH finds better-sqlite3.

const test = require('node:test');
const assert = require('node:assert/strict');
const Database = require('better-sqlite3');
const vec0 = require(process.env.VEC0_NODE_PKG);

function open() {
  return vec0.load(new Database(':memory:'));
}

// A small seeded generator, so a failure can be replayed.
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296 - 0.5;
  };
}

function l2(a, b) {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] - b[i]) ** 2;
  return Math.sqrt(sum);
}

test('load() gives the version of the package', () => {
  const db = open();
  assert.equal(db.prepare('SELECT vec_version() AS v').get().v, 'v' + vec0.version);
  assert.equal(vec0.getLoadablePath(), process.env.VEC0_EXT);
});

test('without a shipped extension or VEC0_EXT, the error says what to do', () => {
  const saved = process.env.VEC0_EXT;
  delete process.env.VEC0_EXT;
  try {
    assert.throws(() => vec0.load(new Database(':memory:')),
      /^Error: vec0: no extension for .* and VEC0_EXT is not set/);
  } finally {
    process.env.VEC0_EXT = saved;
  }
  assert.throws(() => vec0.load({}), /vec0: load\(\) takes a better-sqlite3 Database/);
});

test('insert, then filtered KNN joined with an ordinary table equals the exact answer', () => {
  const db = open();
  const next = rng(7);
  const dim = 8;
  db.exec(`CREATE TABLE docs(id INTEGER PRIMARY KEY, title TEXT, author TEXT);
           CREATE VIRTUAL TABLE vecs USING vec0(id integer primary key,
             embedding float[${dim}] indexed by flat(), lang text)`);
  const rows = [];
  const addDoc = db.prepare('INSERT INTO docs VALUES (?, ?, ?)');
  const addVec = db.prepare('INSERT INTO vecs(id, embedding, lang) VALUES (?, ?, ?)');
  db.transaction(() => {
    for (let id = 1; id <= 300; id++) {
      const v = Float32Array.from({ length: dim }, next);
      const lang = id % 3 ? 'en' : 'fr';
      rows.push({ id, v, lang, author: 'a' + (id % 5) });
      // BigInt keys bind as INTEGER; numbers (REAL) are the next test's
      addDoc.run(BigInt(id), 'doc ' + id, 'a' + (id % 5));
      addVec.run(BigInt(id), v, lang);  // a Float32Array binds as its bytes
    }
  })();
  const q = Array.from({ length: dim }, next);
  const got = db.prepare(`
      SELECT docs.id, docs.title, vecs.distance
        FROM vecs JOIN docs ON docs.id = vecs.id
       WHERE vecs.embedding MATCH ? AND k = 10 AND vecs.lang = 'en'
       ORDER BY vecs.distance`).all(vec0.serializeF32(q));
  const qf = Float32Array.from(q);
  const exact = rows.filter((r) => r.lang === 'en')
    .map((r) => ({ id: r.id, d: l2(r.v, qf) }))
    .sort((a, b) => a.d - b.d).slice(0, 10);
  assert.deepEqual(got.map((r) => r.id), exact.map((r) => r.id));
  got.forEach((r, i) => {
    assert.equal(r.title, 'doc ' + r.id);
    assert.ok(Math.abs(r.distance - exact[i].d) <= 1e-5 * Math.max(1, exact[i].d));
  });
  // the join on the other side, with a filter on the ordinary table
  const joined = db.prepare(`
      SELECT docs.id FROM docs
        JOIN (SELECT id, distance FROM vecs WHERE embedding MATCH ? AND k = 50) AS knn
          ON knn.id = docs.id
       WHERE docs.author = 'a2' ORDER BY knn.distance`).all(vec0.serializeF32(q));
  const exact50 = rows.map((r) => ({ id: r.id, a: r.author, d: l2(r.v, qf) }))
    .sort((a, b) => a.d - b.d).slice(0, 50).filter((r) => r.a === 'a2');
  assert.deepEqual(joined.map((r) => r.id), exact50.map((r) => r.id));
});

test('the default HNSW index finds the neighbours too', () => {
  const db = open();
  const next = rng(11);
  db.exec('CREATE VIRTUAL TABLE v USING vec0(embedding float[16])');
  const data = [];
  const ins = db.prepare('INSERT INTO v(rowid, embedding) VALUES (?, ?)');
  db.transaction(() => {
    for (let i = 1; i <= 500; i++) {
      const v = Float32Array.from({ length: 16 }, next);
      data.push(v);
      ins.run(BigInt(i), v);
    }
  })();
  const q = Float32Array.from({ length: 16 }, next);
  const got = db.prepare('SELECT rowid FROM v WHERE embedding MATCH ? AND k = 10')
    .pluck().all(q);
  const exact = data.map((v, i) => [l2(v, q), i + 1]).sort((a, b) => a[0] - b[0])
    .slice(0, 10).map((x) => x[1]);
  const hits = got.filter((id) => exact.includes(id)).length;
  assert.ok(hits >= 9, 'recall@10 ' + hits + '/10');
});

// JavaScript numbers bind as REAL (2 arrives as 2.0). vec0 takes a REAL
// whose value is an integer as that integer, as SQLite does for an INTEGER
// PRIMARY KEY (SPEC: keys).
test('keys and k passed as JavaScript numbers', async (t) => {
  const db = open();
  db.exec(`CREATE VIRTUAL TABLE t USING vec0(embedding float[2], +note text);
           CREATE VIRTUAL TABLE p USING vec0(doc_id integer primary key,
             embedding float[2], user_id integer partition key)`);
  const ins = db.prepare('INSERT INTO t(rowid, embedding, note) VALUES (?, ?, ?)');
  for (let i = 1; i <= 5; i++) ins.run(i, vec0.serializeF32([i, i]), 'n' + i);
  assert.equal(db.prepare('SELECT typeof(?) AS t').get(2).t, 'real');
  assert.deepEqual(db.prepare('SELECT rowid, typeof(rowid) AS t FROM t ORDER BY rowid').all()
    .map((r) => [r.rowid, r.t]), [1, 2, 3, 4, 5].map((i) => [i, 'integer']));

  await t.test('a point lookup by a number key', () => {
    assert.equal(db.prepare('SELECT note FROM t WHERE rowid = ?').pluck().get(3), 'n3');
  });
  await t.test('k = ? bound to a number', () => {
    const ids = db.prepare('SELECT rowid FROM t WHERE embedding MATCH ? AND k = ? ORDER BY distance')
      .pluck().all(vec0.serializeF32([0, 0]), 2);
    assert.deepEqual(ids, [1, 2]);
  });
  await t.test('DELETE by a number key deletes the row', () => {
    assert.equal(db.prepare('DELETE FROM t WHERE rowid = ?').run(2).changes, 1);
    assert.deepEqual(db.prepare('SELECT rowid FROM t ORDER BY rowid').pluck().all(), [1, 3, 4, 5]);
  });
  await t.test('UPDATE by a number key', () => {
    assert.equal(db.prepare('UPDATE t SET note = ? WHERE rowid = ?').run('three', 3).changes, 1);
    assert.equal(db.prepare('SELECT note FROM t WHERE rowid = 3').pluck().get(), 'three');
  });
  await t.test('rowid IN (numbers) inside a KNN query', () => {
    const ids = db.prepare(`SELECT rowid FROM t WHERE embedding MATCH ? AND k = 5
                             AND rowid IN (?, ?) ORDER BY distance`)
      .pluck().all(vec0.serializeF32([0, 0]), 5, 3);
    assert.deepEqual(ids, [3, 5]);
  });
  await t.test('an integer primary key and a partition key bound as numbers', () => {
    const add = db.prepare('INSERT INTO p(doc_id, embedding, user_id) VALUES (?, ?, ?)');
    add.run(10, vec0.serializeF32([1, 0]), 7);
    add.run(11, vec0.serializeF32([0, 1]), 8);
    assert.deepEqual(db.prepare(`SELECT doc_id FROM p WHERE embedding MATCH ? AND k = ?
                                 AND user_id = ?`).pluck().all(vec0.serializeF32([0, 1]), 5, 7),
    [10]);
    assert.equal(db.prepare('DELETE FROM p WHERE doc_id = ?').run(11).changes, 1);
    assert.deepEqual(db.prepare('SELECT doc_id FROM p').pluck().all(), [10]);
  });
});

test('ORDER BY distance LIMIT n: better-sqlite3\'s SQLite passes LIMIT on', () => {
  const db = open();
  db.exec('CREATE VIRTUAL TABLE t USING vec0(embedding float[1])');
  const ins = db.prepare('INSERT INTO t(rowid, embedding) VALUES (?, ?)');
  for (let i = 1; i <= 6; i++) ins.run(BigInt(i), vec0.serializeF32([i]));
  assert.deepEqual(db.prepare('SELECT rowid FROM t WHERE embedding MATCH ? ORDER BY distance LIMIT 2')
    .pluck().all(vec0.serializeF32([3.9])), [4, 3]);
});

test('errors are exceptions carrying vec0\'s message', () => {
  const db = open();
  db.exec('CREATE VIRTUAL TABLE t USING vec0(embedding float[4])');
  const ins = db.prepare('INSERT INTO t(rowid, embedding) VALUES (?, ?)');
  assert.throws(() => ins.run(1, vec0.serializeF32([1, 2, 3])), (e) => {
    assert.equal(e.name, 'SqliteError');
    assert.match(e.message, /^vec0: .*embedding.*4/);
    return true;
  });
  assert.throws(() => ins.run(1, new Float32Array([1, NaN, 0, 0])), /^SqliteError: vec0: /);
  assert.throws(() => db.exec("INSERT INTO t(t) VALUES ('no such command')"),
    /^SqliteError: vec0: /);
  assert.throws(() => db.exec('CREATE VIRTUAL TABLE u USING vec0(embedding float[0])'),
    /vec0: /);
  // nothing was stored by the failed statements
  assert.equal(db.prepare('SELECT count(*) FROM t').pluck().get(), 0);
});

test('vectors to BLOBs and back', () => {
  const db = open();
  const blob = vec0.serializeF32([0.5, -1, 2]);
  assert.ok(Buffer.isBuffer(blob));
  assert.equal(blob.toString('hex'), '0000003f000080bf00000040');
  assert.equal(db.prepare("SELECT vec_f32('[0.5, -1, 2]') = ? AS same").get(blob).same, 1);
  assert.deepEqual(Array.from(vec0.deserializeF32(blob)), [0.5, -1, 2]);
  // a Float32Array's own memory, not a copy
  const f = new Float32Array([1, 2, 3]);
  const view = vec0.serializeF32(f);
  f[0] = 7;
  assert.equal(view.readFloatLE(0), 7);
  // an unaligned BLOB still reads right
  const odd = Buffer.concat([Buffer.from([9]), blob]).subarray(1);
  assert.deepEqual(Array.from(vec0.deserializeF32(odd)), [0.5, -1, 2]);
  // what the database returns
  const stored = db.prepare("SELECT vec_f32('[1.5, 2.5]') AS v").get().v;
  assert.deepEqual(Array.from(vec0.deserializeF32(stored)), [1.5, 2.5]);

  const i8 = vec0.serializeInt8([1, -128, 127]);
  assert.equal(i8.toString('hex'), '01807f');
  assert.equal(db.prepare('SELECT vec_to_json(vec_int8(?)) AS j').get(i8).j, '[1,-128,127]');
  assert.deepEqual(Array.from(vec0.deserializeInt8(i8)), [1, -128, 127]);
  assert.equal(vec0.serializeInt8(new Int8Array([5, -5])).toString('hex'), '05fb');

  const bits = [1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
  const b = vec0.serializeBit(bits);
  const floats = '[' + bits.map((x) => (x ? 1 : -1)).join(',') + ']';
  assert.equal(db.prepare('SELECT vec_quantize_binary(?) = ? AS same').get(floats, b).same, 1);
  assert.deepEqual(vec0.deserializeBit(b), bits);

  db.exec('CREATE VIRTUAL TABLE q USING vec0(a int8[4] indexed by flat(), b bit[8])');
  db.prepare('INSERT INTO q(rowid, a, b) VALUES (1, ?, ?)')
    .run(new Int8Array([1, 2, 3, 4]), vec0.serializeBit([1, 0, 0, 0, 0, 0, 0, 1]));
  assert.deepEqual(db.prepare('SELECT vec_to_json(a) AS a, hex(b) AS b FROM q').get(),
    { a: '[1,2,3,4]', b: '81' });
});

test('bad vectors are refused with a vec0: message', () => {
  const cases = [
    [() => vec0.serializeF32([]), RangeError, /at least one element/],
    [() => vec0.serializeF32([1, NaN]), RangeError, /element 1 is NaN/],
    [() => vec0.serializeF32([1e39]), RangeError, /element 0 is 1e\+39: .*float32's range/],
    [() => vec0.serializeF32(new Float64Array([-Infinity])), RangeError, /is -Infinity/],
    [() => vec0.serializeF32(['1']), TypeError, /element 0 of a float32 vector is "1"/],
    [() => vec0.serializeF32(Buffer.from([0, 0, 0, 0])), TypeError, /of a Buffer/],
    [() => vec0.serializeF32('[1, 2]'), TypeError, /of a string/],
    [() => vec0.serializeInt8([128]), RangeError, /outside -128..127/],
    [() => vec0.serializeInt8([0.5]), TypeError, /is 0.5, not an integer/],
    [() => vec0.serializeBit([1, 0, 1]), RangeError, /multiple of 8 dimensions, got 3/],
    [() => vec0.deserializeF32(Buffer.alloc(3)), RangeError, /multiple of 4 bytes, got 3/],
    [() => vec0.deserializeInt8('[1]'), TypeError, /expected a BLOB/],
  ];
  for (const [call, Kind, message] of cases) {
    assert.throws(call, (e) => e instanceof Kind && /^vec0: /.test(e.message) &&
      message.test(e.message), String(call));
  }
  // the largest float32 is not an overflow
  assert.equal(vec0.serializeF32([3.4028235e38]).readFloatLE(0), 3.4028234663852886e38);
});
