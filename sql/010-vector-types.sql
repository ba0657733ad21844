-- Vector types: the constructors vec_f32 / vec_int8 / vec_bit, the BLOB
-- layout and subtype of each (223 float32, 225 int8, 224 bit, as in
-- sqlite-vec), and vec_length / vec_type / vec_to_json on each of them.
.mode list
.headers off

-- float32 from JSON: little-endian IEEE 754, 4 bytes per dimension
SELECT 'f32-json', hex(vec_f32('[1,2.5]')), subtype(vec_f32('[1,2.5]')), typeof(vec_f32('[1,2.5]'));
SELECT 'f32-neg-zero', hex(vec_f32('[-0.0]')), hex(vec_f32('[0]'));
-- JSON whitespace, exponents and a negative zero are all accepted
SELECT 'f32-spaces', vec_to_json(vec_f32(' [ 1 ,	2 ]
'));
SELECT 'f32-exp', vec_to_json('[1e3, -0, 1.5E-1, 2.5e+1, -3.0e-1]');
-- spellings outside strict JSON whose value is plain and that sqlite-vec
-- accepts: a leading '+', and a point with digits on one side only
SELECT 'f32-lenient', vec_to_json('[.5, 1., +1, -.5, +.25e1, 1.e2, -0.]');
SELECT 'i8-plus', hex(vec_int8('[+1, -1, +0, +127]'));
-- float32 rounding of decimal input, and underflow to zero
SELECT 'f32-round', vec_to_json('[0.1, 16777217, 1e-50, 3.4028234e38]');
-- float32 from a BLOB: the bytes are kept as they are
SELECT 'f32-blob', hex(vec_f32(x'0000803F00002040')), vec_to_json(x'0000803F00002040');
SELECT 'f32-roundtrip', vec_f32('[1, 2.5]') = vec_f32(x'0000803F00002040');

-- int8: one signed byte per dimension
SELECT 'i8-json', hex(vec_int8('[1,-2,127,-128,0]')), subtype(vec_int8('[1]')), typeof(vec_int8('[1]'));
SELECT 'i8-json-text', vec_to_json(vec_int8(' [ -128 , 127, -0 ] '));
SELECT 'i8-blob', vec_to_json(vec_int8(x'0102FF80'));

-- bit: one bit per dimension, dimension i is bit (i & 7) of byte i >> 3
SELECT 'bit', hex(vec_bit(x'F001')), subtype(vec_bit(x'F0')), typeof(vec_bit(x'F0'));
SELECT 'bit-json', vec_to_json(vec_bit(x'F001'));

-- vec_length: dimensions (bits for a bit vector)
SELECT 'length', vec_length('[1,2,3]'), vec_length(x'0000803F'), vec_length(vec_int8('[1,2]')), vec_length(vec_bit(x'F0FF'));
-- vec_type: from the subtype; an untyped BLOB or JSON text is float32
SELECT 'type', vec_type('[1,2,3]'), vec_type(x'00000000'), vec_type(vec_int8('[1,2]')), vec_type(vec_bit(x'F0FF'));

-- vec_to_json: "%f" for float32 (sqlite-vec's format), integers otherwise;
-- the result is TEXT with the JSON subtype ('J' = 74)
SELECT 'to-json', vec_to_json('[1,2.5,-0.1,1e10,3.14159265]');
SELECT 'to-json-small', vec_to_json('[1.0e-7, 123456789, -1.5e-3, 0.1]');
SELECT 'to-json-type', typeof(vec_to_json('[1]')), subtype(vec_to_json('[1]'));
SELECT 'to-json-is-json', json_array_length(vec_to_json('[1,2,3]')), vec_to_json('[1,2,3]') -> 1;

-- 8192 dimensions, the most a table column holds, in every type (functions
-- take longer vectors: 014-long-and-nonfinite.sql)
SELECT 'max-f32', vec_length(vec_f32('[' || (SELECT group_concat('1') FROM generate_series(1, 8192)) || ']'));
SELECT 'max-f32-blob', vec_length(zeroblob(8192 * 4));
SELECT 'max-i8', vec_length(vec_int8(zeroblob(8192)));
SELECT 'max-bit', vec_length(vec_bit(zeroblob(1024)));

-- a vector keeps its bytes through a table (where the subtype is lost:
-- a stored BLOB is read as float32 unless the caller says otherwise)
CREATE TABLE t(v);
INSERT INTO t VALUES (vec_f32('[1,2,3]')), (vec_int8('[1,2,3,4]'));
SELECT 'stored', rowid, vec_type(v), vec_length(v), vec_to_json(v) FROM t;
SELECT 'stored-int8', vec_to_json(vec_int8(v)) FROM t WHERE rowid = 2;
