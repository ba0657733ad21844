"""sqlite-vec 0.1.10's declarations, run unchanged: `indexed by
rescore(quantizer=int8|bit, oversample=N)` (an exact scan of compact codes,
the best N*k re-ranked with the float32 distance), `indexed by
diskann(neighbor_quantizer=..., ...)` (vec0's quantized HNSW graph), their
commands INSERT INTO t(t) VALUES ('oversample=N' | 'search_list_size_search=N'
| ...), and vec0's per-query `rescore = N`.  sqlite-vec 0.1.10 is not on npm
(0.1.9 is the newest there), so these test vec0's semantics: exact distances,
recall against an exact search, and everything else a table does."""

import random
import sqlite3

import pytest

from conftest import connect, f32, integrity

DIM = 32
FN = {"l2": "vec_distance_l2", "cosine": "vec_distance_cosine", "dot": "vec_distance_dot"}


def clustered(n, dim, seed):
    rng = random.Random(seed)
    centres = [[rng.uniform(-3, 3) for _ in range(dim)] for _ in range(20)]
    return [[x + rng.gauss(0, 1) for x in rng.choice(centres)] for _ in range(n)]


def exact(con, table, q, k, where=""):
    """The exact answer: the same table scanned in float32 (a rowid IN list
    makes vec0 compute every distance exactly)."""
    ids = [r for (r,) in con.execute("SELECT rowid FROM %s %s" % (table, where))]
    got = con.execute("SELECT rowid, distance FROM %s WHERE e MATCH ? AND k = ? AND rowid IN "
                      "(SELECT value FROM json_each(?))" % table,
                      (f32(q), k, "[%s]" % ",".join(map(str, ids)))).fetchall()
    return got


def fill(con, table, rows, cols="e", extra=lambda r: ()):
    con.execute("BEGIN")
    for r, v in rows.items():
        con.execute("INSERT INTO %s(rowid, %s) VALUES (?, ?%s)" % (
            table, cols, ", ?" * (cols.count(","))), (r, f32(v)) + extra(r))
    con.execute("COMMIT")


def info(con, table, *cols):
    return [tuple(r) for r in con.execute(
        "SELECT %s FROM vec0_info(?)" % ", ".join(cols), (table,))]


@pytest.mark.parametrize("quant,metric,want", [("int8", "l2", 0.97), ("int8", "cosine", 0.97),
                                               ("int8", "dot", None),
                                               ("bit", "cosine", 0.85)])
def test_rescore_recall_and_exact_distances(dbpath, quant, metric, want):
    con = connect(dbpath)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(e float[%d] distance_metric=%s "
                "indexed by rescore(quantizer=%s, oversample=%d))"
                % (DIM, metric, quant, 40 if quant == "bit" else 4))
    rows = {i + 1: v for i, v in enumerate(clustered(3000, DIM, 1))}
    fill(con, "t", rows)
    assert con.execute("SELECT count(*) FROM t_config WHERE key = 'quant.0'").fetchone()[0] == 1
    assert info(con, "t", "index_kind", "quantizer", "m", "ef_search") == [
        ("rescore", quant, None, None)]
    hits = 0
    queries = clustered(30, DIM, 2)
    for q in queries:
        got = con.execute("SELECT rowid, distance, %s(e, ?), ef, rescore FROM t WHERE e MATCH ? "
                          "AND k = 10" % FN[metric], (f32(q), f32(q))).fetchall()
        assert len(got) == 10
        for _, d, dfn, ef, rescore in got:
            assert d == pytest.approx(dfn, rel=1e-5, abs=1e-5)
            assert ef is None and rescore == (40 if quant == "bit" else 4)
        assert [d for _, d, *_ in got] == sorted(d for _, d, *_ in got)
        want_ids = [r for r, _ in exact(con, "t", q, 10)]
        hits += len(set(want_ids) & set(r for r, *_ in got))
    if want is not None:
        assert hits / (10 * len(queries)) >= want
    integrity(con, "t")


