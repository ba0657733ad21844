'use strict';
// The Node.js package with node:sqlite (Node 22.5 and later): load() turns
// extension loading on only for the load, and a KNN query runs.
// Run by tests/bindings/bind_node.py when this Node has node:sqlite.

const test = require('node:test');
const assert = require('node:assert/strict');
const { DatabaseSync } = require('node:sqlite');
const vec0 = require(process.env.VEC0_NODE_PKG);

test('load() into a DatabaseSync opened with allowExtension', () => {
  const db = vec0.load(new DatabaseSync(':memory:', { allowExtension: true }));
  assert.equal(db.prepare('SELECT vec_version() AS v').get().v, 'v' + vec0.version);
  db.exec('CREATE VIRTUAL TABLE t USING vec0(embedding float[2])');
  const ins = db.prepare('INSERT INTO t(rowid, embedding) VALUES (?, ?)');
  for (let i = 1; i <= 5; i++) ins.run(BigInt(i), vec0.serializeF32([i, 0]));
  const ids = db.prepare('SELECT rowid FROM t WHERE embedding MATCH ? AND k = 2 ORDER BY distance')
    .all(vec0.serializeF32([4.2, 0])).map((r) => Number(r.rowid));
  assert.deepEqual(ids, [4, 5]);
  // loading from SQL is off again
  assert.throws(() => db.prepare('SELECT load_extension(?)').get(process.env.VEC0_EXT));
});

test('a DatabaseSync without allowExtension gets a vec0 error saying how to open it', () => {
  assert.throws(() => vec0.load(new DatabaseSync(':memory:')),
    /vec0: this node:sqlite database cannot load extensions: open it with/);
});
