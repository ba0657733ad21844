"""A vec0 table has the shape of sqlite-vec's: the key is the first column
(named rowid when none is declared), then the declared columns in order, so
SELECT * and a positional INSERT written for sqlite-vec work unchanged.
Checked against the shapes sqlite-vec 0.1.9 declares, and against
sqlite-vec itself when `make -C bench peers` has installed it."""

import os
import sqlite3

import pytest

from conftest import ROOT, connect, f32, integrity

SQLITE_VEC = os.path.join(ROOT, "bench", "peers", "node_modules", "sqlite-vec-linux-x64",
                          "vec0")

# declaration -> the visible columns (name, pk flag) sqlite-vec 0.1.9 declares
SHAPES = {
    "e float[2]": [("rowid", 0), ("e", 0)],
    "id integer primary key, e float[2]": [("id", 1), ("e", 0)],
    "id text primary key, e float[2]": [("id", 1), ("e", 0)],
    "e float[2], user integer partition key, lang text, +body text":
        [("rowid", 0), ("e", 0), ("user", 0), ("lang", 0), ("body", 0)],
    "e float[2], lang text, id integer primary key, +body text":
        [("id", 1), ("e", 0), ("lang", 0), ("body", 0)],
    "user text partition key, e float[2], +body text, lang integer, id text primary key":
        [("id", 1), ("user", 0), ("e", 0), ("body", 0), ("lang", 0)],
}


def shape(con):
    return [(r[0], r[1]) for r in con.execute(
        "SELECT name, pk FROM pragma_table_xinfo('t') WHERE hidden = 0 ORDER BY cid")]


def hidden(con):
    return [r[0] for r in con.execute(
        "SELECT name FROM pragma_table_xinfo('t') WHERE hidden != 0 ORDER BY cid")]


@pytest.mark.parametrize("decl", list(SHAPES))
def test_declared_columns_are_sqlite_vecs(decl):
    con = connect(":memory:")
    con.execute("CREATE VIRTUAL TABLE t USING vec0(%s)" % decl)
    assert shape(con) == SHAPES[decl]
    assert hidden(con)[:2] == ["distance", "k"]


@pytest.mark.skipif(not os.path.exists(SQLITE_VEC + ".so"),
                    reason="sqlite-vec 0.1.9 is not installed (make -C bench peers)")
@pytest.mark.parametrize("decl", list(SHAPES))
def test_shape_equals_sqlite_vec_itself(decl):
    theirs = sqlite3.connect(":memory:")
    theirs.enable_load_extension(True)
    theirs.load_extension(SQLITE_VEC)
    theirs.execute("CREATE VIRTUAL TABLE t USING vec0(%s)" % decl)
    ours = connect(":memory:")
    ours.execute("CREATE VIRTUAL TABLE t USING vec0(%s)" % decl)
    assert shape(ours) == shape(theirs)
    # Every hidden column of theirs, in the same order; ours adds ef and
    # the table-named command column after them.
    assert hidden(ours)[:len(hidden(theirs))] == hidden(theirs)


@pytest.mark.parametrize("decl", ["e float[2]", "id integer primary key, e float[2]"])
def test_positional_insert_and_select_star(dbpath, decl):
    con = connect(dbpath)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(%s)" % decl)
    con.execute("INSERT INTO t VALUES (5, ?)", (f32([1, 2]),))       # sqlite-vec's stress test
    con.execute("INSERT INTO t VALUES (NULL, ?)", (f32([3, 4]),))    # key chosen by SQLite
    con.execute("INSERT INTO t VALUES (?, ?)", (7.0, f32([5, 6])))   # a JavaScript number
    con.execute("INSERT INTO t(e) VALUES (?)", (f32([7, 8]),))       # no key at all
    rows = con.execute("SELECT * FROM t ORDER BY 1").fetchall()
    assert rows == [(5, f32([1, 2])), (6, f32([3, 4])), (7, f32([5, 6])), (8, f32([7, 8]))]
    # SELECT * of a KNN query: the key first, then the vector.
    assert con.execute("SELECT * FROM t WHERE e MATCH ? AND k = 1",
                       (f32([5, 6]),)).fetchall() == [(7, f32([5, 6]))]
    integrity(con, "t")


def test_text_key_positional_insert(dbpath):
    con = connect(dbpath)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(e float[2], id text primary key, +b text)")
    con.execute("INSERT INTO t VALUES ('a', ?, 'x')", (f32([1, 2]),))
    assert con.execute("SELECT * FROM t").fetchall() == [("a", f32([1, 2]), "x")]
    with pytest.raises(sqlite3.Error, match=r'vec0: table "t": primary key "id" must be text'):
        con.execute("INSERT INTO t VALUES (NULL, ?, 'y')", (f32([1, 2]),))


def test_rowid_column_names_the_row(dbpath):
    """With no declared key, the rowid column is the rowid: written by
    INSERT, changed by UPDATE, the same value under oid and _rowid_."""
    con = connect(dbpath)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(e float[2], m integer)")
    con.execute("INSERT INTO t(rowid, e, m) VALUES (3, ?, 1)", (f32([1, 2]),))
    con.execute("UPDATE t SET rowid = 9 WHERE rowid = 3")
    assert con.execute("SELECT rowid, oid, _rowid_, m FROM t").fetchall() == [(9, 9, 9, 1)]
    with pytest.raises(sqlite3.Error, match=r'vec0: table "t": rowid must be an integer, '
                                            r"not text 'abc'"):
        con.execute("INSERT INTO t(rowid, e, m) VALUES ('abc', ?, 1)", (f32([1, 2]),))
    integrity(con, "t")
