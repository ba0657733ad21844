-- KNN queries: MATCH with k, the hidden distance column, every filter that
-- runs inside the search (rowid/key IN, partition keys, metadata, distance
-- bounds), KNN in subqueries, CTEs and joins (vec0 on either side, LEFT
-- JOIN), each element type and metric, and every KNN error.  The tables are
-- flat (exact) so the answers are the exact ones.
.mode list
.headers off
CREATE VIRTUAL TABLE v USING vec0(id integer primary key, e float[2] indexed by flat(), grp integer partition key, lang text, score float, +body);
INSERT INTO v VALUES (1,'[1,0]',1,'en',0.5,'one'),(2,'[2,0]',1,'fr',1.5,'two'),(3,'[3,0]',2,'en',2.5,'three'),(4,'[4,0]',2,NULL,NULL,'four'),(5,'[5,0]',1,'en',3.5,'five');
CREATE TABLE names(id INTEGER PRIMARY KEY, name TEXT);
INSERT INTO names VALUES (1,'uno'),(2,'dos'),(3,'tres'),(9,'nueve');
SELECT 'basic', id, distance FROM v WHERE e MATCH '[0,0]' AND k = 3;
SELECT 'orderby', id, distance FROM v WHERE e MATCH '[0,0]' AND k = 3 ORDER BY distance DESC;
SELECT 'k0', count(*) FROM v WHERE e MATCH '[0,0]' AND k = 0;
SELECT 'kbig', count(*) FROM v WHERE e MATCH '[0,0]' AND k = 100;
SELECT 'dist', id FROM v WHERE e MATCH '[0,0]' AND k = 5 AND distance < 3;
SELECT 'dist2', id FROM v WHERE e MATCH '[0,0]' AND k = 5 AND distance >= 2 AND distance <= 4;
SELECT 'rowidin', id FROM v WHERE e MATCH '[0,0]' AND k = 5 AND rowid IN (2,4,9);
SELECT 'idin', id FROM v WHERE e MATCH '[0,0]' AND k = 5 AND id IN (2,4,9);
SELECT 'ideq', id FROM v WHERE e MATCH '[0,0]' AND k = 5 AND id = 3;
SELECT 'part', id FROM v WHERE e MATCH '[0,0]' AND k = 5 AND grp = 2;
SELECT 'meta', id FROM v WHERE e MATCH '[0,0]' AND k = 5 AND lang = 'en';
SELECT 'metane', id FROM v WHERE e MATCH '[0,0]' AND k = 5 AND lang != 'en';
SELECT 'metain', id FROM v WHERE e MATCH '[0,0]' AND k = 5 AND lang IN ('fr','de');
SELECT 'metagt', id FROM v WHERE e MATCH '[0,0]' AND k = 5 AND score > 1;
SELECT 'metanull', id FROM v WHERE e MATCH '[0,0]' AND k = 5 AND lang IS NULL;
SELECT 'metaor', id FROM v WHERE e MATCH '[0,0]' AND k = 5 AND (lang = 'fr' OR score > 3);
SELECT 'aux', id FROM v WHERE e MATCH '[0,0]' AND k = 5 AND body LIKE 't%';
SELECT 'sub', (SELECT id FROM v WHERE e MATCH '[3.1,0]' AND k = 1);
SELECT 'cte', id, distance FROM (WITH nn AS (SELECT id, distance FROM v WHERE e MATCH '[0,0]' AND k = 2) SELECT * FROM nn);
WITH q(vec) AS (SELECT '[5,0]') SELECT 'cte2', id FROM q, v WHERE v.e MATCH q.vec AND k = 2;
SELECT 'join', v.id, n.name, v.distance FROM v JOIN names n ON n.id = v.id WHERE v.e MATCH '[0,0]' AND k = 3;
SELECT 'join2', v.id, n.name FROM names n JOIN v ON n.id = v.id WHERE v.e MATCH '[0,0]' AND k = 3;
SELECT 'left', n.id, v.id FROM names n LEFT JOIN v ON v.id = n.id AND v.e MATCH '[0,0]' AND v.k = 2;
SELECT 'lateral', n.id, (SELECT group_concat(id) FROM v WHERE e MATCH vec_f32('[' || n.id || ',0]') AND k = 2) FROM names n;
SELECT 'inquery', id FROM v WHERE e MATCH (SELECT e FROM v WHERE id = 4) AND k = 2;
SELECT 'knn-limit', id FROM v WHERE e MATCH '[0,0]' AND k = 5 LIMIT 2;
SELECT 'ef', id FROM v WHERE e MATCH '[0,0]' AND k = 2 AND ef = 5;
-- the hidden k and ef give what the search used (ef: NULL for a flat index)
SELECT 'hidden', k, quote(ef) FROM v WHERE e MATCH '[0,0]' AND k = 2;
-- k and ef may come from another table of a join: it is read first
CREATE TABLE params(k, ef);
INSERT INTO params VALUES (2, 10), (1, 5);
SELECT 'k-join', params.k, v.id FROM params JOIN v ON v.e MATCH '[0,0]' AND v.k = params.k;
SELECT 'k-join2', params.k, v.id FROM v JOIN params ON v.e MATCH '[0,0]' AND v.k = params.k AND v.ef = params.ef;
SELECT 'err-nok', id FROM v WHERE e MATCH '[0,0]';
SELECT 'err-neg', id FROM v WHERE e MATCH '[0,0]' AND k = -1;
SELECT 'err-kbig', id FROM v WHERE e MATCH '[0,0]' AND k = 100001;
SELECT 'err-ktext', id FROM v WHERE e MATCH '[0,0]' AND k = 'x';
SELECT 'err-dim', id FROM v WHERE e MATCH '[0,0,0]' AND k = 1;
SELECT 'err-json', id FROM v WHERE e MATCH '[0,' AND k = 1;
SELECT 'err-null', id FROM v WHERE e MATCH NULL AND k = 1;
SELECT 'err-type', id FROM v WHERE e MATCH vec_int8('[1,2]') AND k = 1;
SELECT 'err-match-other', id FROM v WHERE lang MATCH 'x' AND k = 1;
SELECT 'limit-only', id FROM v WHERE e MATCH '[0,0]' ORDER BY distance LIMIT 2;
-- equal distances come out in the order the rows were stored (their slots),
-- so the same data always gives the same answer
CREATE VIRTUAL TABLE tie USING vec0(e float[1] indexed by flat());
INSERT INTO tie(rowid, e) VALUES (5, '[1]'), (3, '[-1]'), (4, '[1]'), (1, '[3]');
SELECT 'tie', group_concat(rowid) FROM (SELECT rowid FROM tie WHERE e MATCH '[0]' AND k = 3);
-- metrics and element types
CREATE VIRTUAL TABLE m USING vec0(
  c float[2] distance_metric=cosine indexed by flat(),
  d float[2] distance_metric=dot indexed by flat(),
  l1 float[2] distance_metric=l1 indexed by flat(),
  q int8[2] indexed by flat(),
  b bit[8]);
