"""The table as a schema object: RENAME and DROP take every shadow table
along, a table made by sqlite-vec or by a newer vec0 is refused with a
message that says so, the same statements give the same bytes in every
database (so replicas agree), and a WAL reader keeps its snapshot."""

import sqlite3

import pytest

from conftest import brute_knn, connect, f32, integrity, knn, rand_vectors

DIM = 6
SCHEMA = ("CREATE VIRTUAL TABLE %s USING vec0(id integer primary key, "
          "embedding float[%d], q int8[%d] indexed by flat(), u integer "
          "partition key, lang text, +body)")


def shadow_names(con, prefix):
    return sorted(r[0] for r in con.execute(
        "SELECT name FROM sqlite_schema WHERE name LIKE ? ESCAPE '\\' AND name != ?",
        (prefix.replace("_", "\\_") + "\\_%", prefix)))


def fill(con, name, n, seed):
    con.execute("BEGIN")
    for i, v in enumerate(rand_vectors(n, DIM, seed)):
        con.execute("INSERT INTO %s(id, embedding, q, u, lang, body) VALUES "
                    "(?, ?, vec_quantize_int8(?, 'unit'), ?, ?, ?)" % name,
                    (i + 1, f32(v), f32(v), i % 3, "en" if i % 2 else "fr",
                     "b%d" % i))
    con.execute("COMMIT")


def test_rename_and_drop(dbpath):
    con = connect(dbpath)
    con.execute(SCHEMA % ("docs", DIM, DIM))
    fill(con, "docs", 300, 1)
    before = shadow_names(con, "docs")
    assert len(before) >= 8
    q = rand_vectors(1, DIM, 2)[0]
    want = knn(con, "docs", q, 5, "AND u = 1")
    con.execute("ALTER TABLE docs RENAME TO papers")
    assert shadow_names(con, "docs") == []
    assert shadow_names(con, "papers") == [n.replace("docs", "papers", 1)
                                           for n in before]
    assert knn(con, "papers", q, 5, "AND u = 1") == want
    # the old name is free again: nothing of the renamed table kept it
    con.execute(SCHEMA % ("docs", DIM, DIM))
    fill(con, "docs", 20, 9)
    integrity(con, "docs")
    con.execute("DROP TABLE docs")
    con.execute("INSERT INTO papers(id, embedding, q, u) VALUES "
                "(1000, ?, vec_int8('[1,2,3,4,5,6]'), 1)", (f32(q),))
    integrity(con, "papers")
    con.close()
    con = connect(dbpath)
    assert knn(con, "papers", q, 1, "AND u = 1")[0][0] == 1000
    integrity(con, "papers")
    con.execute("DROP TABLE papers")
    assert shadow_names(con, "papers") == []
    assert con.execute("SELECT count(*) FROM sqlite_schema").fetchone() == (0,)


def test_sqlite_vec_table_is_refused(dbpath):
    # What a database written by sqlite-vec 0.1 holds: the vtab and its own
    # shadow tables (made here by hand, with the layout sqlite-vec uses).
    raw = sqlite3.connect(dbpath)
    raw.execute("PRAGMA writable_schema = ON")
    raw.execute("INSERT INTO sqlite_schema VALUES ('table', 'vec_items', "
                "'vec_items', 0, 'CREATE VIRTUAL TABLE vec_items USING "
                "vec0(embedding float[4])')")
    raw.execute("CREATE TABLE vec_items_chunks(chunk_id INTEGER PRIMARY KEY, "
                "size INTEGER, validity BLOB, rowids BLOB)")
    raw.execute("CREATE TABLE vec_items_rowids(rowid INTEGER PRIMARY KEY, "
                "id, chunk_id INTEGER, chunk_offset INTEGER)")
    raw.execute("CREATE TABLE vec_items_vector_chunks00(rowid INTEGER PRIMARY "
                "KEY, vectors BLOB NOT NULL)")
    raw.commit()
    raw.close()
    con = connect(dbpath)
    with pytest.raises(sqlite3.Error, match="created by sqlite-vec.*migrate"):
        con.execute("SELECT count(*) FROM vec_items").fetchone()
    # the data is untouched
    assert con.execute("SELECT count(*) FROM vec_items_chunks").fetchone() == (0,)


def test_newer_format_is_refused(dbpath):
    con = connect(dbpath)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(embedding float[2])")
    con.execute("INSERT INTO t(rowid, embedding) VALUES (1, '[1,2]')")
    con.execute("UPDATE t_config SET value = 999 WHERE key = 'format'")
    con.close()
    con = connect(dbpath)
    with pytest.raises(sqlite3.Error, match="format version 999.*upgrade"):
        con.execute("SELECT * FROM t").fetchall()


