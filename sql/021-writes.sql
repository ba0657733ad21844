-- Writes to a vec0 table: INSERT with and without a key, the conflict
-- clauses, UPDATE of every kind of column (vector and key included), DELETE,
-- and the reuse of free slots (the lowest first) seen in the shadow tables.
.mode list
.headers off

-- rowid table
CREATE VIRTUAL TABLE r USING vec0(v float[2] indexed by flat(), tag text, +note);
INSERT INTO r(v, tag, note) VALUES ('[1,1]', 'a', 'first');
INSERT INTO r(rowid, v, tag, note) VALUES (10, '[10,10]', 'b', 2);
INSERT INTO r(v, tag) VALUES ('[11,11]', 'c');
SELECT 'r', rowid, vec_to_json(v), tag, quote(note) FROM r;
SELECT 'r-changes', changes(), last_insert_rowid();
-- plain conflict: an error, the row is unchanged
INSERT INTO r(rowid, v, tag) VALUES (10, '[0,0]', 'dup');
SELECT 'r-10', rowid, vec_to_json(v), tag FROM r WHERE rowid = 10;
-- OR IGNORE keeps the old row
INSERT OR IGNORE INTO r(rowid, v, tag) VALUES (10, '[0,0]', 'ignored');
SELECT 'r-ignore', rowid, vec_to_json(v), tag, quote(note) FROM r WHERE rowid = 10;
-- OR REPLACE replaces every column
INSERT OR REPLACE INTO r(rowid, v, tag) VALUES (10, '[5,5]', 'replaced');
SELECT 'r-replace', rowid, vec_to_json(v), tag, quote(note) FROM r WHERE rowid = 10;
REPLACE INTO r(rowid, v, tag) VALUES (12, '[12,12]', 'new');
SELECT 'r-count', count(*) FROM r;
INSERT INTO r(r) VALUES ('integrity-check');

-- integer primary key table with every kind of column
CREATE VIRTUAL TABLE t USING vec0(
  id integer primary key,
  v float[2] indexed by flat(),
  q int8[2] indexed by flat(),
  b bit[8],
  grp integer partition key,
  lang text,
  score float,
  year integer,
  ok boolean,
  +body text
);
INSERT INTO t VALUES (1, '[1,0]', vec_int8('[1,-1]'), vec_bit(x'01'), 1, 'en', 0.5, 2001, 1, 'one');
INSERT INTO t(id, v, q, b, grp, lang, score, year, ok, body) VALUES (2, '[2,0]', vec_int8('[2,-2]'), vec_bit(x'03'), 1, 'fr', 1.5, 2002, 0, 'two');
-- no key: the next rowid
INSERT INTO t(v, q, b, grp, lang, score, year, ok, body) VALUES ('[3,0]', vec_int8('[3,-3]'), vec_bit(x'07'), 2, 'de', 2, 2003, 1, NULL);
-- vectors as BLOBs, metadata NULL
INSERT INTO t(id, v, q, b, grp) VALUES (7, vec_f32('[7,0]'), vec_int8('[7,-7]'), vec_bit(x'FF'), 2);
SELECT 'last', last_insert_rowid();
SELECT 't', id, vec_to_json(v), vec_to_json(q), hex(b), grp, quote(lang), quote(score), quote(year), quote(ok), quote(body) FROM t;
-- a float metadata given an integer stores a float
SELECT 't-score-type', id, typeof(score) FROM t WHERE id = 3;
SELECT 't-slots', * FROM t_slots;
SELECT 't-rows', * FROM t_rows;

-- conflicts on the integer key
INSERT INTO t(id, v, q, b, grp) VALUES (1, '[9,9]', vec_int8('[9,9]'), vec_bit(x'00'), 9);
INSERT OR IGNORE INTO t(id, v, q, b, grp) VALUES (1, '[9,9]', vec_int8('[9,9]'), vec_bit(x'00'), 9);
SELECT 't-1', id, vec_to_json(v), grp, lang FROM t WHERE id = 1;
INSERT OR REPLACE INTO t(id, v, q, b, grp, lang) VALUES (1, '[9,9]', vec_int8('[9,9]'), vec_bit(x'00'), 9, 'xx');
SELECT 't-1-replaced', id, vec_to_json(v), vec_to_json(q), hex(b), grp, lang, quote(score), quote(body) FROM t WHERE id = 1;
-- the replaced row's slot was freed; the new row has another partition key
-- (grp 9), so it takes a slot of its own group: slots are reused within a
-- group only, where their graph tombstones are
SELECT 't-slots-after-replace', slot, id FROM (SELECT slot, id FROM t_slots UNION ALL SELECT slot, NULL FROM t_free) ORDER BY slot;