@pytest.mark.parametrize("quant", ["int8", "bit"])
def test_rescore_with_every_candidate_is_exact(dbpath, quant):
    # rescore * k >= the rows: every row is re-ranked, so the answer is the
    # exact one, row for row and distance for distance.
    con = connect(dbpath)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(e float[%d] indexed by "
                "rescore(quantizer=%s))" % (DIM, quant))
    fill(con, "t", {i + 1: v for i, v in enumerate(clustered(1500, DIM, 3))})
    for q in clustered(5, DIM, 4):
        got = con.execute("SELECT rowid, distance, rescore FROM t WHERE e MATCH ? AND k = 10 "
                          "AND rescore = 150", (f32(q),)).fetchall()
        assert [(r, d) for r, d, _ in got] == exact(con, "t", q, 10)
        assert {x for *_, x in got} == {150}


def test_rescore_before_the_quantizer_is_exact(dbpath):
    # Below VEC0_CODES_TRAIN rows there is no quantizer: the scan is float32.
    con = connect(dbpath)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(e float[%d] indexed by "
                "rescore(quantizer=bit, oversample=1))" % DIM)
    fill(con, "t", {i + 1: v for i, v in enumerate(clustered(500, DIM, 5))})
    assert con.execute("SELECT count(*) FROM t_config WHERE key = 'quant.0'").fetchone()[0] == 0
    for q in clustered(5, DIM, 6):
        got = con.execute("SELECT rowid, distance FROM t WHERE e MATCH ? AND k = 10",
                          (f32(q),)).fetchall()
        assert got == exact(con, "t", q, 10)


def test_rescore_count_per_query_command_and_connection(dbpath):
    con = connect(dbpath)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(e float[%d] indexed by "
                "rescore(quantizer=bit, oversample=2))" % DIM)
    rows = {i + 1: v for i, v in enumerate(clustered(2000, DIM, 7))}
    fill(con, "t", rows)
    queries = clustered(20, DIM, 8)

    def recall(extra=""):
        hits = 0
        for q in queries:
            got = con.execute("SELECT rowid, rescore FROM t WHERE e MATCH ? AND k = 10 " + extra,
                              (f32(q),)).fetchall()
            hits += len({r for r, _ in exact(con, "t", q, 10)} & {r for r, _ in got})
        return hits / (10 * len(queries)), got[0][1]

    low, n_low = recall()
    high, n_high = recall("AND rescore = 64")
    assert (n_low, n_high) == (2, 64)
    assert high > low and high >= 0.9
    # 'oversample=N' (sqlite-vec's command) is this connection's default ...
    con.execute("INSERT INTO t(t) VALUES ('oversample=64')")
    assert recall() == (high, 64)
    assert recall("AND rescore = 2") == (low, 2)
    # ... not stored: another connection keeps the declared one.
    other = connect(dbpath)
    assert other.execute("SELECT rescore FROM t WHERE e MATCH ? AND k = 1",
                         (f32(queries[0]),)).fetchone() == (2,)
    for bad, msg in [("rescore = 0", "rescore = 0 is out of range"),
                     ("rescore = 'x'", "rescore must be an integer")]:
        with pytest.raises(sqlite3.Error, match="vec0: .*" + msg):
            con.execute("SELECT rowid FROM t WHERE e MATCH ? AND k = 3 AND " + bad,
                        (f32(queries[0]),)).fetchall()
    with pytest.raises(sqlite3.Error, match="vec0: .*cannot write hidden column \"rescore\""):
        con.execute("INSERT INTO t(rowid, e, rescore) VALUES (9999, ?, 3)", (f32(queries[0]),))


