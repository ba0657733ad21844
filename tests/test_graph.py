"""HNSW graph maintenance keeps every live row reachable from the entry
point (integrity-check verifies it).  Each case is a statement sequence the
fuzzer (fuzz_sql) found, minimised, on the smallest graphs (m=2) where a
node loses its last in-link most easily."""

import random
import sqlite3
import struct

import numpy as np
import pytest

from conftest import EXT, connect, integrity

SCHEMA = ("CREATE VIRTUAL TABLE v USING vec0(emb float[3] indexed by flat(), "
          "g float[3] indexed by hnsw(m=2, ef_construction=4), part integer "
          "partition key, cat integer, tag text, +aux)")
# The same with `part` a plain metadata column: every row in one graph (the
# sequences were found before partition keys got a graph each).
SCHEMAS = [SCHEMA, SCHEMA.replace(" partition key", "")]

# Reviving slot 2 (INSERT OR REPLACE of its row): its neighbours pruned node 3
# and handed it to node 2, the node that made it redundant; then node 2's
# lists were rebuilt by a fresh search, which dropped 3 again, its last link.
REPLACE_AFTER_HANDOFF = [
    "INSERT INTO v(rowid, emb, g, part, cat, tag, aux) VALUES (22, x'000030c0000010c00000c03f', x'000080bf0000803f0000803e', 0, 0, 'c', NULL)",
    "INSERT INTO v(rowid, emb, g, part, cat, tag, aux) VALUES (9, x'000030400000803f0000a03f', x'00001040000080c00000003f', 0, 3, NULL, 'x')",
    "INSERT INTO v(rowid, emb, g, part, cat, tag, aux) VALUES (11, x'000070400000003f0000803f', x'000040bf000070400000003f', 0, 1, 'c', 7)",
    "INSERT INTO v(rowid, emb, g, part, cat, tag, aux) VALUES (13, x'0000403f000080c00000c0bf', x'0000404000004040000060c0', 1, NULL, 'c', NULL), (5, x'000070c00000803e000020c0', x'0000c03f000040bf0000e0bf', 0, 4, 'c', 'x')",
    "UPDATE v SET cat = cat + 1, g = emb WHERE cat = 3",
    "UPDATE v SET cat = cat + 1, g = emb WHERE cat = 4",
    "INSERT OR REPLACE INTO v(rowid, emb, g, part, cat, tag, aux) VALUES (11, x'00007040000030c0000040bf', x'0000a03f000080bf0000c0bf', 0, 1, NULL, NULL)",
]

# Reviving slot 2: node 0 re-selects one link out of four and hands the
# three it drops to node 6, which is full, so node 4 lost its only in-link.
# Now a dropped link the node that pruned it cannot take stays in the
# pruning node's own list, or goes to another of its neighbours with room.
REPLACE_VIA_FULL = [
    "INSERT INTO v(rowid, emb, g, part, cat, tag, aux) VALUES (11, x'00008040000000bf000000bf', x'000000bf000000bf000000bf', 2, 4, NULL, x'000000bf000000bf000000bf')",
    "INSERT INTO v(rowid, emb, g, part, cat, tag, aux) VALUES (6, x'000070c0000000bf000000bf', x'000000bf0000a0bf000050c0', 2, 4, NULL, x'000000bf000000bf000000bf')",
    "INSERT INTO v(rowid, emb, g, part, cat, tag, aux) VALUES (12, x'000000bf000000bf000000bf', x'000000bf000000bf000000bf', 0, 4, 'b', 2.5), (10, x'0000404000006040000080c0', x'000030c0000070c00000c0bf', 2, 1, 'b', 7)",
    "INSERT INTO v(rowid, emb, g, part, cat, tag, aux) VALUES (9, x'000030400000803f0000a03f', x'00001040000080c00000003f', 0, 3, NULL, 'x')",
    "INSERT INTO v(rowid, emb, g, part, cat, tag, aux) VALUES (13, x'0000403f000080c00000c0bf', x'0000404000004040000060c0', 1, NULL, 'c', NULL), (5, x'000070c00000803e000020c0', x'0000c03f000040bf0000e0bf', 0, 4, 'c', x'00005040000060400000803f')",
    "INSERT OR REPLACE INTO v(rowid, emb, g, part, cat, tag, aux) VALUES (12, x'0000803e00005040000010c0', x'00007040000030c0000040bf', 1, 2, 'c', NULL)",
]


