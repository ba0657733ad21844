-- CREATE VIRTUAL TABLE ... USING vec0: the accepted forms (with the shadow
-- tables each one makes and the columns SQL sees) and the errors, each
-- naming the token at fault.
.mode list
.headers off

-- rowid table, one float vector with the default index (hnsw)
CREATE VIRTUAL TABLE r USING vec0(v float[4]);
SELECT 'r', name FROM sqlite_master WHERE name LIKE 'r\_%' ESCAPE '\' ORDER BY name;
SELECT 'r-cols', group_concat(name, ',') FROM pragma_table_info('r');
SELECT 'r-count', count(*) FROM r;

-- integer primary key, every metric, every element type, flat and hnsw
CREATE VIRTUAL TABLE ip USING vec0(
  id integer primary key,
  a float[3] distance_metric=l2 indexed by flat(),
  b float[3] distance_metric=cosine indexed by hnsw(),
  c float[3] distance_metric=l1 indexed by hnsw(m=4, ef_construction=20, ef_search=10),
  d float[3] distance_metric=dot,
  e int8[4] distance_metric=l2,
  f int8[4] distance_metric=cosine indexed by flat(),
  g bit[16],
  h bit[8] distance_metric=hamming indexed by flat()
);
SELECT 'ip', name FROM sqlite_master WHERE name LIKE 'ip\_%' ESCAPE '\' ORDER BY name;
SELECT 'ip-cols', group_concat(name, ',') FROM pragma_table_info('ip');

-- text primary key, partition keys, metadata of every type, auxiliary columns
CREATE VIRTUAL TABLE tp USING vec0(
  doc text primary key,
  emb float[2] indexed by flat(),
  user_id integer partition key,
  region text partition key,
  lang text,
  score float,
  year integer,
  ok boolean,
  +body text,
  +extra
);
SELECT 'tp', name FROM sqlite_master WHERE name LIKE 'tp\_%' ESCAPE '\' ORDER BY name;
SELECT 'tp-cols', group_concat(name, ',') FROM pragma_table_info('tp');
SELECT 'tp-rows', sql FROM sqlite_master WHERE name = 'tp_rows';
SELECT 'tp-slots', sql FROM sqlite_master WHERE name = 'tp_slots';
-- a fresh table is empty and consistent
INSERT INTO tp(tp) VALUES ('integrity-check');
SELECT 'tp-config', key, value FROM tp_config WHERE key IN ('format', 'rows', 'next_slot') ORDER BY key;

-- keywords are case-insensitive; the defaults of hnsw are accepted explicitly
CREATE VIRTUAL TABLE cs USING vec0(ID INTEGER PRIMARY KEY, V FLOAT[2] DISTANCE_METRIC=COSINE INDEXED BY HNSW(M=16, EF_CONSTRUCTION=200, EF_SEARCH=64));
SELECT 'cs-cols', group_concat(name, ',') FROM pragma_table_info('cs');
-- the largest dimension and the limits of hnsw parameters
CREATE VIRTUAL TABLE big USING vec0(v float[8192] indexed by flat());
SELECT 'big', count(*) FROM big;
CREATE VIRTUAL TABLE m2 USING vec0(v float[2] indexed by hnsw(m=2));
CREATE VIRTUAL TABLE m128 USING vec0(v float[2] indexed by hnsw(m=128));
SELECT 'hnsw-limits', count(*) FROM m2, m128;
-- 16 vector columns, 4 partition keys, 16 metadata, 16 auxiliary columns
CREATE VIRTUAL TABLE wide USING vec0(
  v1 float[1], v2 float[1], v3 float[1], v4 float[1], v5 float[1], v6 float[1], v7 float[1], v8 float[1],
  v9 float[1], v10 float[1], v11 float[1], v12 float[1], v13 float[1], v14 float[1], v15 float[1], v16 float[1],
  p1 integer partition key, p2 integer partition key, p3 text partition key, p4 text partition key,
  m1 integer, m2 integer, m3 integer, m4 integer, m5 float, m6 float, m7 float, m8 float,
  m9 text, m10 text, m11 text, m12 text, m13 boolean, m14 boolean, m15 boolean, m16 boolean,
  +a1, +a2, +a3, +a4, +a5, +a6, +a7, +a8, +a9, +a10, +a11, +a12, +a13, +a14, +a15, +a16);