def test_rescore_filters_partitions_deletes_updates(dbpath):
    con = connect(dbpath)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(e float[%d] indexed by "
                "rescore(quantizer=int8), p integer partition key, tag integer)" % DIM)
    rows = {i + 1: v for i, v in enumerate(clustered(2400, DIM, 9))}
    fill(con, "t", rows, "e, p, tag", lambda r: (r % 3, r % 5))
    for r in range(1, 300):
        con.execute("UPDATE t SET e = ? WHERE rowid = ?", (f32([x + 0.5 for x in rows[r]]), r))
    con.execute("DELETE FROM t WHERE rowid % 11 = 0")
    # An updated row is found by its new vector, at distance 0.
    assert con.execute("SELECT rowid, distance FROM t WHERE e MATCH ? AND k = 1",
                       (f32([x + 0.5 for x in rows[7]]),)).fetchone() == (7, 0.0)
    hits = 0
    for q in clustered(10, DIM, 10):
        got = con.execute("SELECT rowid, distance FROM t WHERE e MATCH ? AND k = 10 AND p = 1 "
                          "AND tag < 2", (f32(q),)).fetchall()
        assert len(got) == 10 and all(r % 3 == 1 and r % 5 < 2 and r % 11 for r, _ in got)
        want = exact(con, "t", q, 10, "WHERE p = 1 AND tag < 2")
        hits += len({r for r, _ in want} & {r for r, _ in got})
        # Few rows pass: k = 200 of them still come back, every one of them.
        many = con.execute("SELECT count(*) FROM t WHERE e MATCH ? AND k = 200 AND p = 2 AND "
                           "tag = 4", (f32(q),)).fetchone()[0]
        assert many == con.execute("SELECT count(*) FROM t WHERE p = 2 AND tag = 4").fetchone()[0]
    assert hits >= 95
    integrity(con, "t")
    con.execute("INSERT INTO t(t) VALUES ('optimize')")
    integrity(con, "t")
    con.execute("INSERT INTO t(t) VALUES ('rebuild')")
    integrity(con, "t")


def test_rescore_quantizer_rolls_back_and_replicas_match(tmp_path):
    dbs = [str(tmp_path / ("r%d.db" % i)) for i in range(2)]
    rows = {i + 1: v for i, v in enumerate(clustered(1200, DIM, 11))}
    for path in dbs:
        con = connect(path)
        con.execute("CREATE VIRTUAL TABLE t USING vec0(e float[%d] distance_metric=cosine "
                    "indexed by rescore(quantizer=bit))" % DIM)
        # The write that would train the quantizer, rolled back: no quantizer.
        con.execute("BEGIN")
        for r, v in rows.items():
            con.execute("INSERT INTO t(rowid, e) VALUES (?, ?)", (r, f32(v)))
        con.execute("ROLLBACK")
        assert con.execute("SELECT count(*) FROM t_config WHERE key = 'quant.0'").fetchone()[0] == 0
        con.execute("SAVEPOINT a")
        fill_rows = list(rows.items())
        for r, v in fill_rows[:1100]:
            con.execute("INSERT INTO t(rowid, e) VALUES (?, ?)", (r, f32(v)))
        con.execute("RELEASE a")
        con.execute("DELETE FROM t WHERE rowid < 50")
        con.execute("INSERT INTO t(t) VALUES ('optimize')")
        integrity(con, "t")
        con.close()
    dumps = []
    for path in dbs:
        con = sqlite3.connect(path)
        dumps.append([con.execute("SELECT * FROM \"%s\" ORDER BY 1" % n).fetchall()
                      for (n,) in con.execute("SELECT name FROM sqlite_master WHERE "
                                              "name LIKE 't\\_%' ESCAPE '\\' AND type = 'table' "
                                              "ORDER BY name")])
    assert dumps[0] == dumps[1]
    # Reopened, the codes are made again from the same quantizer.
    con = connect(dbs[0])
    q = rows[500]
    assert con.execute("SELECT rowid FROM t WHERE e MATCH ? AND k = 1", (f32(q),)).fetchone() == (500,)