# After a rebuild (which leaves the free slot 0 out of the graph) and the
# delete of row 1, partition 0's graph holds one node, a tombstone; the new
# row in slot 0 found no live neighbour and was linked to nothing.  Now it
# links to the tombstones the walk met.
INSERT_AMONG_TOMBSTONES = [
    "INSERT OR REPLACE INTO v(rowid, emb, g, part, cat, tag, aux) VALUES (19, x'000060400000604000006040', x'000040400000304000003040', 0, 3, 'b', 'x')",
    "INSERT INTO v(rowid, emb, g, part, cat, tag, aux) VALUES (1, x'000020400000604000006040', x'000060400000604000006040', 0, 2, 'c', 2.5)",
    "INSERT OR REPLACE INTO v(rowid, emb, g, part, cat, tag, aux) VALUES (19, x'000060400000604000006040', x'000080c00000003f000000bf', 2, 1, 'b', 'x')",
    "INSERT INTO v(v) VALUES ('rebuild')",
    "DELETE FROM v WHERE rowid = 1",
    "INSERT OR REPLACE INTO v(rowid, emb, g, part, cat, tag, aux) VALUES (13, x'00004040000080be0000a03f', x'000010c0000040bf0000803e', 0, NULL, 'a', NULL)",
]


# Five copies of one vector and one other: the copies filled every list
# (a copy of a kept node was not redundant while it was also a copy of the
# base), and reviving row 7 pushed out the last link to the other node.
COPIES_PUSH_OUT_OUTLIER = [
    "INSERT INTO v(rowid, emb, g, part, cat, tag, aux) VALUES (21, x'00008040000050c0000050c0', x'000050c0000050c0000050c0', 0, 2, 'c', 2.5);",
    "INSERT OR REPLACE INTO v(rowid, emb, g, part, cat, tag, aux) VALUES (1, x'000080c0000050c0000050c0', x'000050c0000050c0000050c0', 0, 2, 'c', 2.5);",
    "INSERT OR REPLACE INTO v(rowid, emb, g, part, cat, tag, aux) VALUES (7, x'000050c0000050c0000050c0', x'000050c0000050c0000050c0', 0, 2, 'c', 2.5);",
    "INSERT OR REPLACE INTO v(rowid, emb, g, part, cat, tag, aux) VALUES (3, x'000050c0000050c0000050c0', x'000050c0000050c0000050c0', 0, 2, 'c', 2.5);",
    "INSERT OR REPLACE INTO v(rowid, emb, g, part, cat, tag, aux) VALUES (12, x'00002040000020c00000003f', x'000000bf00002040000080c0', 0, 2, 'c', 2.5);",
    "INSERT OR REPLACE INTO v(rowid, emb, g, part, cat, tag, aux) VALUES (22, x'000050c0000050c0000050c0', x'000050c0000050c0000050c0', 0, 2, 'c', 2.5);",
    "INSERT OR REPLACE INTO v(rowid, emb, g, part, cat, tag, aux) VALUES (7, x'000050c0000050c0000050c0', x'000050c0000050c0000050c0', 0, 2, 'c', 2.5);",
]


