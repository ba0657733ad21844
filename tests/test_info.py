"""vec0_info('table'): one row per vector column with what the table holds
and how its index and this connection's cache are doing."""

import sqlite3

import pytest

from conftest import connect, f32


def info(con, table, *cols):
    return [tuple(r) for r in con.execute(
        "SELECT %s FROM vec0_info(?)" % ", ".join(cols), (table,))]


def test_counts_follow_writes(dbpath):
    con = connect(dbpath)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(e float[4], q float[4] indexed by "
                "hnsw(m=8, quantizer=int8), f float[4] indexed by flat())")
    con.execute("BEGIN")
    for r in range(1, 101):
        v = f32([r, 1, 2, 3])
        con.execute("INSERT INTO t(rowid, e, q, f) VALUES (?, ?, ?, ?)", (r, v, v, v))
    con.execute("COMMIT")
    assert info(con, "t", "column_name", "index_kind", "quantizer", "rows", "slots",
                "free_slots", "tombstones", "m", "dimensions") == [
        ("e", "hnsw", "none", 100, 100, 0, 0, 16, 4),
        ("q", "hnsw", "int8", 100, 100, 0, 0, 8, 4),
        ("f", "flat", "none", 100, 100, 0, None, None, 4)]
    con.execute("DELETE FROM t WHERE rowid % 4 = 0")
    assert info(con, "t", "rows", "free_slots", "graph_nodes", "tombstones") == [
        (75, 25, 100, 25), (75, 25, 100, 25), (75, 25, None, None)]
    con.execute("INSERT INTO t(t) VALUES ('optimize')")
    assert info(con, "t", "rows", "free_slots", "tombstones")[0] == (75, 0, 0)
    con.execute("INSERT INTO t(t) VALUES ('ef_search=33')")
    assert info(con, "t", "ef_search")[0] == (33,)


def test_cache_of_a_reopened_table(dbpath):
    con = connect(dbpath)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(e float[4])")
    con.executemany("INSERT INTO t(rowid, e) VALUES (?, ?)",
                    [(r, f32([r, 0, 0, 0])) for r in range(1, 51)])
    con.close()
    con = connect(dbpath)   # vec0_info opens the table itself
    assert info(con, "t", "rows", "vectors_cached", "cache_complete") == [(50, 0, 0)]
    con.execute("SELECT rowid FROM t WHERE e MATCH ? AND k = 50 AND ef = 100",
                (f32([1, 0, 0, 0]),)).fetchall()
    rows, cached, nbytes = info(con, "t", "rows", "vectors_cached", "cache_bytes")[0]
    assert rows == 50 and cached == 50 and nbytes == 50 * 16
    # Another connection's writes are seen, as by a query.
    other = connect(dbpath)
    other.execute("DELETE FROM t WHERE rowid <= 10")
    assert info(con, "t", "rows")[0] == (40,)
    assert info(con, "t", "kernels")[0][0] in ("avx512", "avx2", "neon", "portable")


def test_after_a_schema_change(dbpath):
    """After another connection's schema change SQLite connects the table
    again and disconnects the old one later; vec0_info read the old one,
    whose counts no longer followed the writes (found by a coherence test)."""
    con, other = connect(dbpath), connect(dbpath)
    other.execute("CREATE VIRTUAL TABLE t USING vec0(id text primary key, e float[2] "
                  "indexed by flat())")
    con.execute("SELECT id FROM t WHERE e MATCH '[1, 0]' AND k = 3").fetchall()
    other.execute("CREATE TABLE x(a)")
    con.execute("BEGIN")
    con.execute("INSERT INTO t(id, e) VALUES ('k1', '[1, 1]')")
    assert info(con, "t", "rows") == [(1,)]
    con.execute("COMMIT")
    assert info(con, "t", "rows") == [(1,)]
    assert info(other, "t", "rows") == [(1,)]


def test_errors(dbpath):
    con = connect(dbpath)
    con.execute("CREATE TABLE plain(x)")
    for arg in ("nope", "plain"):
        with pytest.raises(sqlite3.Error, match=r'^vec0: vec0_info\(\): no vec0 table named "%s"$' % arg):
            con.execute("SELECT * FROM vec0_info(?)", (arg,)).fetchall()
    with pytest.raises(sqlite3.Error, match=r"^vec0: vec0_info\(\): name a vec0 table"):
        con.execute("SELECT * FROM vec0_info()").fetchall()
    con.execute("CREATE VIRTUAL TABLE t USING vec0(v float[1])")
    with pytest.raises(sqlite3.Error, match=r'^vec0: vec0_info\(\): no vec0 table named "t" '
                       r'in schema "nope"$'):
        con.execute("SELECT * FROM vec0_info('t', 'nope')").fetchall()
