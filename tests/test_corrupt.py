"""Corrupted shadow tables: every statement fails cleanly, integrity-check
names the damage.

Each case damages one thing through plain SQL on the shadow tables of a
table with an HNSW column, a flat column, a partition key, metadata and an
auxiliary column (some rows deleted, so there are free slots and
tombstones).  Then, in a child process (a crash or a hang is reported as
such, not as a dead test run), a new connection runs 'integrity-check',
which must fail with a "vec0: " message containing the case's keyword, and
then every kind of statement: full scan, point lookup, KNN on both columns
with and without filters, INSERT, UPDATE of the vector, the metadata and
the key, DELETE, INSERT OR REPLACE and the commands.  Each may succeed (the
damage may not be on its path) or fail with a "vec0: " message saying what
is wrong (SQLITE_CORRUPT_VTAB, but for a format newer than ours), nothing
else.  `make test-san` runs this file under ASan and UBSan, which turn an
out-of-bounds read into a failure.
"""

import multiprocessing
import sqlite3
import struct

import pytest

from conftest import connect, f32, rand_vectors

DIM = 4

SCHEMA = ("CREATE VIRTUAL TABLE t USING vec0(v float[%d] indexed by hnsw(m=4, "
          "ef_construction=16), f float[%d] indexed by flat(), p integer partition "
          "key, tag text, +note)" % (DIM, DIM))

STATEMENTS = [
    ("SELECT * FROM t", ()),
    ("SELECT rowid, v, f, p, tag, note FROM t WHERE rowid = 5", ()),
    ("SELECT rowid, distance FROM t WHERE v MATCH ? AND k = 5", "q"),
    ("SELECT rowid, distance FROM t WHERE v MATCH ? AND k = 5 AND ef = 100", "q"),
    ("SELECT rowid, distance FROM t WHERE v MATCH ? AND k = 3 AND p = 1", "q"),
    ("SELECT rowid, distance FROM t WHERE v MATCH ? AND k = 3 AND tag = 'a'", "q"),
    ("SELECT rowid, distance FROM t WHERE f MATCH ? AND k = 5", "q"),
    ("SELECT rowid, distance FROM t WHERE f MATCH ? AND k = 4 AND p = 2", "q"),
    ("SELECT rowid FROM t WHERE v MATCH ? AND k = 3 AND rowid IN (4, 5, 6)", "q"),
    ("INSERT INTO t(rowid, v, f, p, tag) VALUES (1000, ?, ?, 1, 'x')", "qq"),
    ("INSERT INTO t(v, f, p) VALUES (?, ?, 1)", "qq"),              # a rowid chosen
    ("UPDATE t SET v = ? WHERE rowid = 7", "q"),
    ("UPDATE t SET f = ? WHERE rowid = 8", "q"),
    ("UPDATE t SET tag = 'changed', p = 2, note = 'n' WHERE rowid = 9", ()),
    ("UPDATE t SET rowid = 2000 WHERE rowid = 10", ()),
    ("DELETE FROM t WHERE rowid = 11", ()),
    ("INSERT OR REPLACE INTO t(rowid, v, f, p) VALUES (12, ?, ?, 0)", "qq"),
    ("INSERT INTO t(rowid, v, f, p) VALUES (3, ?, ?, 0)", "qq"),   # a freed slot
    ("INSERT INTO t(t) VALUES ('ef_search=10')", ()),
    ("INSERT INTO t(t) VALUES ('optimize')", ()),
    ("INSERT INTO t(t) VALUES ('rebuild')", ()),
    ("SELECT count(*) FROM t", ()),
]


def make_table(path):
    con = connect(path)
    con.execute(SCHEMA)
    con.execute("BEGIN")
    for i, v in enumerate(rand_vectors(60, DIM, 41)):
        con.execute("INSERT INTO t(rowid, v, f, p, tag, note) VALUES (?,?,?,?,?,?)",
                    (i + 1, f32(v), f32(v), i % 3, "abc"[i % 3], "n%d" % i))
    con.execute("COMMIT")
    con.execute("DELETE FROM t WHERE rowid IN (3, 20, 21, 44)")
    con.close()