# The last row is a copy of rows 10 and 17: each neighbour it asked for a
# link back kept one of the copies instead, so nothing linked to it.  Now a
# new node a neighbour refuses is handed over like a dropped old link.
COPY_REFUSED_BY_ALL = [
    "INSERT INTO v(rowid, emb, g, part, cat, tag, aux) VALUES (10, x'000080c0000080c0000080c0', x'000080c0000080c0000080c0', 0, NULL, 'a', NULL);",
    "INSERT OR REPLACE INTO v(rowid, emb, g, part, cat, tag, aux) VALUES (17, x'000080be000080c0000080c0', x'000080c0000080c0000080c0', 0, NULL, 'a', NULL);",
    "INSERT INTO v(rowid, emb, g, part, cat, tag, aux) VALUES (2, x'00006040000040c00000003f', x'0000403f00006040000080c0', 0, 1, 'b', x'000060400000a0bf0000003f');",
    "INSERT INTO v(rowid, emb, g, part, cat, tag, aux) VALUES (22, x'0000803f000080400000803f', x'0000c0bf000040c000005040', 0, 4, NULL, NULL);",
    "INSERT INTO v(rowid, emb, g, part, cat, tag, aux) VALUES (3, x'0000003f000070400000e03f', x'000040bf00000040000050c0', 0, 2, 'b', x'000000c0000000bf0000c03f');",
    "INSERT INTO v(rowid, emb, g, part, cat, tag, aux) VALUES (24, x'00000000000050c0000050c0', x'000050c0000050c0000050c0', 0, 4, 'b', x'000050c0000050c0000050c0'), (6, x'000080c0000080c0000080c0', x'000080c0000080c0000080c0', 0, NULL, 'a', NULL);",
]


# Six copies of one vector; then row 12's new vector linked it to two of the
# copies, and one of them (slot 4) gave up its link to another copy, handing
# it over to row 12, which already had it.  Row 12's own list was then
# re-selected among its old and new links and dropped the new ones without
# handing them over: the copy lost its last in-link.  Now a dropped new link
# is handed over like an old one.
UPDATE_DROPS_HANDED_LINK = [
    "INSERT INTO v(rowid, emb, g, part, cat, tag, aux) VALUES (21, x'00008040000050c0000050c0', x'000050c0000050c0000050c0', 0, 2, 'c', 2.5);",
    "INSERT OR REPLACE INTO v(rowid, emb, g, part, cat, tag, aux) VALUES (1, x'000080c0000050c0000050c0', x'000050c0000050c0000050c0', 0, 2, 'c', 2.5);",
    "INSERT INTO v(rowid, emb, g, part, cat, tag, aux) VALUES (17, x'00007040000080c0000080c0', x'0000504000003040000080c0', 0, NULL, NULL, 2.5);",
    "INSERT OR REPLACE INTO v(rowid, emb, g, part, cat, tag, aux) VALUES (7, x'00000040000000400000c03f', x'000000400000004000000040', 0, 2, 'c', 2.5);",
    "INSERT OR REPLACE INTO v(rowid, emb, g, part, cat, tag, aux) VALUES (3, x'000050c0000050c0000050c0', x'000050c0000050c0000050c0', 0, 2, 'c', 2.5);",
    "INSERT OR REPLACE INTO v(rowid, emb, g, part, cat, tag, aux) VALUES (12, x'00002040000020c00000003f', x'000000bf00002040000080c0', 0, 2, 'c', 2.5);",
    "INSERT OR REPLACE INTO v(rowid, emb, g, part, cat, tag, aux) VALUES (22, x'000050c0000050c0000050c0', x'000050c0000050c0000050c0', 0, 2, 'c', 2.5);",
    "INSERT OR REPLACE INTO v(rowid, emb, g, part, cat, tag, aux) VALUES (7, x'000050c0000050c0000050c0', x'000050c0000050c0000050c0', 2, 2, 'c', 2.5);",
    "INSERT OR REPLACE INTO v(rowid, emb, g, part, cat, tag, aux) VALUES (2, x'000080c0000080c0000080c0', x'000080c0000080c0000080c0', 0, 2, 'c', 2.5);",
    "INSERT OR REPLACE INTO v(rowid, emb, g, part, cat, tag, aux) VALUES (1, x'000050c0000050c0000050c0', x'000050c0000050c0000050c0', 0, 3, 'b', 2.5);",
    "INSERT INTO v(rowid, emb, g, part, cat, tag, aux) VALUES (9, x'00008040000080c0000080c0', x'000050c0000050c0000050c0', 0, 3, NULL, NULL);",
    "INSERT OR REPLACE INTO v(rowid, emb, g, part, cat, tag, aux) VALUES (7, x'000050c0000050c0000050c0', x'000050c0000050c0000050c0', 0, 2, 'c', 'x');",
    "INSERT INTO v(v) VALUES ('optimize');",
    "UPDATE v SET cat = cat + 1, g = emb WHERE cat = 2;",
]


