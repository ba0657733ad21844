-- Semantic search: articles live in an ordinary table, their embeddings in a
-- vec0 table keyed by the article id, and KNN results are joined back to
-- the articles and their authors.  The 8-dimensional "embeddings" are made
-- by hand (one dimension per topic: animals, food, money, sport, computers,
-- travel, health, music) so the example needs no model; a real application
-- stores the output of an embedding model the same way.
--
--   sqlite3 :memory: < examples/sql/semantic_search.sql
.load ./dist/vec0
.mode box

CREATE TABLE authors(id INTEGER PRIMARY KEY, name TEXT NOT NULL);
INSERT INTO authors VALUES (1, 'Ada'), (2, 'Brian'), (3, 'Chen');

CREATE TABLE articles(
  id INTEGER PRIMARY KEY,
  author_id INTEGER NOT NULL REFERENCES authors(id),
  year INTEGER NOT NULL,
  title TEXT NOT NULL
);
INSERT INTO articles VALUES
  (1, 1, 2021, 'Why cats knock things off tables'),
  (2, 2, 2022, 'Training a puppy in ten minutes a day'),
  (3, 3, 2023, 'Sourdough for beginners'),
  (4, 1, 2023, 'Index funds explained'),
  (5, 2, 2024, 'Marathon training on a budget'),
  (6, 3, 2024, 'Rust for Python programmers'),
  (7, 1, 2024, 'Street food of Hanoi'),
  (8, 2, 2022, 'What your dog''s diet says about its health'),
  (9, 3, 2021, 'GPU prices and the crypto market'),
  (10, 1, 2023, 'Playlists that make you run faster');

-- cosine distance: only the direction of an embedding matters.  The year is
-- a metadata column, so it can filter inside the KNN search.
CREATE VIRTUAL TABLE article_embeddings USING vec0(
  article_id integer primary key,
  embedding float[8] distance_metric=cosine,
  year integer
);
-- The year is copied from the article so that it can filter the search.
--                                                        anim food money sport comp trav heal music
INSERT INTO article_embeddings(article_id, year, embedding) VALUES
  (1,  2021, '[0.9, 0.0, 0.0, 0.0, 0.0, 0.0, 0.1, 0.0]'),
  (2,  2022, '[0.8, 0.0, 0.0, 0.2, 0.0, 0.0, 0.1, 0.0]'),
  (3,  2023, '[0.0, 0.9, 0.1, 0.0, 0.0, 0.0, 0.1, 0.0]'),
  (4,  2023, '[0.0, 0.0, 0.9, 0.0, 0.1, 0.0, 0.0, 0.0]'),
  (5,  2024, '[0.0, 0.1, 0.2, 0.8, 0.0, 0.0, 0.4, 0.0]'),
  (6,  2024, '[0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]'),
  (7,  2024, '[0.0, 0.7, 0.0, 0.0, 0.0, 0.7, 0.0, 0.0]'),
  (8,  2022, '[0.6, 0.4, 0.0, 0.0, 0.0, 0.0, 0.6, 0.0]'),
  (9,  2021, '[0.0, 0.0, 0.7, 0.0, 0.7, 0.0, 0.0, 0.0]'),
  (10, 2023, '[0.0, 0.0, 0.0, 0.6, 0.0, 0.0, 0.1, 0.8]');

-- 1. "looking after pets": the three nearest articles, with their authors.
--    The KNN runs in a CTE; the join adds the ordinary columns.
WITH nearest AS (
  SELECT article_id, distance
    FROM article_embeddings
   WHERE embedding MATCH '[0.8, 0.1, 0.0, 0.0, 0.0, 0.0, 0.5, 0.0]' AND k = 3
)
SELECT a.title, au.name AS author, round(n.distance, 3) AS distance
  FROM nearest n
  JOIN articles a ON a.id = n.article_id
  JOIN authors au ON au.id = a.author_id
 ORDER BY n.distance;

-- 2. More like article 9: its own embedding is the query.  It is its own
--    nearest neighbour; "article_id != 9" leaves it out inside the search,
--    so k = 2 still gives two other articles.
SELECT a.id, a.title, round(e.distance, 3) AS distance
  FROM article_embeddings e
  JOIN articles a ON a.id = e.article_id
 WHERE e.embedding MATCH (SELECT embedding FROM article_embeddings WHERE article_id = 9)
   AND e.k = 2
   AND e.article_id != 9
 ORDER BY e.distance;

-- 3. "exercise and health", only articles from 2023 on: the year filter runs
--    inside the search, so k = 3 still returns three rows.
SELECT a.year, a.title, au.name AS author, round(e.distance, 3) AS distance
  FROM article_embeddings e
  JOIN articles a ON a.id = e.article_id
  JOIN authors au ON au.id = a.author_id
 WHERE e.embedding MATCH '[0.0, 0.1, 0.0, 0.7, 0.0, 0.0, 0.7, 0.0]'
   AND e.k = 3 AND e.year >= 2023
 ORDER BY e.distance;

-- 4. Every article of 2024, with its distance to "food and travel" when it
--    is among the 4 nearest (NULL otherwise): the KNN result on the right
--    of a LEFT JOIN.
WITH nearest AS (
  SELECT article_id, distance FROM article_embeddings
   WHERE embedding MATCH '[0.0, 0.6, 0.0, 0.0, 0.0, 0.8, 0.0, 0.0]' AND k = 4
)
SELECT a.title, round(n.distance, 3) AS distance
  FROM articles a
  LEFT JOIN nearest n ON n.article_id = a.id
 WHERE a.year = 2024
 ORDER BY n.distance IS NULL, n.distance, a.id;
