-- Reading a vec0 table without a KNN search: full scans, point lookups by
-- rowid / integer key / text key, IN lists, and the hidden columns outside
-- a KNN query.
.mode list
.headers off

CREATE VIRTUAL TABLE t USING vec0(id integer primary key, v float[2] indexed by flat(), lang text, +body);
INSERT INTO t(id, v, lang, body) VALUES
  (5, '[5,0]', 'en', 'five'), (1, '[1,0]', 'fr', 'one'), (3, '[3,0]', 'en', 'three'),
  (4, '[4,0]', NULL, 'four'), (2, '[2,0]', 'de', NULL);
.headers on
SELECT id, vec_to_json(v) AS v, lang, body FROM t;
.headers off
-- SELECT * returns the declared columns only (the vector as a float32 BLOB)
SELECT 'star', id, typeof(v), length(v), lang, body FROM (SELECT * FROM t) WHERE id = 1;
SELECT 'star-count', count(*) FROM (SELECT * FROM t);
-- hidden columns are NULL outside a KNN query
SELECT 'hidden', quote(distance), quote(k) FROM t WHERE id = 1;
SELECT 'rowid', rowid, id FROM t WHERE rowid = 3;
SELECT 'pk', id, body FROM t WHERE id = 4;
SELECT 'missing', count(*) FROM t WHERE id = 99;
SELECT 'pk-text-arg', id FROM t WHERE id = '2';
SELECT 'pk-bad-arg', count(*) FROM t WHERE id = 'x';
SELECT 'in', group_concat(id, ',') FROM t WHERE id IN (4, 2, 99, 4);
SELECT 'rowid-in', group_concat(rowid, ',') FROM t WHERE rowid IN (SELECT value FROM json_each('[5,1,7]'));
SELECT 'range', group_concat(id, ',') FROM t WHERE id BETWEEN 2 AND 4;
SELECT 'meta-filter', group_concat(id, ',') FROM t WHERE lang = 'en';
SELECT 'meta-null', group_concat(id, ',') FROM t WHERE lang IS NULL;
SELECT 'aux-filter', group_concat(id, ',') FROM t WHERE body LIKE 't%';
SELECT 'order-desc', group_concat(id, ',') FROM (SELECT id FROM t ORDER BY id DESC);
SELECT 'order-lang', group_concat(id, ',') FROM (SELECT id FROM t ORDER BY lang, id);
SELECT 'vec-fn', id, vec_length(v), vec_distance_l2(v, '[0,0]') FROM t WHERE id = 3;
SELECT 'limit', group_concat(id, ',') FROM (SELECT id FROM t LIMIT 2 OFFSET 1);
-- a join on the key, vec0 on either side
CREATE TABLE names(id INTEGER PRIMARY KEY, name TEXT);
INSERT INTO names VALUES (1, 'uno'), (3, 'tres'), (9, 'nueve');
SELECT 'join', t.id, n.name FROM names n JOIN t ON t.id = n.id ORDER BY t.id;
SELECT 'join2', t.id, n.name FROM t JOIN names n ON n.id = t.id ORDER BY t.id;
SELECT 'left', n.id, quote(t.lang) FROM names n LEFT JOIN t ON t.id = n.id ORDER BY n.id;

-- int8 and bit vectors come back with their subtype
CREATE VIRTUAL TABLE q USING vec0(a int8[3] indexed by flat(), b bit[16]);
INSERT INTO q(rowid, a, b) VALUES (1, vec_int8('[1,-2,3]'), vec_bit(x'0F80'));
SELECT 'types', vec_to_json(a), vec_type(a), subtype(a), hex(b), vec_type(b), subtype(b) FROM q;

-- text key: lookups by the key and by the internal rowid
CREATE VIRTUAL TABLE d USING vec0(doc text primary key, v float[1] indexed by flat());
INSERT INTO d VALUES ('b', '[2]'), ('a', '[1]'), ('c', '[3]');
SELECT 'd', rowid, doc, vec_to_json(v) FROM d;
SELECT 'd-key', rowid, doc FROM d WHERE doc = 'a';
SELECT 'd-key-in', group_concat(doc, ',') FROM d WHERE doc IN ('c', 'b', 'zz');
SELECT 'd-key-missing', count(*) FROM d WHERE doc = 'zz';
SELECT 'd-key-int', count(*) FROM d WHERE doc = 1;
SELECT 'd-rowid', doc FROM d WHERE rowid = 3;
SELECT 'd-like', group_concat(doc, ',') FROM d WHERE doc > 'a';
-- an empty table
CREATE VIRTUAL TABLE e USING vec0(v float[1]);
SELECT 'empty', count(*), (SELECT count(*) FROM e WHERE rowid = 1) FROM e;
-- a self-join: two full scans of one table at once
SELECT 'self-join', group_concat(a.id || '<' || b.id) FROM t a, t b WHERE a.id < b.id AND a.id <= 2 AND b.id <= 3;