def run(path, schema, statements):
    con = connect(path)
    con.execute(schema)
    for sql in statements:
        con.execute(sql)
    return con


@pytest.mark.parametrize("schema", SCHEMAS, ids=["partitioned", "one-graph"])
def test_revived_node_keeps_handed_over_links(dbpath, schema):
    integrity(run(dbpath, schema, REPLACE_AFTER_HANDOFF), "v")


@pytest.mark.parametrize("schema", SCHEMAS, ids=["partitioned", "one-graph"])
def test_pruned_node_with_full_via(dbpath, schema):
    integrity(run(dbpath, schema, REPLACE_VIA_FULL), "v")


def test_insert_among_tombstones(dbpath):
    con = run(dbpath, SCHEMA, INSERT_AMONG_TOMBSTONES)
    integrity(con, "v")
    rows = con.execute("SELECT rowid FROM v WHERE g MATCH x'000010c0000040bf0000803e' "
                       "AND k = 5 AND part = 0").fetchall()
    assert rows == [(13,)]


@pytest.mark.parametrize("schema", SCHEMAS, ids=["partitioned", "one-graph"])
def test_copies_do_not_push_out_a_link(dbpath, schema):
    integrity(run(dbpath, schema, COPIES_PUSH_OUT_OUTLIER), "v")


@pytest.mark.parametrize("schema", SCHEMAS, ids=["partitioned", "one-graph"])
def test_new_copy_gets_a_link(dbpath, schema):
    integrity(run(dbpath, schema, COPY_REFUSED_BY_ALL), "v")


@pytest.mark.parametrize("schema", SCHEMAS, ids=["partitioned", "one-graph"])
def test_update_hands_over_dropped_new_links(dbpath, schema):
    integrity(run(dbpath, schema, UPDATE_DROPS_HANDED_LINK), "v")


def write_mix(con, rnd, dim, n_ops, reopen=None):
    """Random single-row writes and transactions (some rolled back) on table
    t, integrity-checked after each; returns the rowids that should be live.
    reopen(), if given, is called every 10 writes and returns a connection
    with nothing of the graph loaded yet."""
    centres = [[rnd.uniform(-5, 5) for _ in range(dim)] for _ in range(10)]

    def vec():
        c = rnd.choice(centres)
        return struct.pack("<%df" % dim, *[x + rnd.gauss(0, 1) for x in c])

    live, nxt = set(), 1
    con.execute("BEGIN")
    for _ in range(600):  # the batch build
        con.execute("INSERT INTO t(rowid, emb) VALUES (?, ?)", (nxt, vec()))
        live.add(nxt)
        nxt += 1
    con.execute("COMMIT")
    integrity(con, "t")
    for op in range(n_ops):
        if reopen and op % 10 == 0:
            con = reopen(con)
        a = rnd.random()
        if a < 0.15:
            con.execute("BEGIN")
            saved, saved_nxt = set(live), nxt
            for _ in range(rnd.randint(1, 150)):
                b = rnd.random()
                if b < 0.6:
                    con.execute("INSERT INTO t(rowid, emb) VALUES (?, ?)", (nxt, vec()))
                    live.add(nxt)
                    nxt += 1
                elif b < 0.8:
                    con.execute("UPDATE t SET emb = ? WHERE rowid = ?",
                                (vec(), rnd.choice(sorted(live))))
                else:
                    k = rnd.choice(sorted(live))
                    con.execute("DELETE FROM t WHERE rowid = ?", (k,))
                    live.discard(k)
            if rnd.random() < 0.2:
                con.execute("ROLLBACK")
                live, nxt = saved, saved_nxt
            else:
                con.execute("COMMIT")
        elif a < 0.5:
            con.execute("UPDATE t SET emb = ? WHERE rowid = ?", (vec(), rnd.choice(sorted(live))))
        elif a < 0.7:
            k = rnd.choice(sorted(live))
            con.execute("DELETE FROM t WHERE rowid = ?", (k,))
            live.discard(k)
        else:
            con.execute("INSERT INTO t(rowid, emb) VALUES (?, ?)", (nxt, vec()))
            live.add(nxt)
            nxt += 1
        try:
            integrity(con, "t")
        except sqlite3.DatabaseError as e:
            raise AssertionError("after write %d: %s" % (op, e)) from None
    return live, con


