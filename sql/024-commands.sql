-- The maintenance commands: integrity-check, rebuild, optimize (which
-- compacts the slots of deleted rows), ef_search=N, the errors of a bad
-- command, and integrity-check naming what is wrong in damaged shadow tables.
.mode list
.headers off
CREATE VIRTUAL TABLE t USING vec0(e float[2], u integer partition key, +note);
INSERT INTO t(t) VALUES ('integrity-check');
INSERT INTO t(rowid, e, u, note) SELECT value, '[' || value || ',0]', value % 3, 'n' || value FROM generate_series(1, 1000);
INSERT INTO t(t) VALUES ('integrity-check');
DELETE FROM t WHERE rowid % 4 != 0;
SELECT 'before', (SELECT value FROM t_config WHERE key = 'next_slot'), (SELECT count(*) FROM t_slots), (SELECT count(*) FROM t_free), (SELECT count(*) FROM t_vectors0), (SELECT count(*) FROM t_links0);
INSERT INTO t(t) VALUES ('rebuild');
INSERT INTO t(t) VALUES ('integrity-check');
SELECT 'rebuilt', (SELECT value FROM t_config WHERE key = 'next_slot'), (SELECT count(*) FROM t_links0);
INSERT INTO t(t) VALUES ('optimize');
SELECT 'optimized', (SELECT value FROM t_config WHERE key = 'next_slot'), (SELECT count(*) FROM t_slots), (SELECT count(*) FROM t_free), (SELECT count(*) FROM t_vectors0), (SELECT count(*) FROM t_links0);
INSERT INTO t(t) VALUES ('integrity-check');
SELECT 'knn', group_concat(rowid) FROM (SELECT rowid FROM t WHERE e MATCH '[500,0]' AND k = 4 AND u = 1);
SELECT 'aux', note FROM t WHERE rowid = 500;
INSERT INTO t(rowid, e, u) VALUES (5000, '[500.5,0]', 1);
SELECT 'knn', group_concat(rowid) FROM (SELECT rowid FROM t WHERE e MATCH '[500,0]' AND k = 4 AND u = 1);
-- ef_search=N persists a new default ef (case does not matter)
INSERT INTO t(t) VALUES ('EF_SEARCH=120');
SELECT 'ef', value FROM t_config WHERE key = 'ef_search.0';
INSERT INTO t(t) VALUES ('ef_search=0');
INSERT INTO t(t) VALUES ('ef_search=100001');
INSERT INTO t(t) VALUES ('ef_search=12x');
INSERT INTO t(t) VALUES ('ef_search=');
INSERT INTO t(t) VALUES ('vacuum');
INSERT INTO t(t) VALUES (NULL);
UPDATE t SET t = 'optimize' WHERE rowid = 500;
-- damage, one thing at a time, and what integrity-check says
CREATE VIRTUAL TABLE d USING vec0(e float[2] indexed by flat(), m integer);
INSERT INTO d(rowid, e, m) VALUES (1, '[1,1]', 1), (2, '[2,2]', 2), (3, '[3,3]', 3);
UPDATE d_rows SET slot = 2 WHERE id = 1;
INSERT INTO d(d) VALUES ('integrity-check');
UPDATE d_rows SET slot = 0 WHERE id = 1;
UPDATE d_vectors0 SET v = x'00' WHERE chunk = 0;
INSERT INTO d(d) VALUES ('integrity-check');
SELECT 'knn-on-damaged', count(*) FROM d WHERE e MATCH '[0,0]' AND k = 1;
-- warm: every vector and graph node read into this connection's cache now;
-- cache_budget=N (MiB, per connection): above it a column is read lazily only
-- (here the 1000-row table's 8 KB of vectors are above a 0 MiB budget)
INSERT INTO t(t) VALUES ('cache_budget=0');
INSERT INTO t(t) VALUES ('warm');
SELECT 'budget-0', vectors_cached < rows, cache_complete FROM vec0_info('t');
INSERT INTO t(t) VALUES ('CACHE_BUDGET=1');
INSERT INTO t(t) VALUES ('warm');
SELECT 'warm', vectors_cached = slots, cache_complete FROM vec0_info('t');
SELECT 'knn-warm', group_concat(rowid) FROM (SELECT rowid FROM t WHERE e MATCH '[500,0]' AND k = 4 AND u = 1);
INSERT INTO t(t) VALUES ('cache_budget=-1');
INSERT INTO t(t) VALUES ('cache_budget=1048577');
INSERT INTO t(t) VALUES ('cache_budget=');
INSERT INTO t(t) VALUES ('warm=1');