-- UPDATE of each kind of column
UPDATE t SET v = '[2,2]' WHERE id = 2;
UPDATE t SET q = vec_int8('[-5,5]') WHERE id = 2;
UPDATE t SET b = vec_bit(x'AA') WHERE id = 2;
UPDATE t SET grp = 5 WHERE id = 2;
UPDATE t SET lang = 'it', score = 9.25, year = 1999, ok = 1 WHERE id = 2;
UPDATE t SET body = 'deux' WHERE id = 2;
SELECT 't-2', id, vec_to_json(v), vec_to_json(q), hex(b), grp, lang, score, year, ok, body FROM t WHERE id = 2;
-- set metadata to NULL
UPDATE t SET lang = NULL, score = NULL WHERE id = 2;
SELECT 't-2-null', quote(lang), quote(score) FROM t WHERE id = 2;
-- UPDATE of several rows at once
UPDATE t SET year = year + 1 WHERE year IS NOT NULL;
SELECT 't-years', group_concat(id || ':' || year, ' ') FROM t;
-- UPDATE of the integer key moves the row and keeps the slot
SELECT 't-slot-of-3', slot FROM t_rows WHERE id = 3;
UPDATE t SET id = 30 WHERE id = 3;
SELECT 't-30', id, vec_to_json(v), lang, body FROM t WHERE id = 30;
SELECT 't-3-gone', count(*) FROM t WHERE id = 3;
SELECT 't-slot-of-30', slot FROM t_rows WHERE id = 30;
SELECT 't-slots-row-30', id FROM t_slots WHERE slot = (SELECT slot FROM t_rows WHERE id = 30);
-- key update onto an existing key: error, nothing changes
UPDATE t SET id = 2 WHERE id = 30;
SELECT 't-after-conflict', group_concat(id, ',') FROM t;
-- UPDATE OR REPLACE onto an existing key removes the other row
UPDATE OR REPLACE t SET id = 2 WHERE id = 30;
SELECT 't-after-replace', group_concat(id, ',') FROM t;
SELECT 't-2-is-old-30', id, vec_to_json(v), lang FROM t WHERE id = 2;
INSERT INTO t(t) VALUES ('integrity-check');
-- the rowid is an alias of the integer primary key: setting it moves the
-- row, as in an ordinary table (setting either one to NULL is an error)
CREATE VIRTUAL TABLE ra USING vec0(id integer primary key, v float[1] indexed by flat());
INSERT INTO ra VALUES (1, '[1]'), (2, '[2]');
UPDATE ra SET rowid = 31 WHERE rowid = 1;
SELECT 'ra-rowid', id, rowid, vec_to_json(v) FROM ra;
UPDATE ra SET id = NULL WHERE id = 2;
UPDATE ra SET rowid = NULL WHERE id = 2;
SELECT 'ra-null', id, rowid, vec_to_json(v) FROM ra;
INSERT INTO ra(ra) VALUES ('integrity-check');

-- DELETE, then slot reuse: the lowest free slot of the row's group first
DELETE FROM t WHERE id = 1;
SELECT 't-deleted', count(*), group_concat(id, ',') FROM t;
SELECT 't-free-slots', group_concat(slot, ',') FROM (SELECT slot FROM t_free ORDER BY slot);
DELETE FROM t WHERE id = 7;
SELECT 't-free-slots', group_concat(slot, ',') FROM (SELECT slot FROM t_free ORDER BY slot);
INSERT INTO t(id, v, q, b, grp) VALUES (100, '[100,0]', vec_int8('[1,1]'), vec_bit(x'00'), 1);
INSERT INTO t(id, v, q, b, grp) VALUES (101, '[101,0]', vec_int8('[1,1]'), vec_bit(x'00'), 1);
INSERT INTO t(id, v, q, b, grp) VALUES (102, '[102,0]', vec_int8('[1,1]'), vec_bit(x'00'), 1);
SELECT 't-slots-reused', slot, quote(id) FROM (SELECT slot, id FROM t_slots UNION ALL SELECT slot, NULL FROM t_free) ORDER BY slot;
SELECT 't-next-slot', value FROM t_config WHERE key = 'next_slot';
SELECT 't-rows', value FROM t_config WHERE key = 'rows';
SELECT 't-final', id, vec_to_json(v) FROM t;
-- deleting a missing row is no error
DELETE FROM t WHERE id = 12345;
SELECT 't-changes', changes();
DELETE FROM t;
SELECT 't-empty', count(*), (SELECT count(*) FROM t_rows), (SELECT count(*) FROM t_slots), (SELECT count(*) FROM t_free) FROM t;
INSERT INTO t(t) VALUES ('integrity-check');