# ---------------------------------------------------------------------------
# The damage.  Each case is (name, keyword integrity-check must name, action),
# the action a SQL string or a function of the connection.

def links(con, slot):
    return con.execute("SELECT links FROM t_links0 WHERE slot = ?", (slot,)).fetchone()[0]


def put_links(con, slot, blob):
    con.execute("UPDATE t_links0 SET links = ? WHERE slot = ?", (blob, slot))


def edit_first_link(value):
    """Sets the first level-0 neighbour of the node of slot 5."""
    def act(con):
        rec = bytearray(links(con, 5))
        assert struct.unpack_from("<I", rec, 4)[0] > 0
        struct.pack_into("<I", rec, 8, value(con, rec))
        put_links(con, 5, bytes(rec))
    return act


def second_link(con, rec):
    return struct.unpack_from("<I", rec, 12)[0]


def set_level_count(con):
    rec = bytearray(links(con, 5))
    struct.pack_into("<I", rec, 4, 500)
    put_links(con, 5, bytes(rec))


def header(con):
    return bytearray(con.execute("SELECT value FROM t_config WHERE key='hnsw.0'"
                                 ).fetchone()[0])


def edit_header(offset, value):
    def act(con):
        h = header(con)
        struct.pack_into("<I", h, offset, value)
        con.execute("UPDATE t_config SET value = ? WHERE key = 'hnsw.0'", (bytes(h),))
    return act


def chunk_len(con, n):
    return con.execute("SELECT length(v) FROM t_vectors%d WHERE chunk = 0" % n
                       ).fetchone()[0]


