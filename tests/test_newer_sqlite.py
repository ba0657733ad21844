"""What vec0 does only with a newer SQLite than Debian 12's 3.40: the LIMIT
of `ORDER BY distance LIMIT n` passed to the virtual table (3.41) and
PRAGMA integrity_check checking vec0 tables through xIntegrity (3.44).
Run through tests/newsqlite/minishell built against a recent amalgamation
(`make newsqlite`); skipped, saying why, when it could not be built."""

import os
import subprocess

import pytest

from conftest import EXT, ROOT

SHELL = os.path.join(ROOT, "tests", "newsqlite", "build", "minishell")

pytestmark = pytest.mark.skipif(
    not os.path.exists(SHELL),
    reason="no newer SQLite: `make newsqlite` needs npm to fetch its amalgamation")


def run(db, sql):
    r = subprocess.run([SHELL, db, EXT], input=sql, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    version = tuple(int(x) for x in lines[0].split()[1].split("."))
    assert version >= (3, 44, 0)
    return lines[1:]


SETUP = """
CREATE VIRTUAL TABLE f USING vec0(e float[2] indexed by flat(), m integer);
CREATE VIRTUAL TABLE h USING vec0(e float[2], m integer);
INSERT INTO f(rowid, e, m) VALUES (1,'[1,0]',1), (2,'[2,0]',2), (3,'[3,0]',1),
  (4,'[4,0]',2), (5,'[5,0]',1);
INSERT INTO h(rowid, e, m) SELECT rowid, e, m FROM f;
"""


def test_order_by_distance_limit(tmp_path):
    out = run(str(tmp_path / "l.db"), SETUP + """
SELECT rowid, distance FROM f WHERE e MATCH '[0,0]' ORDER BY distance LIMIT 2;
SELECT rowid FROM h WHERE e MATCH '[4.1,0]' ORDER BY distance LIMIT 3;
SELECT rowid FROM f WHERE e MATCH '[0,0]' AND m = 1 ORDER BY distance LIMIT 2;
SELECT count(*) FROM (SELECT rowid FROM h WHERE e MATCH '[0,0]' ORDER BY distance LIMIT 0);
SELECT rowid FROM f WHERE e MATCH '[0,0]' AND k = 1 ORDER BY distance LIMIT 3;
SELECT rowid FROM f WHERE e MATCH '[0,0]';
""")
    assert out == ["1|1.0", "2|2.0", "4", "5", "3", "1", "3", "0", "1",
                   'Error: vec0: table "f": ' + NEEDS_K]


NEEDS_K = ('a KNN query needs "k = ?" (from SQLite 3.41 on a LIMIT serves as k when '
           'the query has no ORDER BY, or ORDER BY distance alone)')


def test_limit_under_another_order(tmp_path):
    """A LIMIT counts the rows in the ORDER BY's order: under any order but
    distance ascending it is not k (it used to be: ORDER BY distance DESC
    LIMIT 3 returned the 3 nearest)."""
    out = run(str(tmp_path / "o.db"), SETUP + """
SELECT rowid FROM f WHERE e MATCH '[0,0]' ORDER BY distance DESC LIMIT 2;
SELECT rowid FROM h WHERE e MATCH '[5,0]' ORDER BY rowid LIMIT 2;
SELECT rowid FROM f WHERE e MATCH '[5,0]' ORDER BY m, distance LIMIT 2;
SELECT rowid FROM h WHERE e MATCH '[0,0]' AND k = 2 ORDER BY distance DESC LIMIT 2;
SELECT rowid FROM f WHERE e MATCH '[5,0]' AND k = 3 ORDER BY m, distance LIMIT 2;
SELECT rowid FROM h WHERE e MATCH '[5,0]' LIMIT 2;
""")
    err = 'Error: vec0: table "%s": ' + NEEDS_K
    assert out == [err % "f", err % "h", err % "f", "2", "1", "5", "3", "5", "4"]


def test_pragma_integrity_check(tmp_path):
    db = str(tmp_path / "i.db")
    out = run(db, SETUP + """
PRAGMA integrity_check;
PRAGMA quick_check;
UPDATE h_rows SET slot = 4 WHERE id = 1;
PRAGMA integrity_check;
""")
    assert out[0] == "ok" and out[1] == "ok"
    assert out[2:] == ["vec0 table h: row 1 points to slot 4, which is not its slot"]
    # the same check as the command, and nothing else is reported
    out = run(db, "UPDATE h_rows SET slot = 0 WHERE id = 1;\n"
                  "UPDATE f_vectors0 SET v = x'00' WHERE chunk = 0;\n"
                  "PRAGMA integrity_check;\n")
    assert out == ["vec0 table f: chunk 0 of f_vectors0 has 1 bytes, expected 496"]