def dump(con, name):
    out = []
    for t in shadow_names(con, name):
        if con.execute("SELECT type FROM sqlite_schema WHERE name = ?",
                       (t,)).fetchone()[0] != "table":
            continue
        out.append((t, con.execute("SELECT * FROM %s ORDER BY 1" % t).fetchall()))
    return out


def test_same_statements_same_bytes(tmp_path):
    """Replicas that replay the same statements (rqlite) hold the same bytes:
    graph levels come from a hash of the rowid, never from a random source."""
    dumps = []
    for i in range(2):
        con = connect(str(tmp_path / ("r%d.db" % i)))
        con.execute(SCHEMA % ("docs", DIM, DIM))
        fill(con, "docs", 400, 3)
        con.execute("DELETE FROM docs WHERE id % 7 = 0")
        con.execute("UPDATE docs SET u = 5 WHERE id % 11 = 0")
        con.execute("UPDATE docs SET embedding = vec_normalize(embedding) "
                    "WHERE id % 13 = 0")
        fill_more = rand_vectors(50, DIM, 4)
        for j, v in enumerate(fill_more):
            con.execute("INSERT INTO docs(embedding, q, u) VALUES "
                        "(?, vec_int8('[0,0,0,0,0,0]'), 2)", (f32(v),))
        dumps.append(dump(con, "docs"))
        con.close()
    assert dumps[0] == dumps[1]


def test_wal_reader_keeps_its_snapshot(dbpath):
    w = connect(dbpath)
    w.execute("PRAGMA journal_mode = WAL")
    w.execute("CREATE VIRTUAL TABLE t USING vec0(embedding float[%d])" % DIM)
    vecs = rand_vectors(400, DIM, 5)
    rows = {}
    w.execute("BEGIN")
    for i, v in enumerate(vecs[:200]):
        w.execute("INSERT INTO t(rowid, embedding) VALUES (?, ?)", (i + 1, f32(v)))
        rows[i + 1] = v
    w.execute("COMMIT")
    r = connect(dbpath)
    q = vecs[300]
    snap = dict(rows)
    r.execute("BEGIN")
    assert [x for x, _ in knn(r, "t", q, 5, "AND ef = 400")] == \
        [x for x, _ in brute_knn(snap, q, 5)]
    # the writer adds the query's own vector and deletes the old nearest
    w.execute("INSERT INTO t(rowid, embedding) VALUES (1000, ?)", (f32(q),))
    w.execute("DELETE FROM t WHERE rowid = ?", (brute_knn(snap, q, 1)[0][0],))
    rows[1000] = q
    del rows[brute_knn(snap, q, 1)[0][0]]
    # inside its transaction the reader still sees its snapshot
    assert [x for x, _ in knn(r, "t", q, 5, "AND ef = 400")] == \
        [x for x, _ in brute_knn(snap, q, 5)]
    assert r.execute("SELECT count(*) FROM t").fetchone() == (200,)
    r.execute("COMMIT")
    # and the next one sees the writer's changes
    assert [x for x, _ in knn(r, "t", q, 5, "AND ef = 400")] == \
        [x for x, _ in brute_knn(rows, q, 5)]
    integrity(r, "t")


def test_deserialize_under_a_prepared_statement():
    """sqlite3_deserialize() of a database built by the same statements (so
    the same 'changes') under statements prepared before it: SQLite keeps
    running them on the table object it had, whose cache must not answer
    for the old database (it returned the old rows, and KNN the old
    metadata)."""
    def build(meta, vec):
        con = connect(":memory:")
        con.execute("CREATE VIRTUAL TABLE t USING vec0(emb float[2] indexed by flat(), "
                    "meta text, h float[2])")
        for i in range(1, 4):
            con.execute("INSERT INTO t(rowid, emb, meta, h) VALUES (?, ?, ?, ?)",
                        (i, vec % i, meta, vec % i))
        return con
    scan = "SELECT rowid, vec_to_json(emb), meta FROM t ORDER BY rowid"
    near = "SELECT rowid, meta FROM t WHERE h MATCH '[1,0]' AND k = 3 AND meta = ?"
    y = build("old", "[%d, 0]")
    z = build("new", "[0, %d]")
    assert [r[2] for r in y.execute(scan)] == ["old"] * 3       # prepared, cached
    assert [r[0] for r in y.execute(near, ("old",))] == [1, 2, 3]
    y.deserialize(z.serialize())
    assert y.execute(scan).fetchall() == z.execute(scan).fetchall()
    assert y.execute(near, ("old",)).fetchall() == []
    assert [r[0] for r in y.execute(near, ("new",))] == [1, 2, 3]
    integrity(y, "t")
