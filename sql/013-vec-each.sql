-- vec_each(v): one row per dimension; rowid is the index from 0, `value`
-- is REAL for float32 and INTEGER for int8 and bit, and the hidden column
-- `vector` is the argument.
.mode list
.headers off

SELECT 'f32', rowid, value, typeof(value) FROM vec_each('[1.5, -2, 0.25]');
SELECT 'i8', rowid, value, typeof(value) FROM vec_each(vec_int8('[1, -128, 127]'));
-- bit: dimension i is bit (i & 7) of byte i >> 3, the order vec_to_json and
-- vec_quantize_binary use (sqlite-vec 0.1.9 lists each byte's bits from the
-- top instead; we keep one order everywhere)
SELECT 'bit', rowid, value, typeof(value) FROM vec_each(vec_bit(x'F001'));
SELECT 'bit-json', vec_to_json(vec_bit(x'F001'));

-- aggregates over the rows
SELECT 'count', count(*), sum(value), min(value), max(value) FROM vec_each('[3, 1, 2]');
SELECT 'round-trip', json_group_array(value) FROM vec_each('[1, 2, 3]');

-- the columns: value, and the hidden argument column vector
SELECT 'columns', cid, name, hidden FROM pragma_table_xinfo('vec_each');
SELECT 'hidden', value, vec_to_json(vector) FROM vec_each('[7, 8]') WHERE rowid = 1;

-- as a table-valued function joined with a table (a lateral call per row)
CREATE TABLE t(id INTEGER PRIMARY KEY, v);
INSERT INTO t VALUES (1, vec_f32('[1, 2]')), (2, vec_f32('[10, 20, 30]'));
SELECT 'join', t.id, e.rowid, e.value FROM t, vec_each(t.v) AS e ORDER BY t.id, e.rowid;
SELECT 'join-count', t.id, (SELECT count(*) FROM vec_each(t.v)) FROM t ORDER BY t.id;

-- a table column's longest vector (longer ones: 014-long-and-nonfinite.sql)
SELECT 'max', count(*), max(rowid) FROM vec_each(zeroblob(8192 * 4));

-- errors: the argument is a vector, parsed strictly
SELECT 'e1', * FROM vec_each(NULL);
SELECT 'e2', * FROM vec_each(x'');
SELECT 'e3', * FROM vec_each('[1,2');
SELECT 'e4', * FROM vec_each(x'000000');
SELECT 'e5', * FROM vec_each(42);
SELECT 'e6', * FROM vec_each;
-- vec_each is eponymous only: it cannot be created
CREATE VIRTUAL TABLE e USING vec_each();