-- text primary key
CREATE VIRTUAL TABLE d USING vec0(doc text primary key, v float[2] indexed by flat(), +body);
INSERT INTO d VALUES ('alpha', '[1,0]', 'A');
INSERT INTO d(doc, v) VALUES ('beta', '[2,0]');
INSERT INTO d(doc, v, body) VALUES ('gamma', '[3,0]', 'G');
SELECT 'd', rowid, doc, vec_to_json(v), quote(body) FROM d;
INSERT INTO d(doc, v) VALUES ('alpha', '[9,9]');
INSERT OR IGNORE INTO d(doc, v) VALUES ('alpha', '[9,9]');
SELECT 'd-alpha', doc, vec_to_json(v), body FROM d WHERE doc = 'alpha';
INSERT OR REPLACE INTO d(doc, v, body) VALUES ('alpha', '[8,8]', 'A2');
SELECT 'd-alpha-replaced', doc, vec_to_json(v), body FROM d WHERE doc = 'alpha';
-- the text key can change
UPDATE d SET doc = 'bravo' WHERE doc = 'beta';
SELECT 'd-keys', group_concat(doc, ',') FROM (SELECT doc FROM d ORDER BY doc);
SELECT 'd-bravo', doc, vec_to_json(v) FROM d WHERE doc = 'bravo';
SELECT 'd-beta', count(*) FROM d WHERE doc = 'beta';
-- onto an existing key: an error; OR REPLACE removes the other row
UPDATE d SET doc = 'gamma' WHERE doc = 'bravo';
SELECT 'd-keys', group_concat(doc, ',') FROM (SELECT doc FROM d ORDER BY doc);
UPDATE OR REPLACE d SET doc = 'gamma' WHERE doc = 'bravo';
SELECT 'd-keys', group_concat(doc, ',') FROM (SELECT doc FROM d ORDER BY doc);
SELECT 'd-gamma', doc, vec_to_json(v), quote(body) FROM d WHERE doc = 'gamma';
UPDATE d SET v = '[4,4]', body = 'new' WHERE doc = 'gamma';
SELECT 'd-gamma', doc, vec_to_json(v), quote(body) FROM d WHERE doc = 'gamma';
DELETE FROM d WHERE doc = 'alpha';
SELECT 'd-final', doc, vec_to_json(v) FROM d;
INSERT INTO d(d) VALUES ('integrity-check');

-- errors: each leaves the table as it was
CREATE VIRTUAL TABLE w USING vec0(id integer primary key, v float[2] indexed by flat(), grp integer partition key, n integer, f float, s text, ok boolean);
INSERT INTO w VALUES (1, '[1,1]', 1, 1, 1.0, 'x', 1);
INSERT INTO w(id, v, grp) VALUES (2, NULL, 1);
INSERT INTO w(id, grp) VALUES (2, 1);
INSERT INTO w(id, v, grp) VALUES (2, '[1,2,3]', 1);
INSERT INTO w(id, v, grp) VALUES (2, '[1,2', 1);
INSERT INTO w(id, v, grp) VALUES (2, vec_int8('[1,2]'), 1);
INSERT INTO w(id, v, grp) VALUES (2, '[1,2]', 'one');
INSERT INTO w(id, v, grp) VALUES (2, '[1,2]', NULL);
INSERT INTO w(id, v, grp, n) VALUES (2, '[1,2]', 1, 'ten');
INSERT INTO w(id, v, grp, n) VALUES (2, '[1,2]', 1, 1.5);
INSERT INTO w(id, v, grp, f) VALUES (2, '[1,2]', 1, 'x');
INSERT INTO w(id, v, grp, s) VALUES (2, '[1,2]', 1, 5);
INSERT INTO w(id, v, grp, ok) VALUES (2, '[1,2]', 1, 2);
INSERT INTO w(id, v, grp, ok) VALUES (2, '[1,2]', 1, 'true');
INSERT INTO w(id, v, grp) VALUES ('two', '[1,2]', 1);
INSERT INTO w(id, v, grp, distance) VALUES (2, '[1,2]', 1, 0.5);
INSERT INTO w(id, v, grp, k) VALUES (2, '[1,2]', 1, 3);
UPDATE w SET v = NULL WHERE id = 1;
UPDATE w SET v = '[1]' WHERE id = 1;
UPDATE w SET n = 'x' WHERE id = 1;
UPDATE w SET ok = 7 WHERE id = 1;
UPDATE w SET grp = NULL WHERE id = 1;
SELECT 'w', id, vec_to_json(v), grp, n, f, s, ok FROM w;
SELECT 'w-shadow', (SELECT count(*) FROM w_rows), (SELECT count(*) FROM w_slots), (SELECT count(*) FROM w_vectors0);
INSERT INTO w(w) VALUES ('integrity-check');