CASES = [
    # T_vectorsN: wrong BLOB sizes, wrong types, missing and extra chunks
    ("vectors0-short", "t_vectors0",
     "UPDATE t_vectors0 SET v = substr(v, 1, 10) WHERE chunk = 0"),
    ("vectors0-long", "t_vectors0",
     "UPDATE t_vectors0 SET v = v || x'00' WHERE chunk = 0"),
    ("vectors0-text", "t_vectors0",
     "UPDATE t_vectors0 SET v = 'not a blob' WHERE chunk = 0"),
    ("vectors0-empty", "t_vectors0", "UPDATE t_vectors0 SET v = x'' WHERE chunk = 0"),
    ("vectors0-missing", "t_vectors0", "DELETE FROM t_vectors0"),
    ("vectors1-missing", "t_vectors1", "DELETE FROM t_vectors1 WHERE chunk = 0"),
    ("vectors1-extra", "t_vectors1",
     lambda con: con.execute("INSERT INTO t_vectors1 VALUES (77, zeroblob(?))",
                             (chunk_len(con, 1),))),
    ("vectors1-negative", "t_vectors1",
     lambda con: con.execute("INSERT INTO t_vectors1 VALUES (-1, zeroblob(?))",
                             (chunk_len(con, 1),))),
    # T_linksN: records of the wrong size or shape, links out of range or to
    # missing nodes
    ("links-short", "node 5", "UPDATE t_links0 SET links = substr(links, 1, 6) WHERE slot = 5"),
    ("links-empty", "node 5", "UPDATE t_links0 SET links = x'' WHERE slot = 5"),
    ("links-trailing", "node 5",
     "UPDATE t_links0 SET links = links || x'0000' WHERE slot = 5"),
    ("links-text", "node 5", "UPDATE t_links0 SET links = 'abc' WHERE slot = 5"),
    ("links-level", "node 5",
     lambda con: put_links(con, 5, b"\x0f" + links(con, 5)[1:])),
    ("links-flags", "node 5",
     lambda con: put_links(con, 5, links(con, 5)[:1] + b"\x06" + links(con, 5)[2:])),
    ("links-count", "node 5", set_level_count),
    ("links-out-of-range", "node 5", edit_first_link(lambda con, rec: 100000)),
    ("links-huge-id", "node 5", edit_first_link(lambda con, rec: 0xFFFFFFFF)),
    ("links-self", "node 5", edit_first_link(lambda con, rec: 5)),
    ("links-duplicate", "node 5", edit_first_link(second_link)),
    ("links-to-missing-node", "has no record",
     lambda con: con.execute("DELETE FROM t_links0 WHERE slot = ?",
                             (struct.unpack_from("<I", links(con, 5), 8)[0],))),
    ("links-missing-live", "7 has no record",
     "DELETE FROM t_links0 WHERE slot = 7 AND slot NOT IN (SELECT slot FROM t_links0 "
     "WHERE 0)"),
    ("links-extra", "t_links0",
     lambda con: con.execute("INSERT INTO t_links0 VALUES (5000, ?)", (links(con, 5),))),
    ("links-all-missing", "t_links0", "DELETE FROM t_links0"),
    # T_rows and T_slots: missing rows, rows pointing to the wrong slot
    ("rows-missing", "slot", "DELETE FROM t_rows WHERE id = 5"),
    ("rows-wrong-slot", "row 5", "UPDATE t_rows SET slot = slot + 1 WHERE id = 5"),
    ("rows-slot-out-of-range", "row 5", "UPDATE t_rows SET slot = 100000 WHERE id = 5"),
    ("rows-slot-negative", "row 5", "UPDATE t_rows SET slot = -1 WHERE id = 5"),
    ("rows-slot-free", "row 5",
     "UPDATE t_rows SET slot = (SELECT slot FROM t_free LIMIT 1) WHERE id = 5"),
    ("rows-extra", "row 9999",
     "INSERT INTO t_rows(id, slot) SELECT 9999, slot FROM t_rows WHERE id = 6"),
    ("slots-missing", "row 6", "DELETE FROM t_slots WHERE id = 6"),
    ("slots-wrong-id", "slot", "UPDATE t_slots SET id = 7777 WHERE id = 6"),
    ("slots-no-id", "row 6", "UPDATE t_slots SET id = NULL WHERE id = 6"),
    ("slots-text-id", "row 6", "UPDATE t_slots SET id = 'six' WHERE id = 6"),
    ("slots-free-but-used", "row 6",
     "INSERT INTO t_free(g, slot) SELECT g, slot FROM t_slots WHERE id = 6; "
     "DELETE FROM t_slots WHERE id = 6"),
    ("slots-out-of-range", "slot 4000",
     "INSERT INTO t_slots(slot, id, p0, m0, g) SELECT 4000, 5000, p0, m0, g FROM t_slots "
     "WHERE id = 6"),
    ("slots-all-missing", "slot", "DELETE FROM t_slots"),
    # T_config: format, counters, chunk sizes, graph header
    ("format-newer", "format version", "UPDATE t_config SET value = 2 WHERE key = 'format'"),
    ("format-missing", "format", "DELETE FROM t_config WHERE key = 'format'"),
    ("format-text", "format", "UPDATE t_config SET value = 'one' WHERE key = 'format'"),
    ("next-slot-huge", "next_slot",
     "UPDATE t_config SET value = 4000000000 WHERE key = 'next_slot'"),
    ("next-slot-big", "next_slot is 1000000", "UPDATE t_config SET value = 1000000 WHERE key = 'next_slot'"),
    ("next-slot-negative", "next_slot",
     "UPDATE t_config SET value = -5 WHERE key = 'next_slot'"),
    ("next-slot-small", "t_config", "UPDATE t_config SET value = 10 WHERE key = 'next_slot'"),
    ("next-slot-text", "next_slot",
     "UPDATE t_config SET value = 'x' WHERE key = 'next_slot'"),
    ("next-slot-missing", "next_slot", "DELETE FROM t_config WHERE key = 'next_slot'"),
    ("rows-count-high", "rows", "UPDATE t_config SET value = 59 WHERE key = 'rows'"),
    ("rows-count-low", "rows", "UPDATE t_config SET value = 3 WHERE key = 'rows'"),
    ("rows-count-negative", "rows", "UPDATE t_config SET value = -1 WHERE key = 'rows'"),
    ("rows-count-missing", "rows", "DELETE FROM t_config WHERE key = 'rows'"),
    ("rowid-gone-text", "rowid_gone",
     "INSERT OR REPLACE INTO t_config VALUES ('rowid_gone', 'x')"),
    ("chunk-zero", "chunk.0", "UPDATE t_config SET value = 0 WHERE key = 'chunk.0'"),
    ("chunk-huge", "chunk.0", "UPDATE t_config SET value = 100000 WHERE key = 'chunk.0'"),
    ("chunk-other", "t_vectors0",
     "UPDATE t_config SET value = value + 1 WHERE key = 'chunk.0'"),
    ("chunk-missing", "chunk.0", "DELETE FROM t_config WHERE key = 'chunk.0'"),
    ("ef-search-zero", "ef_search.0",
     "INSERT OR REPLACE INTO t_config VALUES ('ef_search.0', 0)"),
    ("hnsw-header-short", "hnsw.0",
     "UPDATE t_config SET value = substr(value, 1, 20) WHERE key = 'hnsw.0'"),
    ("hnsw-header-integer", "hnsw.0", "UPDATE t_config SET value = 5 WHERE key = 'hnsw.0'"),
    ("hnsw-header-format", "hnsw.0", edit_header(0, 9)),
    ("hnsw-header-entry", "hnsw.0", edit_header(4, 1000)),
    ("hnsw-header-level", "hnsw.0", edit_header(8, 40)),
    ("hnsw-header-m", "hnsw.0", edit_header(12, 1)),
    ("hnsw-header-count-huge", "hnsw.0", edit_header(20, 0x7FFFFFFF)),
    ("hnsw-header-count-low", "node", edit_header(20, 30)),
    ("hnsw-header-missing", "t_links0", "DELETE FROM t_config WHERE key = 'hnsw.0'"),
    # a shadow table gone
    ("drop-config", "t_config", "DROP TABLE t_config"),
    ("drop-rows", "t_rows", "DROP TABLE t_rows"),
    ("drop-slots", "t_slots", "DROP TABLE t_slots"),
    ("drop-free", "t_free", "DROP TABLE t_free"),
    ("drop-vectors0", "t_vectors0", "DROP TABLE t_vectors0"),
    ("drop-vectors1", "t_vectors1", "DROP TABLE t_vectors1"),
    ("drop-links0", "t_links0", "DROP TABLE t_links0"),
]


