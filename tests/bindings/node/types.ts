// The package's TypeScript declarations, used as a program would use them;
// tests/bindings/bind_node.py type-checks this file with tsc (never runs it).
import Database = require('better-sqlite3');
import * as vec0 from 'vec0';

const db: Database.Database = vec0.load(new Database(':memory:'));
const again: Database.Database = vec0.load(db, vec0.getLoadablePath());
const version: string = vec0.version;

const a: Buffer = vec0.serializeF32(new Float32Array([1, 2]));
const b: Buffer = vec0.serializeF32([1, 2, 3]);
const c: Buffer = vec0.serializeInt8(new Int8Array([1, -1]));
const d: Buffer = vec0.serializeBit([true, false, 1, 0, 0, 0, 0, 0]);
const f: Float32Array = vec0.deserializeF32(a);
const i: Int8Array = vec0.deserializeInt8(c);
const bits: number[] = vec0.deserializeBit(d);

const rows = again.prepare('SELECT rowid, distance FROM t WHERE embedding MATCH ? AND k = ?')
  .all(b, 3) as { rowid: number; distance: number }[];

// What the declarations must refuse.
// @ts-expect-error: a string is not a vector
vec0.serializeF32('[1, 2]');
// @ts-expect-error: load() needs something that loads extensions
vec0.load({});
// @ts-expect-error: the BLOB helpers take bytes
vec0.deserializeF32([1, 2]);

export { version, f, i, bits, rows };
