-- Two limits that hold for vec0 tables but not for the scalar functions:
-- (1) the functions take vectors of any length, as sqlite-vec's do (tables
--     keep at most 8192 dimensions per column);
-- (2) the functions that only show a vector (vec_to_json, vec_length,
--     vec_type, vec_each) show one holding NaN or infinity, so bad data can
--     be found; everything that computes with it, and every table, refuses.
.mode list
.headers off

-- (1) 1,000,001 dimensions: all 1 and all -1, quantized to int8 (126 and
-- -128), and as float32
CREATE TEMP TABLE big AS
  SELECT '[' || substr(replace(hex(zeroblob(1000001)), '00', '1,'), 1, 2000001) || ']' AS pos,
         '[' || substr(replace(hex(zeroblob(1000001)), '00', '-1,'), 1, 3000002) || ']' AS neg;
CREATE TEMP TABLE v AS
  SELECT vec_quantize_int8(pos, 'unit') AS a, vec_quantize_int8(neg, 'unit') AS b,
         vec_f32(pos) AS fa, vec_f32(neg) AS fb FROM big;
SELECT 'long-length', vec_length(fa), vec_length(vec_int8(a)), length(fa), vec_type(vec_int8(b)) FROM v;
-- int8 l1 stays an exact integer: 254 * 1000001, which float cannot hold
SELECT 'long-i8-l1', vec_distance_l1(vec_int8(a), vec_int8(b)) FROM v;
-- sums past what 32-bit SIMD lanes hold: 254^2 * 1000001 = 6.45e10
SELECT 'long-i8-l2', vec_distance_l2(vec_int8(a), vec_int8(b)),
       vec_distance_l2sq(vec_int8(a), vec_int8(b)),
       vec_distance_dot(vec_int8(a), vec_int8(b)),
       vec_distance_cosine(vec_int8(a), vec_int8(b)) FROM v;
SELECT 'long-f32', vec_distance_l1(fa, fb), vec_distance_l2(fa, fb), vec_distance_l2sq(fa, fb),
       vec_distance_dot(fa, fb), vec_distance_cosine(fa, fb), vec_distance_cosine(fa, fa) FROM v;
SELECT 'long-f32-slices', vec_distance_l2(vec_slice(fa, 0, 8193), vec_slice(fb, 0, 8193)),
       vec_distance_l2(vec_slice(fa, 0, 8192), vec_slice(fb, 0, 8192)) FROM v;
SELECT 'long-hamming', vec_distance_hamming(vec_quantize_binary(vec_slice(fa, 0, 1000000)),
                                            vec_quantize_binary(vec_slice(fb, 0, 1000000))),
       vec_distance_hamming(vec_bit(zeroblob(1025)), vec_bit(zeroblob(1025))) FROM v;
SELECT 'long-arith', vec_length(vec_add(fa, fb)), vec_length(vec_sub(vec_int8(a), vec_int8(b))),
       vec_length(vec_normalize(fa)), length(vec_quantize_binary(vec_slice(fa, 0, 1000000))) FROM v;
SELECT 'long-json', length(vec_to_json(fa)), substr(vec_to_json(vec_int8(b)), 1, 10) FROM v;
SELECT 'long-each', count(*), sum(value) FROM v, vec_each(vec_int8(v.a));
SELECT 'long-constructors', vec_length(vec_f32(zeroblob(8193 * 4))), vec_length(vec_int8(zeroblob(8193))),
       vec_length(vec_bit(zeroblob(1025))),
       vec_length(vec_f32('[' || (SELECT group_concat('1') FROM generate_series(1, 8193)) || ']'));
-- a vector longer than SQLite's length limit is SQLite's "too big" error
.limit length 1000000
SELECT 'too-big', length(vec_to_json(zeroblob(800000)));
.limit length 1000000000
-- a vec0 table still takes at most 8192 dimensions, in writes and queries
CREATE VIRTUAL TABLE t USING vec0(v float[8192] indexed by flat());
INSERT INTO t(rowid, v) VALUES (1, zeroblob(8192 * 4));
INSERT INTO t(rowid, v) VALUES (2, zeroblob(8193 * 4));
INSERT INTO t(rowid, v) VALUES (3, '[' || (SELECT group_concat('1') FROM generate_series(1, 8193)) || ']');
SELECT 'knn-long', rowid FROM t WHERE v MATCH zeroblob(8193 * 4) AND k = 1;
SELECT 'table-ok', count(*) FROM t;

-- (2) NaN (0x7FC00000, and a negative one) and infinities in stored BLOBs
CREATE TABLE raw(id INTEGER PRIMARY KEY, v BLOB);
INSERT INTO raw VALUES (1, x'0000C07F0000803F'), (2, x'0000807F000080FF'), (3, x'0000C0FF01008000');
SELECT 'show', id, vec_to_json(v), vec_length(v), vec_type(v) FROM raw ORDER BY id;
SELECT 'each', raw.id, e.rowid, quote(e.value) FROM raw, vec_each(raw.v) AS e ORDER BY raw.id, e.rowid;
-- finding them: the rows whose vector holds a value that is not a finite number
SELECT 'find', id FROM raw WHERE EXISTS (SELECT 1 FROM vec_each(raw.v)
  WHERE value IS NULL OR abs(value) > 3.5e38) ORDER BY id;
-- computing with them, storing them and searching with them stay errors
SELECT vec_f32(v) FROM raw WHERE id = 1;
SELECT vec_distance_l2(v, '[1, 1]') FROM raw WHERE id = 1;
SELECT vec_distance_cosine('[1, 1]', v) FROM raw WHERE id = 2;
SELECT vec_add(v, v) FROM raw WHERE id = 2;
SELECT vec_normalize(v) FROM raw WHERE id = 1;
SELECT vec_slice(v, 0, 1) FROM raw WHERE id = 1;
SELECT vec_quantize_int8(v, 'unit') FROM raw WHERE id = 2;
CREATE VIRTUAL TABLE t2 USING vec0(v float[2]);
INSERT INTO t2(rowid, v) SELECT id, v FROM raw WHERE id = 1;
INSERT INTO t2(rowid, v) VALUES (2, '[1, 2]');
UPDATE t2 SET v = (SELECT v FROM raw WHERE id = 2) WHERE rowid = 2;
SELECT 'knn-nan', rowid FROM t2 WHERE v MATCH (SELECT v FROM raw WHERE id = 1) AND k = 1;
SELECT 't2', rowid, vec_to_json(v) FROM t2;

-- (1 again) a vector too long for the memory left is SQLITE_NOMEM, not a
-- crash, and the connection goes on (last: the limit cannot be raised again)
PRAGMA hard_heap_limit = 40000000;
SELECT 'nomem-json', length(vec_to_json(zeroblob(16000000)));
SELECT 'nomem-each', count(*) FROM vec_each(zeroblob(24000000));
SELECT 'after-nomem', vec_length(zeroblob(4000000)), vec_to_json('[1, 2]');