def test_rescore_bad_quantizer_is_corrupt(dbpath):
    con = connect(dbpath)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(e float[%d] indexed by "
                "rescore(quantizer=int8))" % DIM)
    fill(con, "t", {i + 1: v for i, v in enumerate(clustered(1000, DIM, 12))})
    con.execute("UPDATE t_config SET value = x'0102' WHERE key = 'quant.0'")
    con.close()
    con = connect(dbpath)
    with pytest.raises(sqlite3.Error, match="integrity-check failed: .*bad quantizer quant.0"):
        integrity(con, "t")
    with pytest.raises(sqlite3.Error, match="bad quantizer quant.0"):
        con.execute("SELECT rowid FROM t WHERE e MATCH ? AND k = 3", (f32([0] * DIM),)).fetchall()
    # rebuild trains it anew from the stored vectors.
    con.execute("INSERT INTO t(t) VALUES ('rebuild')")
    integrity(con, "t")


def test_diskann_is_the_quantized_graph(tmp_path):
    # diskann(neighbor_quantizer=Q, n_neighbors=R, search_list_size=L) is
    # hnsw(m=R/2, ef_construction=L, ef_search=L, quantizer=Q): the same graph bytes.
    rows = {i + 1: v for i, v in enumerate(clustered(1200, DIM, 13))}
    links = []
    for decl in ["diskann(neighbor_quantizer=int8, n_neighbors=16, search_list_size=40)",
                 "hnsw(m=8, ef_construction=40, ef_search=40, quantizer=int8)"]:
        con = connect(str(tmp_path / ("%d.db" % len(links))))
        con.execute("CREATE VIRTUAL TABLE t USING vec0(e float[%d] indexed by %s)" % (DIM, decl))
        fill(con, "t", rows)
        assert info(con, "t", "index_kind", "quantizer", "m", "ef_search") == [
            ("hnsw", "int8", 8, 40)]
        links.append(con.execute("SELECT * FROM t_links0 ORDER BY slot").fetchall())
        integrity(con, "t")
    assert links[0] == links[1]


# (32 bits are coarse codes: bit is meant for hundreds of dimensions.)
@pytest.mark.parametrize("quant,want", [("int8", 0.9), ("binary", 0.6)])
def test_diskann_recall_commands(dbpath, quant, want):
    con = connect(dbpath)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(e float[%d] distance_metric=cosine indexed by "
                "diskann(neighbor_quantizer=%s, n_neighbors=32))" % (DIM, quant))
    rows = {i + 1: v for i, v in enumerate(clustered(2000, DIM, 14))}
    fill(con, "t", rows)
    assert info(con, "t", "quantizer", "m", "ef_search") == [
        ("int8" if quant == "int8" else "bit", 16, 128)]
    hits = 0
    for q in clustered(20, DIM, 15):
        got = con.execute("SELECT rowid, distance, vec_distance_cosine(e, ?), ef FROM t "
                          "WHERE e MATCH ? AND k = 10", (f32(q), f32(q))).fetchall()
        for _, d, dfn, ef in got:
            assert d == pytest.approx(dfn, rel=1e-5, abs=1e-5) and ef == 128
        hits += len({r for r, _ in exact(con, "t", q, 10)} & {r for r, *_ in got})
    assert hits / 200 >= want
    # sqlite-vec's runtime knobs: per connection, the search breadth.
    for cmd, ef in [("search_list_size_search=20", 20), ("search_list_size=30", 30)]:
        con.execute("INSERT INTO t(t) VALUES (?)", (cmd,))
        assert con.execute("SELECT DISTINCT ef FROM t WHERE e MATCH ? AND k = 5",
                           (f32(rows[1]),)).fetchall() == [(ef,)]
        # vec0_info shows this connection's default ef, the one its queries use
        assert con.execute("SELECT ef_search FROM vec0_info('t')").fetchone() == (ef,)
    assert connect(dbpath).execute("SELECT ef_search FROM vec0_info('t')").fetchone() == (128,)
    assert con.execute("SELECT DISTINCT ef FROM t WHERE e MATCH ? AND k = 5 AND ef = 77",
                       (f32(rows[1]),)).fetchall() == [(77,)]
    assert connect(dbpath).execute("SELECT DISTINCT ef FROM t WHERE e MATCH ? AND k = 5",
                                   (f32(rows[1]),)).fetchall() == [(128,)]
    con.execute("INSERT INTO t(t) VALUES ('oversample=9')")
    assert con.execute("SELECT DISTINCT rescore FROM t WHERE e MATCH ? AND k = 5",
                       (f32(rows[1]),)).fetchall() == [(9,)]
    with pytest.raises(sqlite3.Error, match='vec0: table "t": command '
                       '"search_list_size_insert=50" is not supported'):
        con.execute("INSERT INTO t(t) VALUES ('search_list_size_insert=50')")
    con.execute("DELETE FROM t WHERE rowid % 7 = 0")
    integrity(con, "t")
    con.execute("INSERT INTO t(t) VALUES ('optimize')")
    integrity(con, "t")


