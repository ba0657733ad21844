-- Hybrid search: full-text ranking (FTS5, bm25) and vector similarity (vec0
-- KNN) fused by reciprocal rank fusion, in one SQL statement.
--
-- Each list contributes 1 / (60 + rank) for every document it returns, and
-- the documents are ordered by the sum: a document both searches find rises
-- to the top, and one found by only one of them still counts.  60 is the
-- constant of the original RRF paper (Cormack et al., 2009); it damps the
-- weight of the first few ranks.
--
-- The 6-dimensional embeddings are made by hand (one dimension per theme:
-- phones, energy, cars, cooking, outdoors, money) so the example needs no
-- model.
--
--   sqlite3 :memory: < examples/sql/hybrid_search.sql
.load ./dist/vec0
.mode box

CREATE TABLE docs(id INTEGER PRIMARY KEY, title TEXT NOT NULL, body TEXT NOT NULL);
INSERT INTO docs VALUES
  (1, 'Phone battery tips', 'Keep the battery between 20 and 80 percent to make it last longer.'),
  (2, 'Electric car range', 'Cold weather shortens the range of an electric car battery.'),
  (3, 'Home solar storage', 'A home battery stores solar energy for the evening.'),
  (4, 'Charging overnight', 'Is it bad to leave a phone charging overnight? Modern chargers stop at full.'),
  (5, 'Camping power', 'A small power bank and a solar panel keep devices alive outdoors.'),
  (6, 'Battery of tests', 'The new recruits faced a battery of fitness tests.'),
  (7, 'Cast iron care', 'Dry the pan and oil it lightly after every wash.'),
  (8, 'Saving on energy bills', 'Shift heavy appliances to cheap night tariffs.');

-- The full-text index reads its text from docs (external content).
CREATE VIRTUAL TABLE docs_fts USING fts5(title, body, content='docs', content_rowid='id');
INSERT INTO docs_fts(docs_fts) VALUES ('rebuild');

--                                                 phone energy cars cook outd money
CREATE VIRTUAL TABLE docs_vec USING vec0(embedding float[6] distance_metric=cosine);
INSERT INTO docs_vec(rowid, embedding) VALUES
  (1, '[0.9, 0.4, 0.0, 0.0, 0.0, 0.0]'),
  (2, '[0.0, 0.6, 0.8, 0.0, 0.0, 0.0]'),
  (3, '[0.0, 0.9, 0.0, 0.0, 0.0, 0.3]'),
  (4, '[0.9, 0.3, 0.0, 0.0, 0.0, 0.0]'),
  (5, '[0.4, 0.6, 0.0, 0.0, 0.7, 0.0]'),
  (6, '[0.0, 0.0, 0.0, 0.0, 0.3, 0.0]'),
  (7, '[0.0, 0.0, 0.0, 1.0, 0.0, 0.0]'),
  (8, '[0.0, 0.7, 0.0, 0.0, 0.0, 0.7]');

-- "how do I make my phone battery last": the words for FTS5, an embedding
-- of the question for vec0 (mostly phones, some energy).
WITH
  fts AS (
    SELECT rowid AS id, row_number() OVER (ORDER BY rank, rowid) AS r
      FROM docs_fts
     WHERE docs_fts MATCH 'phone OR battery OR last'
     ORDER BY rank, rowid
     LIMIT 5
  ),
  vec AS (
    SELECT rowid AS id, row_number() OVER (ORDER BY distance, rowid) AS r
      FROM docs_vec
     WHERE embedding MATCH '[0.8, 0.5, 0.0, 0.0, 0.1, 0.0]' AND k = 5
  ),
  fused AS (
    SELECT id, r AS fts_rank, NULL AS vec_rank, 1.0 / (60 + r) AS score FROM fts
    UNION ALL
    SELECT id, NULL, r, 1.0 / (60 + r) FROM vec
  )
SELECT docs.id, docs.title, max(fts_rank) AS fts_rank, max(vec_rank) AS vec_rank,
       round(sum(score), 5) AS rrf_score
  FROM fused JOIN docs ON docs.id = fused.id
 GROUP BY docs.id
 ORDER BY rrf_score DESC, docs.id
 LIMIT 5;