# Small lists fill up, and a node pruned from its last in-list had nowhere to
# go: at m = 3..8 random write mixes left live rows unreachable (32 of 40
# such mixes failed).  Each case failed before the repair of lost nodes
# (vec0HnswRepairLost); the m = 2 one with it, before the walk of a small
# graph that links back what the repairs missed (reachAll).
@pytest.mark.parametrize("m,metric,dim,seed", [
    (2, "cosine", 24, 1), (3, "l2", 24, 6), (4, "l2", 16, 3), (4, "cosine", 24, 5),
])
def test_write_mixes_keep_every_row_reachable(dbpath, m, metric, dim, seed):
    con = connect(dbpath)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(emb float[%d] distance_metric=%s "
                "indexed by hnsw(m=%d, ef_construction=16))" % (dim, metric, m))
    def reopen(old):
        old.close()
        return connect(dbpath)

    # a new connection now and then: the nodes a write meets are read then
    live, con = write_mix(con, random.Random(seed), dim, 120, reopen)
    assert {r for (r,) in con.execute("SELECT rowid FROM t")} == live
    # every row is found by a search for its own vector, wide enough
    for (r, v) in con.execute("SELECT rowid, emb FROM t ORDER BY rowid LIMIT 40").fetchall():
        got = [x for (x,) in con.execute(
            "SELECT rowid FROM t WHERE emb MATCH ? AND k = 5 AND ef = 400", (v,))]
        assert r in got, (r, got)


@pytest.mark.heavy
def test_m2_above_20000_ids_keeps_every_row_reachable():
    """At m = 2 the walk over every node after a displacing write (the
    repair's safety net) stopped at 20 000 ids; on 20 100 rows this mix of
    2 750 single-row writes then left a live row unreachable (integrity-check
    failed).  The bound is now in links read (160 000 ids at m = 2), and the
    net's link back, which found only full lists sharing nothing with the
    row's own among the 4 096 it looked at, now makes room (both needed)."""
    rng = np.random.default_rng(8)
    n, dim = 20100, 8
    cent = rng.uniform(-5, 5, size=(12, dim))

    def vec():
        return (cent[rng.integers(12)] + rng.normal(size=dim)).astype(np.float32).tobytes()

    con = sqlite3.connect(":memory:", isolation_level=None)
    con.enable_load_extension(True)
    con.load_extension(EXT)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(v float[%d] indexed by "
                "hnsw(m=2, ef_construction=16))" % dim)
    con.execute("BEGIN")
    con.executemany("INSERT INTO t(rowid, v) VALUES (?, ?)",
                    ((i + 1, vec()) for i in range(n)))
    con.execute("COMMIT")
    con.execute("SELECT rowid FROM t WHERE v MATCH ? AND k = 1", (vec(),)).fetchall()
    for _ in range(2750):
        r = rng.random()
        if r < 0.6:
            con.execute("UPDATE t SET v = ? WHERE rowid = ?", (vec(), int(rng.integers(1, n + 1))))
        elif r < 0.8:
            con.execute("DELETE FROM t WHERE rowid = ?", (int(rng.integers(1, n + 1)),))
        else:
            con.execute("INSERT OR REPLACE INTO t(rowid, v) VALUES (?, ?)",
                        (int(rng.integers(1, n + 1)), vec()))
    integrity(con, "t")