def test_commands_refused_clearly(dbpath):
    con = connect(dbpath)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(e float[4])")
    for cmd, msg in [("oversample=4", 'command "oversample=4" needs a rescore'),
                     ("search_list_size_search=4", "needs a diskann"),
                     ("search_list_size=4", "needs a diskann"),
                     ("oversample=0", "must be an integer in 1..100000"),
                     ("search_list_size_search=x", "must be an integer in 1..100000")]:
        with pytest.raises(sqlite3.Error, match='vec0: table "t": .*' + msg):
            con.execute("INSERT INTO t(t) VALUES (?)", (cmd,))


def test_bad_declarations(dbpath):
    con = connect(dbpath)
    for decl, msg in [
            ("e float[4] indexed by rescore(oversample=4)", "needs quantizer=int8 or quantizer=bit"),
            ("e float[4] indexed by rescore(quantizer=pq)", 'unknown quantizer "pq"'),
            ("e float[4] indexed by rescore(quantizer=int8, oversample=200)",
             "rescore oversample 200 of column \"e\" out of range 1..128"),
            ("e float[4] distance_metric=l1 indexed by rescore(quantizer=int8)",
             "needs a float column with distance_metric l2, cosine or dot"),
            ("e bit[8] indexed by rescore(quantizer=bit)", "needs a float column"),
            ("e float[4] indexed by diskann(n_neighbors=16)", "needs neighbor_quantizer"),
            ("e float[4] indexed by diskann(neighbor_quantizer=int8, n_neighbors=12)",
             "not a multiple of 8"),
            ("e float[4] indexed by diskann(neighbor_quantizer=int8, search_list_size=8, "
             "search_list_size_search=9)", "cannot be mixed"),
            ("e float[4] indexed by diskann(neighbor_quantizer=int8, alpha=1)",
             'unknown diskann parameter "alpha"'),
            ("e float[4] indexed by ivf(nlist=4)", "expected hnsw, flat, rescore or diskann")]:
        with pytest.raises(sqlite3.Error, match="vec0: .*" + msg.replace("(", r"\(")):
            con.execute("CREATE VIRTUAL TABLE x USING vec0(%s)" % decl)


def test_a_column_named_rescore(dbpath):
    """sqlite-vec tables may have a column named rescore: it keeps its name and
    the per-query count is then _rescore."""
    con = connect(dbpath)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(v float[4] indexed by "
                "rescore(quantizer=int8), rescore integer)")
    con.execute("INSERT INTO t(rowid, v, rescore) VALUES (1, ?, 7), (2, ?, 8)",
                (f32([1, 0, 0, 0]), f32([0, 1, 0, 0])))
    assert con.execute("SELECT rowid, rescore, _rescore FROM t WHERE v MATCH ? AND k = 2 "
                       "AND _rescore = 3 ORDER BY distance",
                       (f32([1, 0, 0, 0]),)).fetchall() == [(1, 7, 3), (2, 8, 3)]


