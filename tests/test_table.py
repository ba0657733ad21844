"""The vec0 table from Python: exact and HNSW KNN against a brute-force
answer, persistence across reopen, two connections on one file, and the
transaction rules (ROLLBACK, SAVEPOINT, a failed statement changes nothing).
"""

import sqlite3

import pytest

from conftest import (brute_knn, connect, f32, integrity, knn, l2,
                      rand_vectors)

DIM = 12


def fill(con, table, vecs, start=1):
    con.execute("BEGIN")
    con.executemany("INSERT INTO %s(rowid, embedding) VALUES (?, ?)" % table,
                    ((start + i, f32(v)) for i, v in enumerate(vecs)))
    con.execute("COMMIT")
    return {start + i: v for i, v in enumerate(vecs)}


def assert_same(got, want):
    assert [r for r, _ in got] == [r for r, _ in want]
    for (_, d1), (_, d2) in zip(got, want):
        assert d1 == pytest.approx(d2, rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("index", ["flat()", "hnsw(m=8, ef_construction=64)"])
def test_knn_matches_brute_force(dbpath, index):
    con = connect(dbpath)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(embedding float[%d] "
                "indexed by %s)" % (DIM, index))
    rows = fill(con, "t", rand_vectors(400, DIM, 1))
    for q in rand_vectors(25, DIM, 2):
        # ef as large as the table makes the HNSW walk exhaustive
        got = knn(con, "t", q, 10, "AND ef = 400" if "hnsw" in index else "")
        assert_same(got, brute_knn(rows, q, 10))
    integrity(con, "t")


def test_hnsw_recall_default_settings(dbpath):
    con = connect(dbpath)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(embedding float[%d])" % DIM)
    rows = fill(con, "t", rand_vectors(2000, DIM, 3))
    hits = total = 0
    for q in rand_vectors(50, DIM, 4):
        want = {r for r, _ in brute_knn(rows, q, 10)}
        got = {r for r, _ in knn(con, "t", q, 10)}
        hits += len(want & got)
        total += 10
    assert hits / total >= 0.95


def test_reopen_keeps_rows_and_index(dbpath):
    con = connect(dbpath)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(embedding float[%d], "
                "tag text, +note)" % DIM)
    vecs = rand_vectors(300, DIM, 5)
    con.execute("BEGIN")
    for i, v in enumerate(vecs):
        con.execute("INSERT INTO t(rowid, embedding, tag, note) VALUES (?,?,?,?)",
                    (i + 1, f32(v), "even" if i % 2 == 0 else "odd", "n%d" % i))
    con.execute("COMMIT")
    q = rand_vectors(1, DIM, 6)[0]
    before = knn(con, "t", q, 5, "AND ef = 300")
    con.close()
    con = connect(dbpath)
    assert con.execute("SELECT count(*) FROM t").fetchone()[0] == 300
    assert knn(con, "t", q, 5, "AND ef = 300") == before
    assert con.execute("SELECT tag, note FROM t WHERE rowid = 8").fetchone() == \
        ("odd", "n7")
    integrity(con, "t")


def test_reopened_graph_turns_to_huge_pages(dbpath):
    # 8200 nodes at m=64: a link array of 8 MB, large enough that once a
    # reopened connection has read the whole graph it turns the array into
    # huge pages, 2 MiB after each query.  Its searches before, during and
    # after that agree with the connection that built the graph, and after writes of
    # its own, with a connection that reads the graph afresh.
    con = connect(dbpath)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(embedding float[4] "
                "indexed by hnsw(m=64, ef_construction=8))")
    vecs = rand_vectors(8200, 4, 41)
    con.execute("BEGIN")
    con.executemany("INSERT INTO t(rowid, embedding) VALUES (?, ?)",
                    ((i + 1, f32(v)) for i, v in enumerate(vecs)))
    con.execute("COMMIT")
    qs = rand_vectors(20, 4, 42)
    want = [knn(con, "t", q, 10, "AND ef = 32") for q in qs]
    other = connect(dbpath)
    assert [knn(other, "t", q, 10, "AND ef = 32") for q in qs] == want
    for i, v in enumerate(rand_vectors(50, 4, 43)):
        other.execute("INSERT INTO t(rowid, embedding) VALUES (?, ?)",
                      (9000 + i, f32(v)))
    fresh = connect(dbpath)
    assert [knn(other, "t", q, 10, "AND ef = 32") for q in qs] == \
        [knn(fresh, "t", q, 10, "AND ef = 32") for q in qs]
    integrity(other, "t")
    for c in (fresh, other, con):
        c.close()


def test_two_connections_see_each_other(dbpath):
    a = connect(dbpath)
    a.execute("CREATE VIRTUAL TABLE t USING vec0(embedding float[%d])" % DIM)
    b = connect(dbpath)
    rows = fill(a, "t", rand_vectors(200, DIM, 7))
    q = rand_vectors(1, DIM, 8)[0]
    # b reads what a committed
    assert_same(knn(b, "t", q, 5, "AND ef = 200"), brute_knn(rows, q, 5))
    # b writes; a's cached graph must notice
    nearest = knn(a, "t", q, 1, "AND ef = 200")[0][0]
    b.execute("DELETE FROM t WHERE rowid = ?", (nearest,))
    del rows[nearest]
    b.execute("INSERT INTO t(rowid, embedding) VALUES (999, ?)", (f32(q),))
    rows[999] = q
    assert_same(knn(a, "t", q, 5, "AND ef = 200"), brute_knn(rows, q, 5))
    # and a's write is seen by b, which has a cache of its own now
    a.execute("UPDATE t SET embedding = ? WHERE rowid = 999",
              (f32([5.0] * DIM),))
    rows[999] = [5.0] * DIM
    assert_same(knn(b, "t", q, 5, "AND ef = 200"), brute_knn(rows, q, 5))
    integrity(a, "t")
    integrity(b, "t")


@pytest.mark.parametrize("index", ["flat()", "hnsw(m=4)"])
def test_rollback_and_savepoints(dbpath, index):
    con = connect(dbpath)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(embedding float[%d] "
                "indexed by %s)" % (DIM, index))
    rows = fill(con, "t", rand_vectors(100, DIM, 9))
    q = rand_vectors(1, DIM, 10)[0]
    want = brute_knn(rows, q, 5)

    con.execute("BEGIN")
    con.execute("INSERT INTO t(rowid, embedding) VALUES (500, ?)", (f32(q),))
    con.execute("DELETE FROM t WHERE rowid = ?", (want[1][0],))
    assert knn(con, "t", q, 1, "AND ef = 200")[0][0] == 500
    con.execute("ROLLBACK")
    assert_same(knn(con, "t", q, 5, "AND ef = 200"), want)
    integrity(con, "t")

    con.execute("BEGIN")
    con.execute("INSERT INTO t(rowid, embedding) VALUES (501, ?)", (f32(q),))
    con.execute("SAVEPOINT s1")
    con.execute("INSERT INTO t(rowid, embedding) VALUES (502, ?)", (f32(q),))
    con.execute("DELETE FROM t WHERE rowid = ?", (want[0][0],))
    con.execute("ROLLBACK TO s1")
    con.execute("RELEASE s1")
    con.execute("COMMIT")
    rows[501] = q
    assert_same(knn(con, "t", q, 5, "AND ef = 200"), brute_knn(rows, q, 5))
    assert con.execute("SELECT count(*) FROM t WHERE rowid = 502").fetchone() == (0,)
    integrity(con, "t")


@pytest.mark.parametrize("index", ["flat()", "hnsw(m=4)"])
def test_failed_statement_changes_nothing(dbpath, index):
    """A statement that fails inside a transaction is undone alone; the
    earlier statements of the transaction stay, index included."""
    con = connect(dbpath)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(embedding float[%d] "
                "indexed by %s, tag integer)" % (DIM, index))
    vecs = rand_vectors(120, DIM, 11)
    con.execute("BEGIN")
    for i, v in enumerate(vecs[:100]):
        con.execute("INSERT INTO t(rowid, embedding, tag) VALUES (?, ?, 1)",
                    (i + 1, f32(v)))
    rows = {i + 1: v for i, v in enumerate(vecs[:100])}
    # a single-row insert that fails after parsing: wrong metadata type
    with pytest.raises(sqlite3.Error, match="vec0: "):
        con.execute("INSERT INTO t(rowid, embedding, tag) VALUES (101, ?, 'x')",
                    (f32(vecs[100]),))
    # a duplicate key
    with pytest.raises(sqlite3.IntegrityError):
        con.execute("INSERT INTO t(rowid, embedding, tag) VALUES (5, ?, 1)",
                    (f32(vecs[101]),))
    # a multi-row insert whose last row is bad: the earlier rows go too
    with pytest.raises(sqlite3.Error, match="vec0: "):
        con.execute("INSERT INTO t(rowid, embedding, tag) VALUES "
                    "(201, ?, 1), (202, ?, 1), (203, '[1,2]', 1)",
                    (f32(vecs[102]), f32(vecs[103])))
    # an UPDATE of many rows that fails part-way
    with pytest.raises(sqlite3.Error, match="vec0: "):
        con.execute("UPDATE t SET embedding = CASE WHEN rowid < 50 "
                    "THEN embedding ELSE '[1]' END")
    con.execute("INSERT INTO t(rowid, embedding, tag) VALUES (300, ?, 1)",
                (f32(vecs[110]),))
    rows[300] = vecs[110]
    con.execute("COMMIT")
    assert con.execute("SELECT group_concat(rowid) FROM t WHERE rowid > 100"
                       ).fetchone() == ("300",)
    for q in rand_vectors(10, DIM, 12):
        assert_same(knn(con, "t", q, 5, "AND ef = 200"), brute_knn(rows, q, 5))
    integrity(con, "t")
    con.close()
    con = connect(dbpath)
    integrity(con, "t")
    assert con.execute("SELECT count(*) FROM t").fetchone() == (101,)


def test_text_key_and_filters(dbpath):
    con = connect(dbpath)
    con.execute("CREATE VIRTUAL TABLE d USING vec0(doc text primary key, "
                "embedding float[%d], user_id integer partition key, "
                "lang text, +body)" % DIM)
    vecs = rand_vectors(300, DIM, 13)
    rows = {}
    con.execute("BEGIN")
    for i, v in enumerate(vecs):
        con.execute("INSERT INTO d(doc, embedding, user_id, lang, body) "
                    "VALUES (?, ?, ?, ?, ?)",
                    ("doc%d" % i, f32(v), i % 3, ["en", "fr"][i % 2], "b%d" % i))
        rows[i] = (v, i % 3, ["en", "fr"][i % 2])
    con.execute("COMMIT")
    q = rand_vectors(1, DIM, 14)[0]
    got = con.execute("SELECT doc, distance, body FROM d WHERE embedding MATCH ? "
                      "AND k = 7 AND user_id = 1 AND lang = 'fr' "
                      "ORDER BY distance", (f32(q),)).fetchall()
    want = sorted((l2(v, q), i) for i, (v, u, lang) in rows.items()
                  if u == 1 and lang == "fr")[:7]
    assert [g[0] for g in got] == ["doc%d" % i for _, i in want]
    assert [g[2] for g in got] == ["b%d" % i for _, i in want]
    for g, (d, _) in zip(got, want):
        assert g[1] == pytest.approx(d, rel=1e-5)
    integrity(con, "d")


@pytest.mark.parametrize("dim", [1, 3, 64, 784, 1100])
def test_chunks_across_writes(dbpath, dim):
    """Vectors share chunk rows; every kind of write keeps them right."""
    con = connect(dbpath)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(embedding float[%d] "
                "indexed by flat(), b int8[%d] indexed by flat())" % (dim, dim))
    vecs = rand_vectors(150, dim, 20 + dim)
    rows = {}

    def put(rid, v):
        con.execute("INSERT OR REPLACE INTO t(rowid, embedding, b) "
                    "VALUES (?, ?, vec_quantize_int8(?, 'unit'))",
                    (rid, f32(v), f32(v)))
        rows[rid] = v

    con.execute("BEGIN")
    for i, v in enumerate(vecs[:100]):
        put(i + 1, v)
    con.execute("COMMIT")
    for rid in range(1, 101, 3):
        con.execute("DELETE FROM t WHERE rowid = ?", (rid,))
        del rows[rid]
    for i, v in enumerate(vecs[100:130]):       # reuse the freed slots
        put(1000 + i, v)
    for rid in list(rows)[:20]:                 # rewrite in place
        put(rid, vecs[140 + rid % 10])
    integrity(con, "t")
    con.close()
    con = connect(dbpath)
    integrity(con, "t")
    got = dict(con.execute("SELECT rowid, embedding FROM t"))
    assert set(got) == set(rows)
    for rid, v in rows.items():
        assert got[rid] == f32(v)
    q = vecs[145]
    assert_same(knn(con, "t", q, 10), brute_knn(rows, q, 10))


def test_recall_after_deleting_half(dbpath):
    """Deleted nodes stay in the graph as tombstones that still route the
    walk, so recall does not fall when half the rows go; 'optimize' then
    rebuilds the graph without them."""
    con = connect(dbpath)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(embedding float[%d])" % DIM)
    rows = fill(con, "t", rand_vectors(4000, DIM, 30))
    con.execute("BEGIN")
    for rid in range(1, 4001, 2):
        con.execute("DELETE FROM t WHERE rowid = ?", (rid,))
        del rows[rid]
    con.execute("COMMIT")

    def recall():
        hits = 0
        for q in rand_vectors(60, DIM, 31):
            want = {r for r, _ in brute_knn(rows, q, 10)}
            got = [r for r, _ in knn(con, "t", q, 10)]
            assert len(got) == 10 and all(r in rows for r in got)
            hits += len(want & set(got))
        return hits / 600

    assert recall() >= 0.95
    integrity(con, "t")
    con.execute("INSERT INTO t(t) VALUES ('optimize')")
    integrity(con, "t")
    assert recall() >= 0.95


@pytest.mark.parametrize("index", ["flat()", "hnsw()", "hnsw(quantizer=int8)"])
def test_distances_beyond_float32(index):
    """Elements of 1e20 are finite float32 values, but their squares are not:
    every distance came out Inf, rows at Inf tied, and a KNN returned the
    farthest row first, or none under `distance < 1e30` (found by the
    atomicity tester).  A KNN whose answer depends on such a distance is now
    an error; the scalar functions recompute it in double."""
    con = connect(":memory:")
    assert con.execute("SELECT vec_distance_l2('[1e20]', '[0]'), "
                       "vec_distance_l1('[3e38]', '[-3e38]'), "
                       "vec_distance_dot('[1e20]', '[1e20]')").fetchone() == pytest.approx(
                           (1e20, 6e38, -1e40), rel=1e-6)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(e float[1] indexed by %s)" % index)
    con.execute("INSERT INTO t(rowid, e) VALUES (1, '[-1e20]'), (2, '[-5e19]'), (3, '[0]')")
    for sql in ["SELECT rowid FROM t WHERE e MATCH '[1e20]' AND k = 1",
                "SELECT rowid FROM t WHERE e MATCH '[1e20]' AND k = 3 AND distance < 1e30"]:
        with pytest.raises(sqlite3.Error, match=r'^vec0: .*column "e".*too large for float32'):
            con.execute(sql).fetchall()
    # near the query, where the distances fit, the answer stands
    assert con.execute("SELECT rowid, distance FROM t WHERE e MATCH '[1]' AND k = 1"
                       ).fetchall() == [(3, 1.0)]


@pytest.mark.parametrize("write", [
    "DELETE FROM t WHERE id > 5; INSERT INTO t(t) VALUES ('optimize')",
    "DELETE FROM t WHERE id > 5; INSERT INTO t(t) VALUES ('rebuild')",
    "DELETE FROM t WHERE id > 150; INSERT INTO t(id, emb, m) SELECT id + 1000, emb, m FROM t "
    "WHERE id <= 150",
    "DELETE FROM t WHERE id > 5",
])
def test_cursor_while_the_connection_writes(write):
    """A KNN or rowid-IN statement stepped while its own connection writes:
    each row it returns is a row of the table with its own distance, never
    one that left (it returned rowid 0, another row's distance, or
    SQLITE_CORRUPT_VTAB after 'optimize')."""
    con = connect(":memory:")
    con.execute("CREATE VIRTUAL TABLE t USING vec0(id integer primary key, emb float[2], "
                "m integer, +aux text)")
    con.execute("WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 200) "
                "INSERT INTO t(id, emb, m, aux) SELECT i, vec_f32(json_array(i, 0)), i, 'a' || i "
                "FROM c")
    for sql in ("SELECT id, distance, m, aux FROM t WHERE emb MATCH '[200, 0]' AND k = 20",
                "SELECT id, 200 - id, m, aux FROM t WHERE id IN (200, 199, 198, 197, 3, 2)"):
        cur = con.execute(sql)
        first = cur.fetchone()
        con.executescript(write)
        live = {r[0] for r in con.execute("SELECT id FROM t")}
        # Python's cursor had stepped to the second row before the write
        for i, (rowid, dist, m, aux) in enumerate(cur.fetchall()):
            assert i == 0 or rowid in live
            assert abs(dist - abs(200 - rowid)) < 1e-4 and m == rowid and aux == "a%d" % rowid
        assert first[0] in (200, 2)
        con.execute("DROP TABLE t")
        con.execute("CREATE VIRTUAL TABLE t USING vec0(id integer primary key, emb float[2], "
                    "m integer, +aux text)")
        con.execute("WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 200) "
                    "INSERT INTO t(id, emb, m, aux) SELECT i, vec_f32(json_array(i, 0)), i, "
                    "'a' || i FROM c")
    integrity(con, "t")