SELECT 'wide', count(*) FROM pragma_table_info('wide');

-- errors: nothing is created, each message names the token
CREATE VIRTUAL TABLE e USING vec0();
CREATE VIRTUAL TABLE e USING vec0(x integer);
CREATE VIRTUAL TABLE e USING vec0(v float[0]);
CREATE VIRTUAL TABLE e USING vec0(v float[8193]);
CREATE VIRTUAL TABLE e USING vec0(v float[-1]);
CREATE VIRTUAL TABLE e USING vec0(v float[abc]);
CREATE VIRTUAL TABLE e USING vec0(v float);
CREATE VIRTUAL TABLE e USING vec0(v double[2]);
CREATE VIRTUAL TABLE e USING vec0(v bit[7]);
CREATE VIRTUAL TABLE e USING vec0(v float[2], v float[3]);
CREATE VIRTUAL TABLE e USING vec0(v float[2], V integer);
CREATE VIRTUAL TABLE e USING vec0(v float[2], foo=bar);
CREATE VIRTUAL TABLE e USING vec0(v float[2] distance_metric=euclid);
CREATE VIRTUAL TABLE e USING vec0(v float[2] distance_metric=hamming);
CREATE VIRTUAL TABLE e USING vec0(v bit[8] distance_metric=l2);
CREATE VIRTUAL TABLE e USING vec0(v float[2] indexed by btree());
CREATE VIRTUAL TABLE e USING vec0(v float[2] indexed by hnsw(m=1));
CREATE VIRTUAL TABLE e USING vec0(v float[2] indexed by hnsw(m=129));
CREATE VIRTUAL TABLE e USING vec0(v float[2] indexed by hnsw(ef_construction=0));
CREATE VIRTUAL TABLE e USING vec0(v float[2] indexed by hnsw(q=1));
CREATE VIRTUAL TABLE e USING vec0(v float[2] indexed by flat(m=4));
CREATE VIRTUAL TABLE e USING vec0(v float[2], x blob);
CREATE VIRTUAL TABLE e USING vec0(v float[2], x float partition key);
CREATE VIRTUAL TABLE e USING vec0(id integer primary key, id2 integer primary key, v float[2]);
CREATE VIRTUAL TABLE e USING vec0(id float primary key, v float[2]);
CREATE VIRTUAL TABLE e USING vec0(v float[2], p1 integer partition key, p2 integer partition key, p3 integer partition key, p4 integer partition key, p5 integer partition key);
CREATE VIRTUAL TABLE e USING vec0(v1 float[1], v2 float[1], v3 float[1], v4 float[1], v5 float[1], v6 float[1], v7 float[1], v8 float[1], v9 float[1], v10 float[1], v11 float[1], v12 float[1], v13 float[1], v14 float[1], v15 float[1], v16 float[1], v17 float[1]);
CREATE VIRTUAL TABLE e USING vec0(v float[2], distance float);
CREATE VIRTUAL TABLE e USING vec0(v float[2], k integer);
CREATE VIRTUAL TABLE e USING vec0(v float[2], rowid integer);
SELECT 'after-errors', count(*) FROM sqlite_master WHERE name LIKE 'e%';
-- a table name that is already taken
CREATE VIRTUAL TABLE r USING vec0(v float[4]);
-- quoted names survive in the shadow tables
CREATE VIRTUAL TABLE "my table" USING vec0("my vec" float[2] indexed by flat(), "the tag" text);
INSERT INTO "my table"("my vec", "the tag") VALUES ('[1,2]', 'x');
SELECT 'quoted', rowid, vec_to_json("my vec"), "the tag" FROM "my table";
SELECT 'quoted-shadow', name FROM sqlite_master WHERE name LIKE 'my table%' ORDER BY name;