def test_connection_settings_outlive_schema_changes(dbpath):
    """'oversample=N', 'search_list_size_search=N' and 'cache_budget=N' are this
    connection's; SQLite connects a table again after any schema change, and
    the new table object started from the defaults (found by the coherence
    tester).  DROP TABLE forgets them; RENAME keeps them."""
    con, other = connect(dbpath), connect(dbpath)
    decl = ("a float[4] indexed by rescore(quantizer=int8, oversample=4), "
            "b float[4] indexed by diskann(neighbor_quantizer=binary, n_neighbors=16)")
    con.execute("CREATE VIRTUAL TABLE t USING vec0(%s)" % decl)
    con.execute("INSERT INTO t(rowid, a, b) VALUES (1, '[1,0,0,0]', '[1,0,0,0]'), "
                "(2, '[0,1,0,0]', '[0,1,0,0]')")

    def settings(table="t"):
        r = con.execute("SELECT rescore FROM %s WHERE a MATCH '[1,0,0,0]' AND k = 1"
                        % table).fetchone()[0]
        e = con.execute("SELECT ef FROM %s WHERE b MATCH '[1,0,0,0]' AND k = 1"
                        % table).fetchone()[0]
        try:
            con.execute("INSERT INTO %s(%s) VALUES ('warm')" % (table, table))
            return r, e, "warm"
        except sqlite3.Error:
            return r, e, "over budget"

    default = settings()
    assert default[0] == 4 and default[2] == "warm"
    for cmd in ("oversample=16", "search_list_size_search=77", "cache_budget=0"):
        con.execute("INSERT INTO t(t) VALUES (?)", (cmd,))
    assert settings() == (16, 77, "over budget")
    other.execute("CREATE TABLE x(a)")                 # another connection's change
    assert settings() == (16, 77, "over budget")
    con.execute("CREATE TABLE y(a)")                   # this connection's
    assert settings() == (16, 77, "over budget")
    con.execute("ALTER TABLE t RENAME TO u")
    assert settings("u") == (16, 77, "over budget")
    con.execute("DROP TABLE u")
    con.execute("CREATE VIRTUAL TABLE u USING vec0(%s)" % decl)
    con.execute("INSERT INTO u(rowid, a, b) VALUES (1, '[1,0,0,0]', '[1,0,0,0]')")
    assert settings("u") == default


def test_diskann_query_rescore_widens_its_walk(dbpath):
    """AND rescore = N on a diskann column re-ranked at most its
    search_list_size candidates while reading back N (found by the exactness
    tester); with N x k >= the rows the answer is now the exact one, as on a
    quantized hnsw column."""
    con = connect(dbpath)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(e float[4] indexed by diskann("
                "neighbor_quantizer=int8, n_neighbors=8, search_list_size=4))")
    rng = random.Random(0)
    fill(con, "t", {i: [rng.gauss(0, 1) for _ in range(4)] for i in range(1, 301)})
    for _ in range(20):
        q = [rng.gauss(0, 1) for _ in range(4)]
        got = con.execute("SELECT rowid, distance, ef, rescore FROM t WHERE e MATCH ? "
                          "AND k = 10 AND rescore = 30", (f32(q),)).fetchall()
        assert [(r, d) for r, d, *_ in got] == exact(con, "t", q, 10)
        assert {(ef, rs) for *_, ef, rs in got} == {(300, 30)}
    # without the query's rescore, search_list_size stays the breadth
    assert con.execute("SELECT ef FROM t WHERE e MATCH '[1, 0, 0, 0]' AND k = 10"
                       ).fetchone() == (10,)
