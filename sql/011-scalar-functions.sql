-- Scalar functions on vectors: version, debug, arithmetic, slicing,
-- distances (sqlite-vec's and our two additions) and quantization.
-- Inputs are chosen so every distance is exact in float32, whichever kernel
-- set (AVX-512, AVX2, NEON, portable) the machine picks.
.mode list
.headers off

SELECT 'version', vec_version();
-- vec_debug names the kernel set in use, which depends on the CPU
SELECT 'debug', vec_debug() LIKE 'Version: v0.1.0' || char(10) || 'kernels: %',
       vec_debug() LIKE '%kernels: avx512%' OR vec_debug() LIKE '%kernels: avx2%'
       OR vec_debug() LIKE '%kernels: neon%' OR vec_debug() LIKE '%kernels: portable%';

-- vec_add / vec_sub: element by element, same type in and out
SELECT 'add', vec_to_json(vec_add('[1,2]', '[3,4]')), subtype(vec_add('[1,2]', '[3,4]'));
SELECT 'sub', vec_to_json(vec_sub('[1,2]', '[3,5.5]'));
SELECT 'add-i8', vec_to_json(vec_add(vec_int8('[1,2]'), vec_int8('[3,-4]'))), subtype(vec_add(vec_int8('[1]'), vec_int8('[1]')));
-- int8 wraps around, as in sqlite-vec
SELECT 'add-i8-wrap', vec_to_json(vec_add(vec_int8('[100,-100]'), vec_int8('[100,-100]')));
SELECT 'sub-i8-wrap', vec_to_json(vec_sub(vec_int8('[-100]'), vec_int8('[100]')));

-- vec_normalize: float32 only, to unit L2 length (the norm in double, so
-- tiny vectors normalize too)
SELECT 'normalize', vec_to_json(vec_normalize('[3,4]')), subtype(vec_normalize('[3,4]'));
SELECT 'normalize-tiny', vec_to_json(vec_normalize('[1e-30, 0]'));
SELECT 'normalize-neg', vec_to_json(vec_normalize('[0, -2, 0, 0]'));

-- vec_slice(v, start, end): dimensions [start, end), from 0
SELECT 'slice', vec_to_json(vec_slice('[1,2,3,4]', 1, 3)), subtype(vec_slice('[1,2,3,4]', 1, 3));
SELECT 'slice-all', vec_to_json(vec_slice('[1,2,3]', 0, 3));
SELECT 'slice-i8', vec_to_json(vec_slice(vec_int8('[1,2,3]'), 0, 2)), subtype(vec_slice(vec_int8('[1,2,3]'), 0, 2));
-- bit vectors slice on byte boundaries (multiples of 8)
SELECT 'slice-bit', vec_to_json(vec_slice(vec_bit(x'F0FF'), 8, 16)), hex(vec_slice(vec_bit(x'F0FF01'), 8, 24)), subtype(vec_slice(vec_bit(x'F0FF'), 0, 8));
-- bounds given as text or real are converted, like sqlite-vec
SELECT 'slice-conv', vec_to_json(vec_slice('[1,2,3]', '1', 2)), vec_to_json(vec_slice('[1,2,3]', 1.5, 2));

-- distances between float32 vectors
SELECT 'l2', vec_distance_l2('[1,2]', '[4,6]'), vec_distance_l2('[1,2]', '[3,4]'), typeof(vec_distance_l2('[1]', '[1]'));
SELECT 'l2sq', vec_distance_l2sq('[1,2]', '[4,6]'), vec_distance_l2sq('[0,0,0]', '[1,2,3]');
SELECT 'l1', vec_distance_l1('[1,2]', '[3,5]'), vec_distance_l1('[1.5,2.25]', '[-3,3.125]'), typeof(vec_distance_l1('[1]', '[2]'));
SELECT 'dot', vec_distance_dot('[1,2,3]', '[4,5,6]'), vec_distance_dot('[1,0]', '[0,1]');
SELECT 'cosine', vec_distance_cosine('[1,0]', '[0,1]'), vec_distance_cosine('[1,2,3]', '[1,2,3]'), vec_distance_cosine('[1,2,3]', '[-1,-2,-3]'), vec_distance_cosine('[3,4]', '[4,3]');
-- the cosine of a zero vector is 0/0: NULL, like sqlite-vec
SELECT 'cosine-zero', quote(vec_distance_cosine('[0,0]', '[0,1]')), quote(vec_distance_cosine('[0,0]', '[0,0]'));
-- every length, odd ones included (the kernels' tail handling)
SELECT 'l2sq-lengths', group_concat(vec_distance_l2sq(
         '[' || (SELECT group_concat('1') FROM generate_series(1, n)) || ']',
         '[' || (SELECT group_concat('3') FROM generate_series(1, n)) || ']'), ',')
  FROM (SELECT value AS n FROM generate_series(1, 40));
SELECT 'dot-lengths', group_concat(vec_distance_dot(
         '[' || (SELECT group_concat('2') FROM generate_series(1, n)) || ']',
         '[' || (SELECT group_concat('-1.5') FROM generate_series(1, n)) || ']'), ',')
  FROM (SELECT value AS n FROM generate_series(1, 40));
SELECT 'l1-1000', vec_distance_l1(zeroblob(4000), vec_f32('[' || (SELECT group_concat('-0.5') FROM generate_series(1, 1000)) || ']'));

-- distances between int8 vectors (exact integer sums); L1 is an INTEGER,
-- as in sqlite-vec
SELECT 'i8-l2', vec_distance_l2(vec_int8('[1,2]'), vec_int8('[4,6]')), vec_distance_l2(vec_int8('[-128,127]'), vec_int8('[127,-128]'));
SELECT 'i8-l2sq', vec_distance_l2sq(vec_int8('[-128,127]'), vec_int8('[127,-128]'));
SELECT 'i8-l1', vec_distance_l1(vec_int8('[1,2]'), vec_int8('[4,-6]')), typeof(vec_distance_l1(vec_int8('[1,2]'), vec_int8('[4,-6]'))), vec_distance_l1(vec_int8('[-128,127]'), vec_int8('[127,-128]'));
SELECT 'i8-dot', vec_distance_dot(vec_int8('[1,2,3]'), vec_int8('[4,5,-6]'));
SELECT 'i8-cosine', vec_distance_cosine(vec_int8('[1,0]'), vec_int8('[0,5]')), vec_distance_cosine(vec_int8('[3,4]'), vec_int8('[-3,-4]')), quote(vec_distance_cosine(vec_int8('[0,0]'), vec_int8('[1,1]')));

-- hamming between bit vectors: the number of differing bits, as REAL
SELECT 'hamming', vec_distance_hamming(vec_bit(x'F0'), vec_bit(x'0F')), vec_distance_hamming(vec_bit(x'FF00'), vec_bit(x'FF01')), typeof(vec_distance_hamming(vec_bit(x'00'), vec_bit(x'00')));
-- 8192 bits: the first 8 and the last differ
SELECT 'hamming-long', vec_distance_hamming(vec_bit(zeroblob(1024)), vec_quantize_binary(
         '[' || (SELECT group_concat(CASE WHEN value <= 8 OR value = 8192 THEN '1' ELSE '-1' END)
                   FROM generate_series(1, 8192)) || ']'));

-- vec_quantize_binary: bit i set when element i > 0 (0 and -0 give 0)
SELECT 'qbin', vec_to_json(vec_quantize_binary('[1,-2,3,-4,5,6,-7,8]')), hex(vec_quantize_binary('[1,-2,3,-4,5,6,-7,8]')), subtype(vec_quantize_binary('[1,-2,3,-4,5,6,-7,8]'));
SELECT 'qbin-zero', vec_to_json(vec_quantize_binary('[0, -0.0, 1, 0.0001, -5, 2, 0, 1]'));
SELECT 'qbin-i8', vec_to_json(vec_quantize_binary(vec_int8('[1,-2,3,-4,5,6,-7,0]')));
SELECT 'qbin-16', hex(vec_quantize_binary('[1,1,1,1,1,1,1,1,-1,-1,-1,-1,-1,-1,-1,1]'));

-- vec_quantize_int8(v, 'unit'): [-1,1] onto -128..127 in steps of 2/255,
-- truncated toward zero, clamped outside; 'unit' in any case
SELECT 'qi8', vec_to_json(vec_quantize_int8('[0.5,-0.5,1,-1,0]', 'unit')), subtype(vec_quantize_int8('[0.5]', 'unit'));
SELECT 'qi8-clamp', vec_to_json(vec_quantize_int8('[2, -3, 0.001, 0.999, -0.999, 0.004]', 'unit'));
SELECT 'qi8-more', vec_to_json(vec_quantize_int8('[1.5,-1.5,-1.003,1.003,0.25,-0.25,0.75,-0.75]', 'UNIT'));

-- functions compose: the subtype carries the type from one to the next
SELECT 'compose', vec_distance_hamming(vec_quantize_binary('[1,-1,1,-1,1,-1,1,-1]'), vec_quantize_binary('[1,1,1,1,1,1,1,1]'));
SELECT 'compose-i8', vec_distance_l1(vec_quantize_int8('[0.5, 0.5]', 'unit'), vec_int8('[0, 0]'));