INSERT INTO m(rowid, c, d, l1, q, b) VALUES
  (1, '[1,0]', '[1,0]', '[1,0]', vec_int8('[1,0]'), vec_bit(x'0F')),
  (2, '[0,1]', '[0,2]', '[0,2]', vec_int8('[0,2]'), vec_bit(x'FF')),
  (3, '[1,1]', '[3,3]', '[3,3]', vec_int8('[3,3]'), vec_bit(x'00'));
SELECT 'cosine', rowid, round(distance, 4) FROM m WHERE c MATCH '[1,0.1]' AND k = 3;
SELECT 'dot', rowid, distance FROM m WHERE d MATCH '[1,1]' AND k = 3;
SELECT 'l1', rowid, distance FROM m WHERE l1 MATCH '[0,0]' AND k = 3;
SELECT 'int8', rowid, distance FROM m WHERE q MATCH vec_int8('[0,0]') AND k = 3;
SELECT 'bit', rowid, distance FROM m WHERE b MATCH vec_bit(x'07') AND k = 3;
SELECT 'fn-agree', count(*) FROM m WHERE c MATCH '[1,2]' AND k = 3 AND abs(distance - vec_distance_cosine(c, '[1,2]')) > 1e-6;
-- a zero vector, stored or queried, is at cosine distance 1 from every vector in a KNN
-- (as if orthogonal), where vec_distance_cosine() is NULL (0/0), as sqlite-vec's is
CREATE VIRTUAL TABLE z USING vec0(c float[2] distance_metric=cosine indexed by flat(),
  h float[2] distance_metric=cosine indexed by hnsw(m=4, ef_construction=8));
INSERT INTO z(rowid, c, h) VALUES (1, '[0,0]', '[0,0]'), (2, '[1,0]', '[1,0]'), (3, '[-1,0.5]', '[-1,0.5]');
SELECT 'cos-zero-row', rowid, round(distance, 4), quote(vec_distance_cosine(c, '[1,0.2]')) FROM z WHERE c MATCH '[1,0.2]' AND k = 3;
SELECT 'cos-zero-row-hnsw', rowid, round(distance, 4) FROM z WHERE h MATCH '[1,0.2]' AND k = 3;
SELECT 'cos-zero-query', rowid, distance FROM z WHERE h MATCH '[0,0]' AND k = 3;
-- an HNSW table answers exactly when ef covers it
CREATE VIRTUAL TABLE h USING vec0(e float[2]);
INSERT INTO h(rowid, e) SELECT value, '[' || value || ',' || (value % 7) || ']' FROM generate_series(1, 200);
SELECT 'hnsw', group_concat(rowid) FROM (SELECT rowid FROM h WHERE e MATCH '[50.2,1]' AND k = 5 AND ef = 200);
SELECT 'hnsw-filter', group_concat(rowid) FROM (SELECT rowid FROM h WHERE e MATCH '[50.2,1]' AND k = 5 AND rowid IN (10, 20, 30, 199));
SELECT 'hnsw-hidden', k, ef FROM h WHERE e MATCH '[50.2,1]' AND k = 3 AND ef = 50 LIMIT 1;
-- two MATCH constraints, and a key that is not an integer: vec0's own messages
CREATE VIRTUAL TABLE two USING vec0(a float[1], b float[1]);
SELECT rowid FROM two WHERE a MATCH '[1]' AND b MATCH '[1]' AND k = 1;
INSERT INTO two VALUES ('x', '[1]', '[1]');
INSERT INTO two VALUES (2.0, '[1]', '[2]');
SELECT * FROM two WHERE rowid = 2.0 AND a MATCH '[1]' AND k = 1.0;