# Damage that vec0 does not handle yet (strict: a fix must remove the mark).
XFAIL = {
}


def case_params():
    for name, keyword, action in CASES:
        marks = [pytest.mark.xfail(strict=True, reason=XFAIL[name])] \
            if name in XFAIL else []
        yield pytest.param(name, keyword, action, id=name, marks=marks)


def clean_error(e):
    """An error vec0 may give for damaged data: one that names itself."""
    return str(e).startswith("vec0: ")


def run_case(path, out):
    """In the child: integrity-check, then every statement; reports to out."""
    q = f32(rand_vectors(1, DIM, 42)[0])
    report = {"integrity": None, "bad": []}
    try:
        con = connect(path)
        try:
            con.execute("INSERT INTO t(t) VALUES ('integrity-check')")
            report["integrity"] = "passed"
        except sqlite3.Error as e:
            report["integrity"] = str(e)
            if not clean_error(e):
                report["bad"].append(("integrity-check", str(e)))
        for sql, args in STATEMENTS:
            params = tuple(q for _ in args)
            try:
                con.execute(sql, params).fetchall()
            except sqlite3.Error as e:
                if not clean_error(e):
                    report["bad"].append((sql, "%s (code %s)" % (
                        e, getattr(e, "sqlite_errorcode", "?"))))
        con.close()
    except Exception as e:              # the connection itself, or Python
        report["bad"].append(("(setup)", repr(e)))
    out.send(report)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("corrupt") / "pristine.db")
    make_table(path)
    return path


@pytest.mark.parametrize("name,keyword,action", list(case_params()))
def test_corruption(pristine, tmp_path, name, keyword, action):
    path = str(tmp_path / "damaged.db")
    with open(pristine, "rb") as src, open(path, "wb") as dst:
        dst.write(src.read())
    con = sqlite3.connect(path, isolation_level=None)
    if callable(action):
        action(con)
    else:
        con.executescript(action)
    con.close()

    ctx = multiprocessing.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=run_case, args=(path, send))
    child.start()
    send.close()
    if not recv.poll(30):
        child.kill()
        child.join()
        pytest.fail("%s: no answer in 30 s (a hang)" % name)
    report = recv.recv()
    child.join(10)
    assert child.exitcode == 0, "%s: the child died with %s" % (name, child.exitcode)
    assert report["bad"] == [], "%s: unclean errors: %r" % (name, report["bad"])
    assert report["integrity"] != "passed", "%s: integrity-check passed" % name
    assert keyword in report["integrity"], \
        "%s: integrity-check said %r, which does not name %r" % (
            name, report["integrity"], keyword)


