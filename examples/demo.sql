-- A first vector search: four documents, the two nearest to a query, then the
-- two nearest among the English ones.
.load ./dist/vec0
.mode box
SELECT vec_version() AS version;
CREATE VIRTUAL TABLE docs USING vec0(
  embedding float[4] distance_metric=cosine,
  lang text,
  +title text
);
INSERT INTO docs(rowid, embedding, lang, title) VALUES
  (1, '[0.9, 0.1, 0.0, 0.0]', 'en', 'cats purr'),
  (2, '[0.8, 0.2, 0.1, 0.0]', 'en', 'kittens sleep'),
  (3, '[0.0, 0.1, 0.9, 0.3]', 'fr', 'la bourse monte'),
  (4, '[0.1, 0.0, 0.8, 0.5]', 'en', 'stocks fall');
SELECT rowid, title, round(distance, 4) AS distance
  FROM docs
 WHERE embedding MATCH '[1, 0, 0, 0]' AND k = 2
 ORDER BY distance;
SELECT rowid, title, round(distance, 4) AS distance
  FROM docs
 WHERE embedding MATCH '[0, 0, 1, 0.4]' AND k = 2 AND lang = 'en';
