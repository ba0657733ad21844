"""Every filter a KNN query can express runs inside the search: LIKE, GLOB,
IS [NOT] NULL, IS [NOT], !=, comparisons and IN, on metadata columns,
auxiliary columns, the text key and the rowid.  On real data (fashion-mnist)
at 100 %, 10 %, 1 % and 0.1 % selectivity a query returns
min(k, matching rows) rows with recall@10 >= 0.95 against an exact scan with
the same filter (before, LIKE and auxiliary-column filters were applied by
SQLite after the k rows were chosen, returning as few as 0 rows)."""

import os
import sqlite3
import sys

import pytest

from conftest import ROOT, connect, integrity

np = pytest.importorskip("numpy")
sys.path.insert(0, os.path.join(ROOT, "bench"))
import datasets  # noqa: E402  (bench/datasets.py: fashion-mnist from Debian's package)

FASHION = os.path.join(datasets.FASHION_DIR, "train-images-idx3-ubyte.gz")

N = 4000
NQ = 5
K = 10


def load(n):
    """The first n base rows and NQ more as queries, by the bench's loader."""
    a = datasets._idx3(FASHION)
    return a[:n], a[n:n + NQ]


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    if not os.path.exists(FASHION):
        pytest.skip("fashion-mnist is not installed (Debian package dataset-fashion-mnist)")
    base, queries = load(N)
    rng = np.random.default_rng(13)
    grp = rng.permutation(N) % 1000          # 4 rows per value, unrelated to the vectors
    path = str(tmp_path_factory.mktemp("kinds") / "k.db")
    con = connect(path)
    con.execute("CREATE VIRTUAL TABLE t USING vec0(id text primary key, e float[784], "
                "grp integer, lang text, opt integer, +body text, +note text)")
    meta = []
    con.execute("BEGIN")
    for i in range(N):
        g = int(grp[i])
        row = {"id": "k%05d" % i, "grp": g, "lang": "L%03d" % g,
               "opt": g if g % 2 == 0 else None, "body": "b%03d" % g,
               "note": None if g % 2 else "n%03d" % g}
        con.execute("INSERT INTO t(rowid, id, e, grp, lang, opt, body, note) "
                    "VALUES (?,?,?,?,?,?,?,?)",
                    (i + 1, row["id"], base[i].tobytes(), g, row["lang"], row["opt"],
                     row["body"], row["note"]))
        meta.append(row)
    con.execute("COMMIT")
    integrity(con, "t")
    yield con, base, queries, meta
    con.close()


# Selectivity -> the number m of grp values (of 1000) a filter admits.
SEL = {"100%": 1000, "10%": 100, "1%": 10, "0.1%": 1}


def prefix(m):
    """A LIKE prefix over the 3-digit value that admits m of 1000 values."""
    return {1000: "", 100: "0", 10: "00", 1: "000"}[m]


# kind -> (SQL filter for m, Python predicate for m).  Each admits about
# m/1000 of the rows (those whose grp < m, or that subset of them).
KINDS = {
    "meta LIKE": (lambda m: "lang LIKE 'l%s%%'" % prefix(m),           # case-insensitive
                  lambda r, m: r["grp"] < m),
    "meta GLOB": (lambda m: "lang GLOB 'L%s*'" % prefix(m),
                  lambda r, m: r["grp"] < m),
    "meta IN": (lambda m: "lang IN (%s)" % ", ".join("'L%03d'" % g for g in range(m)),
                lambda r, m: r["grp"] < m),
    "meta != and <": (lambda m: "grp <= %d AND lang != 'L%03d'" % (m, m),
                      lambda r, m: r["grp"] < m),
    "meta IS NOT NULL": (lambda m: "opt IS NOT NULL AND grp < %d" % max(m, 2),
                         lambda r, m: r["opt"] is not None and r["grp"] < max(m, 2)),
    "meta IS NULL": (lambda m: "opt IS NULL AND grp < %d" % max(m, 2),
                     lambda r, m: r["opt"] is None and r["grp"] < max(m, 2)),
    "meta IS": (lambda m: "opt IS 0" if m == 1 else "opt IS NOT 1 AND grp < %d" % m,
                lambda r, m: r["grp"] == 0 if m == 1 else r["grp"] < m),
    "meta NOCASE": (lambda m: "lang <= 'l%03d' COLLATE NOCASE" % (m - 1),
                    lambda r, m: r["grp"] < m),
    "aux =": (lambda m: "body = 'b000'" if m == 1 else
              "body IN (%s)" % ", ".join("'b%03d'" % g for g in range(m)),
              lambda r, m: r["grp"] < m),
    "aux LIKE": (lambda m: "body LIKE 'B%s%%'" % prefix(m),
                 lambda r, m: r["grp"] < m),
    "aux GLOB": (lambda m: "body GLOB 'b%s*'" % prefix(m),
                 lambda r, m: r["grp"] < m),
    "aux <": (lambda m: "body < 'b%03d'" % m if m < 1000 else "body < 'c'",
              lambda r, m: r["grp"] < m),
    "aux IS NULL": (lambda m: "note IS NULL AND body < 'b%03d'" % max(m, 2)
                    if m < 1000 else "note IS NULL",
                    lambda r, m: r["note"] is None and (m == 1000 or r["grp"] < max(m, 2))),
    "text key LIKE and meta": (lambda m: "id LIKE 'k%%' AND grp < %d" % m,
                               lambda r, m: r["grp"] < m),
    "rowid range and meta": (lambda m: "rowid > 100 AND grp < %d" % m,
                             lambda r, m: int(r["id"][1:]) + 1 > 100 and r["grp"] < m),
}


