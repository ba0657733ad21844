-- Every error of the vector parser and the scalar functions.  Each message
-- starts with "vec0: ", names the function and the argument at fault, and
-- says what is wrong.  sqlite-vec accepts some of these inputs (trailing
-- garbage, '[1,]', '[1 2]', hex numbers, leading zeros, NaN and infinity); we
-- refuse them rather than return a value nobody asked for.  Lenient
-- spellings with one plain meaning ('.5', '1.', '+1') are accepted: see
-- 010-vector-types.sql.
.mode list
.headers off

-- not a vector at all
SELECT vec_f32(NULL);
SELECT vec_length(42);
SELECT vec_to_json(4.5);
SELECT vec_distance_l2('[1]', NULL);

-- malformed JSON
SELECT vec_f32('');
SELECT vec_f32('   ');
SELECT vec_f32('1,2');
SELECT vec_f32('{}');
SELECT vec_f32('[');
SELECT vec_f32('[1,2');
SELECT vec_f32('[1,2]x');
SELECT vec_f32('[1,2] ]');
SELECT vec_f32('[1,]');
SELECT vec_f32('[,1]');
SELECT vec_f32('[1,,2]');
SELECT vec_f32('[1 2]');
SELECT vec_f32('[.]');
SELECT vec_f32('[+]');
SELECT vec_f32('[-.]');
SELECT vec_f32('[.e1]');
SELECT vec_f32('[+-1]');
SELECT vec_f32('[- 1]');
SELECT vec_f32('[1.5.]');
SELECT vec_f32('[+01]');
SELECT vec_f32('[1e]');
SELECT vec_f32('[01]');
SELECT vec_f32('[0x10]');
SELECT vec_f32('["1"]');
SELECT vec_f32('[[1]]');
SELECT vec_f32('[true]');
SELECT vec_f32('[1,2]' || char(0) || 'x');
-- a float32 BLOB bound as TEXT (PHP's and Perl's default): the message says
-- to bind it as a BLOB
SELECT vec_f32(CAST(x'0000803F00000040' AS TEXT));

-- empty vectors
SELECT vec_f32('[]');
SELECT vec_f32('[ ]');
SELECT vec_f32(x'');
SELECT vec_int8(x'');
SELECT vec_bit(x'');

-- NaN and infinity, as JSON and as BLOB bytes
SELECT vec_f32('[NaN]');
SELECT vec_f32('[1, Infinity]');
SELECT vec_f32('[-Infinity]');
SELECT vec_f32('[1e39]');
SELECT vec_f32('[-1e39]');
SELECT vec_f32(x'0000C07F');
SELECT vec_f32(x'0000803F0000807F');
-- (vec_length, vec_type, vec_to_json and vec_each show such a BLOB: see
-- 014-long-and-nonfinite.sql)

-- BLOB lengths
SELECT vec_f32(x'000080');
SELECT vec_type(x'00');
SELECT vec_length(x'0000803F00');

-- (more than 8192 dimensions is an error for tables only: see
-- 014-long-and-nonfinite.sql)

-- int8 values
SELECT vec_int8('[128]');
SELECT vec_int8('[1, -129]');
SELECT vec_int8('[99999999999999999999]');
SELECT vec_int8('[1.5]');
SELECT vec_int8('[1e2]');
SELECT vec_int8('[1.]');
SELECT vec_int8('[.5]');
SELECT vec_int8('[+128]');
SELECT vec_int8('[1,2');

-- bit vectors are BLOBs only
SELECT vec_bit('[1,0,1]');

-- a subtype that contradicts the constructor
SELECT vec_f32(vec_int8('[1,2,3,4]'));
SELECT vec_int8(vec_f32('[1]'));
SELECT vec_bit(vec_f32('[1]'));
SELECT vec_f32(vec_bit(x'00000000'));

-- two vectors that do not match
SELECT vec_distance_l2('[1,2]', vec_int8('[1,2]'));
SELECT vec_distance_l2('[1,2]', '[1,2,3]');
SELECT vec_distance_hamming(vec_bit(x'FF00'), vec_bit(x'00FF0000'));
SELECT vec_add('[1]', vec_int8('[1]'));
SELECT vec_sub('[1]', '[1,2]');
-- the 2nd argument is named when it is the bad one
SELECT vec_distance_cosine('[1,2]', '[1,2');
SELECT vec_distance_l1('[1,2]', x'00');

-- distances not defined for a type
SELECT vec_distance_hamming('[1,2]', '[1,2]');
SELECT vec_distance_hamming(vec_int8('[1]'), vec_int8('[1]'));
SELECT vec_distance_l2(vec_bit(x'01'), vec_bit(x'03'));
SELECT vec_distance_l2sq(vec_bit(x'01'), vec_bit(x'03'));
SELECT vec_distance_l1(vec_bit(x'01'), vec_bit(x'01'));
SELECT vec_distance_cosine(vec_bit(x'01'), vec_bit(x'01'));
SELECT vec_distance_dot(vec_bit(x'01'), vec_bit(x'01'));

-- arithmetic
SELECT vec_add(vec_bit(x'01'), vec_bit(x'01'));
SELECT vec_sub(vec_bit(x'01'), vec_bit(x'01'));
SELECT vec_add('[3e38, 1]', '[3e38, 1]');
SELECT vec_sub('[1, -3e38]', '[1, 3e38]');
SELECT vec_normalize(vec_int8('[1]'));
SELECT vec_normalize(vec_bit(x'01'));
SELECT vec_normalize('[0, 0, 0]');

-- vec_slice bounds
SELECT vec_slice('[1,2,3]', -1, 2);
SELECT vec_slice('[1,2,3]', 2, 1);
SELECT vec_slice('[1,2,3]', 1, 1);
SELECT vec_slice('[1,2,3]', 1, 5);
SELECT vec_slice('[1,2,3]', NULL, 2);
SELECT vec_slice('[1,2,3]', 0, 'two');
SELECT vec_slice(vec_bit(x'F0FF'), 3, 8);
SELECT vec_slice(vec_bit(x'F0FF'), 8, 15);
SELECT vec_slice('[1,2', 0, 1);

-- quantizers
SELECT vec_quantize_binary('[1,-2,3]');
SELECT vec_quantize_binary(vec_bit(x'01'));
SELECT vec_quantize_int8('[0.5]', 'foo');
SELECT vec_quantize_int8('[0.5]', NULL);
SELECT vec_quantize_int8(vec_int8('[1]'), 'unit');
SELECT vec_quantize_int8('[1', 'unit');

-- wrong numbers of arguments are SQLite's own errors
SELECT vec_f32('[1]', 2);
SELECT vec_quantize_int8('[0.5]');
SELECT vec_slice('[1,2]', 1);
SELECT vec_version(1);

-- after all of that the connection is fine
SELECT 'still ok', vec_length('[1,2,3]');