def test_case_count():
    """How many corruptions are tried (tests/RELIABILITY.md quotes it)."""
    print("corruptions tried: %d" % len(CASES))
    assert len(CASES) >= 60


def test_percent_in_table_name(tmp_path):
    """integrity-check puts the table name in its messages: a '%' in it is
    text, not a printf conversion (this crashed)."""
    path = str(tmp_path / "percent.db")
    con = connect(path)
    con.execute('CREATE VIRTUAL TABLE "t%s%n" USING vec0(v float[2] indexed by flat(), '
                'w float[2] indexed by hnsw())')
    con.execute("""INSERT INTO "t%s%n"(rowid, v, w) VALUES (1, '[1,2]', '[1,2]')""")
    con.execute("""UPDATE "t%s%n_vectors0" SET v = x'00'""")
    con.execute("""INSERT INTO "t%s%n_links1" VALUES (99, x'00000000')""")
    with pytest.raises(sqlite3.DatabaseError, match=r"chunk 0 of t%s%n_vectors0 has 1 bytes"):
        con.execute("""INSERT INTO "t%s%n"("t%s%n") VALUES ('integrity-check')""")
    con.execute("""UPDATE "t%s%n_vectors0" SET v = zeroblob(?)""",
                (8 * con.execute("""SELECT value FROM "t%s%n_config"
                                    WHERE key = 'chunk.0'""").fetchone()[0],))
    with pytest.raises(sqlite3.DatabaseError, match=r"t%s%n_links1 has a node for slot 99"):
        con.execute("""INSERT INTO "t%s%n"("t%s%n") VALUES ('integrity-check')""")
    con.execute("""DELETE FROM "t%s%n_links1" WHERE slot = 99""")
    con.execute("""INSERT INTO "t%s%n_free"(slot) VALUES (50)""")
    with pytest.raises(sqlite3.DatabaseError,
                       match=r"t%s%n_free has slot 50 \(next_slot 1\), which is out of range"):
        con.execute("""INSERT INTO "t%s%n"("t%s%n") VALUES ('integrity-check')""")


def test_warm_graph_query_names_missing_record(tmp_path):
    """A link to a node without a record is reported by a query even once the
    read-ahead has loaded every record and the header's count agrees with
    them: a walk that trusted 'every node is in memory' skipped the check and
    answered from the broken graph without a word."""
    path = str(tmp_path / "warm.db")
    con = connect(path)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(v float[%d] indexed by hnsw(m=4, "
                "ef_construction=16))" % DIM)
    con.execute("BEGIN")
    for i, v in enumerate(rand_vectors(1000, DIM, 43)):
        con.execute("INSERT INTO t(rowid, v) VALUES (?, ?)", (i + 1, f32(v)))
    con.execute("COMMIT")
    gone = struct.unpack_from("<I", links(con, 5), 8)[0]
    rowid = con.execute("SELECT id FROM t_slots WHERE slot = ?", (gone,)).fetchone()[0]
    q = con.execute("SELECT v FROM t WHERE rowid = ?", (rowid,)).fetchone()[0]
    con.execute("DELETE FROM t_links0 WHERE slot = ?", (gone,))
    count = struct.unpack_from("<I", header(con), 20)[0]
    edit_header(20, count - 1)(con)
    con.close()

    con = connect(path)
    con.execute("INSERT INTO t(t) VALUES ('warm')")
    with pytest.raises(sqlite3.DatabaseError, match=r"^vec0: .*has no record"):
        # ef 16 over 1 000 rows: the planner walks the graph (no exact scan)
        con.execute("SELECT rowid FROM t WHERE v MATCH ? AND k = 5 AND ef = 16",
                    (q,)).fetchall()
    con.close()