@pytest.mark.parametrize("sel", list(SEL))
@pytest.mark.parametrize("kind", list(KINDS))
def test_filter_kind(table, kind, sel):
    con, base, queries, meta = table
    m = SEL[sel]
    sql_filter, pred = KINDS[kind]
    where = sql_filter(m)
    match = np.array([pred(r, m) for r in meta])
    assert match.any()
    found = 0
    want = 0
    for q in queries:
        d = ((base - q) ** 2).sum(axis=1)
        d[~match] = np.inf
        exact = set(int(i) + 1 for i in np.argsort(d, kind="stable")[:min(K, int(match.sum()))])
        rows = con.execute("SELECT rowid, distance FROM t WHERE e MATCH ? AND k = %d AND %s"
                           % (K, where), (q.tobytes(),)).fetchall()
        assert len(rows) == min(K, int(match.sum())), (where, len(rows))
        assert all(match[r - 1] for r, _ in rows), where
        found += len(exact & set(r for r, _ in rows))
        want += len(exact)
    assert found / want >= 0.95, (where, found / want)


def test_unseen_filter_pattern(table):
    """What no virtual table can see (a function of a column) is SQLite's to
    check after the k rows are chosen; the documented pattern, an outer
    query over a larger k, gives the filtered nearest rows."""
    con, base, queries, meta = table
    q = queries[0]
    d = ((base - q) ** 2).sum(axis=1)
    d[[r["grp"] >= 10 for r in meta]] = np.inf
    exact = [int(i) + 1 for i in np.argsort(d, kind="stable")[:K]]
    rows = con.execute("SELECT rowid FROM (SELECT rowid, distance, body FROM t "
                       "WHERE e MATCH ? AND k = %d) WHERE substr(body, 2) < '010' "
                       "ORDER BY distance LIMIT %d" % (N, K), (q.tobytes(),)).fetchall()
    assert [r for (r,) in rows] == exact


def test_rtrim_collation_is_left_to_sqlite(table):
    con, base, queries, meta = table
    rows = con.execute("SELECT rowid FROM t WHERE e MATCH ? AND k = 5 "
                       "AND lang = 'L000 ' COLLATE RTRIM", (queries[0].tobytes(),)).fetchall()
    assert all(meta[r - 1]["grp"] == 0 for (r,) in rows)


def test_like_under_case_sensitive_pragma(table):
    """PRAGMA case_sensitive_like cannot be seen by a virtual table; SQLite
    checks LIKE again, so no row that fails it is returned."""
    con, base, queries, meta = table
    con.execute("PRAGMA case_sensitive_like = ON")
    try:
        rows = con.execute("SELECT rowid FROM t WHERE e MATCH ? AND k = 5 AND lang LIKE 'l00%'",
                           (queries[0].tobytes(),)).fetchall()
        assert rows == []
    finally:
        con.execute("PRAGMA case_sensitive_like = OFF")


def test_filter_errors_are_clear(table):
    con, base, queries, meta = table
    with pytest.raises(sqlite3.Error, match="vec0: "):
        con.execute("SELECT rowid FROM t WHERE e MATCH ? AND k = 5 AND grp < 3",
                    (b"\x00\x01",)).fetchall()
