"""The documentation runs: every ```sql and ```python block of docs/*.md, of
README.md and of bindings/*/README.md is executed against the built
extension, and its output must equal the ```output block that follows it
(a block without one must print nothing).
VEC0_UPDATE=1 rewrites the output blocks from what the blocks print.

Per page, the SQL blocks run in order, each in a fresh sqlite3 shell on one
database file, in a scratch directory where ./dist is the build under test,
with vec0 loaded unless the block has its own `.load` lines (a path
containing "sqlite-vec" or "vectorlite" loads that peer, anything
else vec0).  The Python blocks of a page run as one script, with the package
from bindings/python.  A comment line right before a block changes that:
  <!-- doc-test: skip (why) -->     not run
  <!-- doc-test: sqlite-vec -->     the block needs sqlite-vec 0.1.9
  <!-- doc-test: vectorlite -->     the block needs vectorlite 0.2.0
Peers come from $SQLITE_VEC_EXT / $VECTORLITE_EXT or `make -C bench peers`;
without them the blocks under that ## or ### heading are not run, with a
warning.

The ```js, ```go, ```rust, ```ruby, ```php, ```perl, ```tcl and ```console
blocks (and their outputs) are run by tests/bindings/.

Also checked: ```c blocks are excerpts of the tested example program or of
vec0.h, relative links point to files, and the SQL reference names every
function, module, hidden column and command the extension has.
"""

import glob
import math
import os
import re
import struct

import pytest

import warnings

from support import DIST, EXT, PYTHON, ROOT, SQLITE3, run, shell

DOCS = sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))
README = os.path.join(ROOT, "README.md")
# The bindings' READMEs: Python's runs here, the others in tests/bindings/.
BINDING_READMES = sorted(glob.glob(os.path.join(ROOT, "bindings", "*", "README.md")))
PEERS = os.path.join(ROOT, "bench", "peers", "node_modules")
PEER_EXT = {
    "sqlite-vec": os.environ.get("SQLITE_VEC_EXT",
                                 os.path.join(PEERS, "sqlite-vec-linux-x64", "vec0")),
    "vectorlite": os.environ.get("VECTORLITE_EXT", os.path.join(
        PEERS, "@1yefuwang1", "vectorlite-linux-x64", "src", "vectorlite")),
}
FENCE = re.compile(r"^```(\w*)\s*$")
# Blocks that run: sql and python here, the others in tests/bindings/.
RUNNABLE = ("sql", "python", "js", "go", "rust", "ruby", "php", "perl", "tcl", "console")
DIRECTIVE = re.compile(r"^<!-- doc-test: (\S+).*-->\s*$")
MARKER = "@@vec0-doc-block@@"


class Block:
    def __init__(self, lang, start, end, lines, directive, section):
        self.lang, self.start, self.end = lang, start, end  # fence line numbers
        self.text = "".join(lines)
        self.directive = directive
        self.section = section  # the ## or ### heading above it
        self.output = None      # the ```output Block after it


def parse(path):
    """The fenced blocks of a markdown file, outputs attached to their code."""
    lines = open(path).readlines()
    blocks, i, section = [], 0, ""
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            if lines[i].startswith(("## ", "### ")):
                section = lines[i].lstrip("#").strip()
            i += 1
            continue
        j = i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        assert j < len(lines), "%s:%d: unclosed code block" % (path, i + 1)
        prev = lines[i - 1] if i else ""
        d = DIRECTIVE.match(prev)
        blocks.append(Block(m.group(1), i, j, lines[i + 1:j], d.group(1) if d else None,
                            section))
        i = j + 1
    code = []
    for b in blocks:
        if b.lang == "output":
            assert code and code[-1].end < b.start and code[-1].output is None, \
                "%s:%d: an output block must follow a code block" % (path, b.start + 1)
            between = lines[code[-1].end + 1:b.start]
            assert all(not l.strip() for l in between), \
                "%s:%d: text between a block and its output" % (path, b.start + 1)
            code[-1].output = b
        elif b.lang in RUNNABLE:
            code.append(b)
    return lines, code


def load_line(arg):
    for name, path in PEER_EXT.items():
        if name in arg:
            return ".load %s\n" % path
    return ".load %s\n" % EXT


def run_sql(block, cwd):
    text, own_load = [], False
    for line in block.text.splitlines(True):
        if line.startswith(".load "):
            line, own_load = load_line(line.split(None, 1)[1]), True
        text.append(line)
    cmd = [SQLITE3, "-batch"] + ([] if own_load else ["-cmd", ".load " + EXT]) + ["doc.db"]
    return run(cmd, input="".join(text), cwd=cwd, check=False).stdout


def run_python(blocks, cwd):
    script = "".join(b.text + "print(%r)\n" % MARKER for b in blocks)
    env = dict(os.environ, VEC0_EXT=EXT, PYTHONPATH=os.path.join(ROOT, "bindings", "python"))
    out = run([PYTHON, "-c", script], cwd=cwd, env=env).stdout
    parts = out.split(MARKER + "\n")
    assert len(parts) == len(blocks) + 1 and parts[-1] == "", out
    return parts[:-1]


@pytest.mark.parametrize("path", DOCS + [README] + BINDING_READMES,
                         ids=lambda p: os.path.relpath(p, ROOT))
def test_doc_examples(path, tmp_path):
    # the pages load ./dist/vec0, as from the repository root
    os.symlink(DIST, str(tmp_path / "dist"))
    lines, blocks = parse(path)
    blocks = [b for b in blocks if b.directive != "skip" and b.lang in ("sql", "python")]
    missing = {b.section: b.directive for b in blocks
               if b.directive in PEER_EXT and not os.path.exists(PEER_EXT[b.directive] + ".so")}
    for section, peer in sorted(missing.items()):
        warnings.warn("%s: section %r not run: it needs %s (make -C bench peers installs it)"
                      % (os.path.relpath(path, ROOT), section, peer))
    blocks = [b for b in blocks if b.section not in missing]
    actual = {}
    for b in blocks:
        if b.lang == "sql":
            actual[b] = run_sql(b, str(tmp_path))
    py = [b for b in blocks if b.lang == "python"]
    if py:
        actual.update(zip(py, run_python(py, str(tmp_path))))
    if os.environ.get("VEC0_UPDATE") == "1":
        rewrite(path, lines, blocks, actual)
        return
    for b in blocks:
        where = "%s:%d" % (os.path.relpath(path, ROOT), b.start + 1)
        expected = b.output.text if b.output else ""
        assert actual[b] == expected, \
            "%s: the %s block prints\n%s\ninstead of\n%s" % (where, b.lang, actual[b], expected)


def rewrite(path, lines, blocks, actual):
    """Puts each block's actual output into its output block (VEC0_UPDATE)."""
    edits = []  # (first line, last line + 1, new lines), bottom-up
    for b in blocks:
        new = ["```output\n", actual[b], "```\n"] if actual[b] else []
        if b.output:
            start, end = b.output.start, b.output.end + 1
            if not new:  # drop the block and the blank line before it
                start = b.end + 1
        else:
            start = end = b.end + 1
            if new:
                new = ["\n"] + new
        edits.append((start, end, new))
    for start, end, new in sorted(edits, reverse=True):
        lines[start:end] = new
    with open(path, "w") as f:
        f.writelines(lines)


C_SOURCES = [os.path.join(ROOT, "examples", "c", "knn.c"), os.path.join(ROOT, "include", "vec0.h")]


@pytest.mark.parametrize("path", DOCS, ids=lambda p: os.path.relpath(p, ROOT))
def test_c_blocks_are_excerpts_of_tested_code(path):
    sources = [open(f).read() for f in C_SOURCES]
    text = open(path).read()
    for block in re.findall(r"^```c\n(.*?)^```$", text, re.M | re.S):
        assert any(block in src for src in sources), \
            "%s: this C block is not in %s:\n%s" % (path, " or ".join(C_SOURCES), block)


LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize("path", DOCS + [README] + BINDING_READMES,
                         ids=lambda p: os.path.relpath(p, ROOT))
def test_relative_links_resolve(path):
    for target in LINK.findall(open(path).read()):
        if "://" not in target and not target.startswith("mailto:"):
            full = os.path.join(os.path.dirname(path), target)
            assert os.path.exists(full), "%s links to missing %s" % (path, target)


def test_sql_reference_is_complete():
    """Every function, module and hidden column the extension registers and
    every command it accepts has its entry in the SQL reference."""
    ref = open(os.path.join(ROOT, "docs", "sql-reference.md")).read()
    names = shell("SELECT DISTINCT name FROM pragma_function_list WHERE name LIKE 'vec%' "
                  "UNION SELECT name FROM pragma_module_list WHERE name LIKE 'vec%';").split()
    assert "vec_f32" in names and "vec0" in names and "vec_each" in names
    for name in names:
        assert re.search(r"^#+ .*`%s\b" % re.escape(name), ref, re.M), \
            "docs/sql-reference.md has no heading for %s" % name
    hidden = shell("CREATE VIRTUAL TABLE t USING vec0(v float[1]);"
                   "SELECT name FROM pragma_table_xinfo('t') WHERE hidden AND name != 't';").split()
    assert hidden == ["distance", "k", "ef", "rescore", "recall"]
    for name in hidden:
        assert "`%s`" % name in ref, "docs/sql-reference.md does not describe %s" % name
    err = run([SQLITE3, "-batch", ":memory:"], check=False, input=(
        ".load %s\nCREATE VIRTUAL TABLE t USING vec0(v float[1]);\n"
        "INSERT INTO t(t) VALUES ('no such command');\n" % EXT)).stdout
    commands = re.search(r"\(known: ([^)]*)\)", err)
    assert commands, err
    for command in commands.group(1).split(", "):
        assert "'%s'" % command in ref, "docs/sql-reference.md does not describe '%s'" % command


# ---- docs/migration.md: the table of differences from sqlite-vec ----------

MIGRATION = os.path.join(ROOT, "docs", "migration.md")
DIFF_HEADING = "### Differences from sqlite-vec"


def difference_rows():
    """The rows of the table under DIFF_HEADING: {first cell: (sqlite-vec
    cell, vec0 cell)}."""
    lines = open(MIGRATION).read().splitlines()
    assert DIFF_HEADING in lines, "docs/migration.md has no %r" % DIFF_HEADING
    i = lines.index(DIFF_HEADING) + 1
    while i < len(lines) and not lines[i].startswith("|"):
        assert not lines[i].startswith("#"), "no table under %r" % DIFF_HEADING
        i += 1
    table = []
    while i < len(lines) and lines[i].startswith("|"):
        table.append([c.strip() for c in lines[i].strip()[1:-1].split("|")])
        i += 1
    assert table[0][1:] == ["sqlite-vec 0.1.9", "vec0"], table[0]
    rows = {}
    for cells in table[2:]:
        assert len(cells) == 3, cells
        assert cells[0] not in rows, "row %r twice" % cells[0]
        rows[cells[0]] = (cells[1], cells[2])
    return rows


def peer_shell(script):
    """What the shell prints with sqlite-vec loaded, or None without it."""
    ext = PEER_EXT["sqlite-vec"]
    if not os.path.exists(ext + ".so"):
        return None
    return shell(script, ext=ext, check=False)


def vec0_shell(script):
    return shell(script, check=False)


def each_line(script_lines, ext_shell):
    """Runs each statement alone (so one error does not hide the next) and
    returns what each printed."""
    return [ext_shell(s) for s in script_lines]


def is_error(out):
    return out.startswith(("Runtime error", "Parse error", "Error"))


def check_index(peer):
    sql = ("CREATE VIRTUAL TABLE t USING vec0(v float[2]);"
           "INSERT INTO t(rowid, v) VALUES (1, '[1, 0]');"
           "SELECT ef > 0 FROM t WHERE v MATCH '[1, 0]' AND k = 1;")
    assert vec0_shell(sql) == "1\n"  # the search used a graph
    flat = sql.replace("float[2]", "float[2] indexed by flat()").replace("ef > 0", "ef IS NULL")
    assert vec0_shell(flat) == "1\n"
    if peer:
        assert "no such column: ef" in peer_shell(sql)


def check_storage(peer):
    sql = ("CREATE VIRTUAL TABLE t USING vec0(v float[2]);"
           "SELECT group_concat(name, ' ') FROM sqlite_master WHERE name LIKE 't\\_%' ESCAPE '\\';")
    assert "t_chunks" not in vec0_shell(sql)
    if peer:
        out = peer_shell(sql)
        assert "t_chunks" in out and "t_rowids" in out and "t_vector_chunks00" in out, out


def check_k(peer):
    sql = ("CREATE VIRTUAL TABLE t USING vec0(v float[1] indexed by flat());"
           "INSERT INTO t(rowid, v) VALUES (1, '[1]');"
           "SELECT count(*) FROM t WHERE v MATCH '[1]' AND k = %d;")
    assert vec0_shell(sql % 100000) == "1\n"
    assert "vec0: " in vec0_shell(sql % 100001)
    if peer:
        assert peer_shell(sql.replace(" indexed by flat()", "") % 4096) == "1\n"
        assert is_error(peer_shell(sql.replace(" indexed by flat()", "") % 4097))


def check_additions(peer):
    sqls = ["SELECT vec_distance_dot('[1, 2]', '[3, 4]');",
            "SELECT vec_distance_l2sq('[1, 2]', '[3, 4]');",
            "CREATE VIRTUAL TABLE t USING vec0(v float[2] distance_metric=dot);"
            "SELECT 'made';",
            "CREATE VIRTUAL TABLE t USING vec0(v int8[2]);"
            "INSERT INTO t(rowid, v) VALUES (1, '[1, -2]');"
            "SELECT vec_to_json(v) FROM t;"]
    assert each_line(sqls, vec0_shell) == ["-11.0\n", "8.0\n", "made\n", "[1,-2]\n"]
    if peer:
        assert all(is_error(o) for o in each_line(sqls, peer_shell))


# Accepted by sqlite-vec, refused by vec0; then accepted by both, same value.
MALFORMED = ["'[1,2'", "'[1,]'", "'[1 2]'", "'[1] x'", "'[0x10]'", "'[01]'",
             "'[1]' || char(0) || 'x'"]
LENIENT = [("'[.5, 1., +1, -.5]'", "[0.500000,1.000000,1.000000,-0.500000]\n")]


def check_malformed_json(peer):
    sqls = ["SELECT vec_to_json(%s);" % m for m in MALFORMED]
    for m, out in zip(MALFORMED, each_line(sqls, vec0_shell)):
        assert is_error(out) and "vec0: " in out, (m, out)
    if peer:
        for m, out in zip(MALFORMED, each_line([s.replace("vec_to_json", "vec_length")
                                                for s in sqls], peer_shell)):
            assert not is_error(out), (m, out)
    for text, expected in LENIENT:
        sql = "SELECT vec_to_json(%s);" % text
        assert vec0_shell(sql) == expected
        if peer:
            assert peer_shell(sql) == expected


def check_nan_inf(peer):
    bad = ["SELECT vec_length('[NaN]');", "SELECT vec_length('[Infinity]');",
           "SELECT vec_length('[1e39]');", "SELECT vec_f32(X'0000C07F');",
           "SELECT vec_distance_l2(X'0000807F', '[1]');"]
    for sql, out in zip(bad, each_line(bad, vec0_shell)):
        assert "vec0: " in out, (sql, out)
    show = ("SELECT vec_to_json(X'0000C07F0000803F0000807F000080FF'), vec_length(X'0000C07F'),"
            " vec_type(X'0000807F'), (SELECT count(*) FROM vec_each(X'0000C07F000080FF'));")
    expected = "[null,1.000000,Inf,-Inf]|1|float32|2\n"
    assert vec0_shell(show) == expected
    if peer:
        assert peer_shell(show) == expected
        for sql, out in zip(bad, each_line(bad, peer_shell)):
            assert not is_error(out), (sql, out)


def check_not_numbers(peer):
    sqls = ["SELECT vec_to_json(vec_normalize('[0, 0]'));",
            "SELECT vec_to_json(vec_add('[3e38]', '[3e38]'));"]
    for sql, out in zip(sqls, each_line(sqls, vec0_shell)):
        assert "vec0: " in out, (sql, out)
    if peer:
        assert each_line(sqls, peer_shell) == ["[null,null]\n", "[Inf]\n"]


def check_float_overflow(peer):
    sqls = ["SELECT vec_distance_l2('[1e20]', '[0]');",
            "CREATE VIRTUAL TABLE t USING vec0(e float[1]);"
            "INSERT INTO t(rowid, e) VALUES (1, '[-1e20]'), (2, '[0]');"
            "SELECT group_concat(distance) FROM t WHERE e MATCH '[1e20]' AND k = 2;"]
    outs = each_line(sqls, vec0_shell)
    assert float(outs[0]) == pytest.approx(1e20, rel=1e-6), outs
    assert "vec0: " in outs[1] and 'column "e"' in outs[1], outs
    if peer:
        assert each_line(sqls, peer_shell) == ["Inf\n", "Inf,Inf\n"]


def check_other_type(peer):
    sqls = ["SELECT vec_to_json(vec_f32(vec_int8('[1, 2, 3, 4]')));",
            "SELECT vec_to_json(vec_int8(vec_f32('[1]')));",
            "SELECT vec_to_json(vec_f32(vec_bit(X'00000000')));",
            "SELECT hex(vec_bit(vec_int8('[1, 2]')));",
            "SELECT hex(vec_quantize_int8(vec_int8('[1, 2, 3, 4]'), 'unit'));"]
    outs = each_line(sqls, vec0_shell)
    assert "expected a float32 vector, got an int8 vector" in outs[0], outs
    assert all("vec0: " in o for o in outs), outs
    # a BLOB without subtype is read as the type asked for
    assert vec0_shell("CREATE TABLE r(v); INSERT INTO r VALUES (vec_int8('[1, -1]'));"
                      "SELECT vec_to_json(vec_int8(v)) FROM r;") == "[1,-1]\n"
    if peer:
        outs = each_line(sqls, peer_shell)
        assert not any(is_error(o) for o in outs), outs
        assert outs[1] == "[0,0,-128,63]\n"


def check_vec_each_bits(peer):
    sql = "SELECT group_concat(value, '') FROM vec_each(vec_bit(X'01'));"
    assert vec0_shell(sql) == "10000000\n"
    if peer:
        assert peer_shell(sql) == "00000001\n"
    json = "SELECT vec_to_json(vec_bit(X'01')), hex(vec_quantize_binary('[1,-1,-1,-1,-1,-1,-1,-1]'));"
    assert vec0_shell(json) == "[1,0,0,0,0,0,0,0]|01\n"
    if peer:
        assert peer_shell(json) == "[1,0,0,0,0,0,0,0]|01\n"


LONG = ("SELECT vec_distance_l2(vec_quantize_int8(a, 'unit'), vec_quantize_int8(b, 'unit')) FROM"
        " (SELECT '[' || substr(replace(hex(zeroblob(1000001)), '00', '1,'), 1, 2000001) || ']' AS a,"
        "         '[' || substr(replace(hex(zeroblob(1000001)), '00', '-1,'), 1, 3000002) || ']' AS b);")


def check_long_distances(peer):
    assert vec0_shell(LONG) == "254000.125\n"
    if peer:
        assert round(float(peer_shell(LONG)), 2) == 255466.97
    # for table-sized vectors the two agree to float32 rounding
    sql = ("SELECT vec_distance_l2(a, b), vec_distance_cosine(a, b), vec_distance_l1(a, b) FROM"
           " (SELECT (SELECT json_group_array(sin(value * 1.7)) FROM generate_series(1, 768)) AS a,"
           "         (SELECT json_group_array(cos(value * 0.3)) FROM generate_series(1, 768)) AS b);")
    mine = [float(x) for x in vec0_shell(sql).split("|")]
    if peer:
        theirs = [float(x) for x in peer_shell(sql).split("|")]
        for x, y in zip(mine, theirs):
            assert abs(x - y) <= 1e-5 * abs(y), (mine, theirs)


def check_version(peer):
    mine = vec0_shell("SELECT vec_version();")
    assert re.match(r"^v\d+\.\d+\.\d+", mine), mine
    if peer:
        assert peer_shell("SELECT vec_version();") == "v0.1.9\n"


def check_error_messages(peer):
    sqls = ["SELECT vec_length('[]');", "SELECT vec_distance_l2('[1]', '[1, 2]');",
            "SELECT vec_slice('[1, 2]', 1, 1);"]
    for sql, out in zip(sqls, each_line(sqls, vec0_shell)):
        assert re.match(r"^Runtime error near line \d+: vec0: ", out), (sql, out)
    if peer:
        for sql, out in zip(sqls, each_line(sqls, peer_shell)):
            assert is_error(out) and "vec0: " not in out, (sql, out)


def check_real_keys(peer):
    sql = ("CREATE VIRTUAL TABLE t USING vec0(v float[1]);"
           "INSERT INTO t(rowid, v) VALUES (3.0, '[1]');"
           "SELECT rowid, typeof(rowid) FROM t WHERE rowid = '3';")
    assert vec0_shell(sql) == "3|integer\n"
    assert "vec0: " in vec0_shell(sql.replace("3.0", "3.5"))
    if peer:
        assert "Only integers are allows" in peer_shell(sql)


def check_knn_filters(peer):
    make = ("CREATE VIRTUAL TABLE t USING vec0(v float[1], lang text, +body text);"
            "INSERT INTO t(rowid, v, lang, body) VALUES (1, '[1]', 'de', 'x'), (2, '[2]', 'en', 'y');")
    sqls = [make + "SELECT rowid FROM t WHERE v MATCH '[1]' AND k = 1 AND lang LIKE 'E%';",
            make + "SELECT rowid FROM t WHERE v MATCH '[1]' AND k = 1 AND lang GLOB 'e*';",
            make + "SELECT rowid FROM t WHERE v MATCH '[1]' AND k = 1 AND lang IS NOT NULL "
                   "AND body = 'y';"]
    assert each_line(sqls, vec0_shell) == ["2\n", "2\n", "2\n"]
    if peer:
        assert all("illegal WHERE constraint" in o for o in each_line(sqls, peer_shell))


def check_vec010_forms(peer):
    sql = ("CREATE VIRTUAL TABLE t USING vec0(v float[8] indexed by rescore(quantizer=int8), "
           "w float[8] indexed by diskann(neighbor_quantizer=binary));SELECT 'made';")
    assert vec0_shell(sql) == "made\n"
    if peer:
        assert is_error(peer_shell(sql))


def check_null_partition(peer):
    sql = ("CREATE VIRTUAL TABLE t USING vec0(v float[1], p integer partition key);"
           "INSERT INTO t(rowid, v, p) VALUES (1, '[1]', NULL);"
           "SELECT rowid FROM t WHERE v MATCH '[1]' AND k = 1 AND p IS NULL;")
    out = vec0_shell(sql)
    assert is_error(out) and 'vec0: table "t": column "p"' in out, out
    if peer:
        assert peer_shell(sql) == "1\n"


K_MAKE = ("CREATE VIRTUAL TABLE t USING vec0(v float[1]);"
          "INSERT INTO t(rowid, v) VALUES (1, '[1]'), (2, '[2]'), (3, '[3]');")


def check_k_not_integer(peer):
    sqls = [K_MAKE + "SELECT count(*) FROM t WHERE v MATCH '[1]' AND k = %s;" % k
            for k in ("2.5", "NULL", "'abc'", "2.0", "'2'")]
    outs = each_line(sqls, vec0_shell)
    for k, out in zip(("2.5", "NULL", "'abc'"), outs):
        assert is_error(out) and "vec0: " in out and k in out, out
    assert outs[3:] == ["2\n", "2\n"]
    if peer:
        assert each_line(sqls[:3], peer_shell) == ["2\n", "0\n", "0\n"]


def check_k_column(peer):
    sql = K_MAKE + "SELECT quote(k) FROM t WHERE v MATCH '[1]' AND k = 1;"
    assert vec0_shell(sql) == "1\n"
    if peer:
        assert peer_shell(sql) == "NULL\n"


def check_slice_bounds(peer):
    sqls = ["SELECT vec_to_json(vec_slice('[1, 2, 3]', %s, 2));" % b
            for b in ("NULL", "'a'", "X'01'")]
    assert all(is_error(o) and "vec0: " in o for o in each_line(sqls, vec0_shell))
    if peer:
        assert each_line(sqls, peer_shell) == ["[1.000000,2.000000]\n"] * 3


def check_aux_types(peer):
    sqls = ["CREATE VIRTUAL TABLE t USING vec0(v float[1], +a text);"
            "INSERT INTO t(rowid, v, a) VALUES (1, '[1]', 3); SELECT typeof(a) FROM t;",
            "CREATE VIRTUAL TABLE t USING vec0(v float[1], +a);"
            "INSERT INTO t(rowid, v, a) VALUES (1, '[1]', X'01'); SELECT typeof(a) FROM t;"]
    assert each_line(sqls, vec0_shell) == ["integer\n", "blob\n"]
    if peer:
        outs = each_line(sqls, peer_shell)
        assert "Auxiliary column type mismatch" in outs[0], outs
        assert is_error(outs[1]), outs


def check_scan_order(peer):
    sql = ("CREATE VIRTUAL TABLE t USING vec0(v float[1]);"
           "INSERT INTO t(rowid, v) VALUES (2, '[1]'), (1, '[2]');"
           "SELECT group_concat(rowid) FROM t;")
    assert vec0_shell(sql) == "1,2\n"
    if peer:
        assert peer_shell(sql) == "2,1\n"


def check_normalize(peer):
    sql = "SELECT hex(vec_normalize('[1, 2, 3]'));"
    assert vec0_shell(sql) == "77D6883E77D6083FB3414D3F\n"
    exact = struct.unpack("<f", struct.pack("<f", 3 / math.sqrt(14)))[0]
    assert struct.unpack("<f", bytes.fromhex("B3414D3F"))[0] == exact
    if peer:
        assert peer_shell(sql) == "77D6883E77D6083FB2414D3F\n"


def check_refused_writes(peer):
    sqls = ["CREATE VIRTUAL TABLE t USING vec0(v float[1]);"
            "INSERT INTO t(rowid, v) VALUES (1, '[1]');"
            "INSERT OR REPLACE INTO t(rowid, v) VALUES (1, '[5]'); SELECT vec_to_json(v) FROM t;",
            "CREATE VIRTUAL TABLE t USING vec0(v float[1], p integer partition key);"
            "INSERT INTO t(rowid, v, p) VALUES (1, '[1]', 1);"
            "UPDATE t SET p = 2 WHERE rowid = 1; SELECT p FROM t;",
            "CREATE VIRTUAL TABLE t USING vec0(id text primary key, v float[1]);"
            "INSERT INTO t(id, v) VALUES ('a', '[1]'); UPDATE t SET id = 'b'; SELECT id FROM t;",
            "CREATE VIRTUAL TABLE t USING vec0(v float[1], m integer);"
            "INSERT INTO t(rowid, v, m) VALUES (1, '[1]', NULL); SELECT quote(m) FROM t;"]
    assert each_line(sqls, vec0_shell) == ["[5.000000]\n", "2\n", "b\n", "NULL\n"]
    if peer:
        assert all(is_error(o) for o in each_line(sqls, peer_shell))


def check_peer_wrong_answers(peer):
    sqls = ["CREATE VIRTUAL TABLE t USING vec0(v float[1], m integer);"
            "INSERT INTO t(rowid, v, m) VALUES (1, '[1]', 1), (2, '[2]', 2);"
            "UPDATE t SET rowid = 10, m = 5 WHERE rowid = 2;"
            "SELECT group_concat(rowid || ':' || m) FROM t;",
            K_MAKE + "DELETE FROM t WHERE rowid = 1.5; SELECT group_concat(rowid) FROM t;",
            "CREATE VIRTUAL TABLE t USING vec0(v float[1], p integer partition key);"
            "INSERT INTO t(rowid, v, p) VALUES (1, '[1]', 1), (2, '[1]', 2);"
            "SELECT count(*) FROM t WHERE v MATCH '[1]' AND k = 1 AND p IN (1, 2);",
            "CREATE VIRTUAL TABLE t USING vec0(id integer primary key, v float[1]);"
            "INSERT INTO t(id, v) VALUES (1, '[1]'), (5, '[5]');"
            "DELETE FROM t WHERE id <= '1'; SELECT group_concat(id) FROM t;"]
    assert each_line(sqls, vec0_shell) == ["1:1,10:5\n", "1,2,3\n", "1\n", "5\n"]
    if peer:
        assert each_line(sqls, peer_shell) == ["1:1,2:5\n", "2,3\n", "2\n", "\n"]


# Every row of the table, and what checks it.
DIFFERENCE_CHECKS = {
    "index of float and int8 columns": check_index,
    "storage": check_storage,
    "`k`": check_k,
    "additions": check_additions,
    "malformed JSON text": check_malformed_json,
    "NaN and infinity": check_nan_inf,
    "results that are not numbers": check_not_numbers,
    "distances past float32's range": check_float_overflow,
    "a vector given to another type's function": check_other_type,
    "`vec_each()` of a bit vector": check_vec_each_bits,
    "distances of long vectors": check_long_distances,
    "keys given as whole-number REALs": check_real_keys,
    "filters in a KNN query": check_knn_filters,
    "`vec_version()`": check_version,
    "`NULL` as a partition key": check_null_partition,
    "`k` that is not an integer": check_k_not_integer,
    "the `k` column of a result row": check_k_column,
    "`vec_slice()` bounds that are not integers": check_slice_bounds,
    "auxiliary column types": check_aux_types,
    "rows of a scan without `ORDER BY`": check_scan_order,
    "`vec_normalize()`": check_normalize,
    "writes sqlite-vec refuses": check_refused_writes,
    "wrong answers of sqlite-vec 0.1.9": check_peer_wrong_answers,
    "error messages": check_error_messages,
    "`rescore(...)` and `diskann(...)` indexes": check_vec010_forms,
}


def test_differences_table_is_complete():
    """The migration guide qualifies "runs unchanged" with the table, and
    the table has exactly the rows this file knows how to check."""
    text = open(MIGRATION).read()
    intro = text[text.index("## From sqlite-vec"):text.index("### What stays the same")]
    assert "runs unchanged" not in intro or "(#differences-from-sqlite-vec)" in intro, intro
    assert sorted(difference_rows()) == sorted(DIFFERENCE_CHECKS)


@pytest.mark.parametrize("row", sorted(DIFFERENCE_CHECKS))
def test_difference_holds(row):
    """What the row claims about vec0 holds, and, when sqlite-vec 0.1.9 is
    there (make -C bench peers), what it claims about sqlite-vec too."""
    peer = os.path.exists(PEER_EXT["sqlite-vec"] + ".so")
    if not peer:
        warnings.warn("docs/migration.md: only vec0's side of %r checked: it needs sqlite-vec" % row)
    DIFFERENCE_CHECKS[row](peer)


# ---- docs/migration.md: sqlite-vec 0.1.10, vec0's side ----------------------

V010_HEADING = "### sqlite-vec 0.1.10"
V010_TABLE = ("CREATE VIRTUAL TABLE t USING vec0(r float[4] indexed by rescore(quantizer=bit), "
              "d float[4] indexed by diskann(neighbor_quantizer=int8, n_neighbors=16, "
              "search_list_size=40, buffer_threshold=8));"
              "INSERT INTO t(rowid, r, d) VALUES (1, '[1, 0, 0, 0]', '[1, 0, 0, 0]');")


def v010_rows():
    lines = open(MIGRATION).read().splitlines()
    i = lines.index(V010_HEADING) + 1
    while not lines[i].startswith("|"):
        i += 1
    rows = []
    while i < len(lines) and lines[i].startswith("|"):
        rows.append(lines[i].split(" | ")[0].strip("| "))
        i += 1
    assert "0.1.10" in lines[i - len(rows)], lines[i - len(rows)]
    return rows[2:]


V010_CHECKS = {
    "`indexed by rescore(quantizer=int8\\|bit, oversample=N)`": (
        V010_TABLE + "SELECT index_kind, quantizer FROM vec0_info('t') WHERE column_name = 'r';"
        "SELECT count(*) FROM sqlite_master WHERE name LIKE 't_rescore%';",
        "rescore|bit\n0\n"),
    "`bit` quantizer of a dimension count that is not a multiple of 8": (
        "CREATE VIRTUAL TABLE t USING vec0(r float[5] indexed by rescore(quantizer=bit));"
        "SELECT 'made';", "made\n"),
    "`indexed by diskann(neighbor_quantizer=…, n_neighbors=R, search_list_size=L)`": (
        V010_TABLE + "SELECT index_kind, quantizer, m, ef_search FROM vec0_info('t') "
        "WHERE column_name = 'd';", "hnsw|int8|8|40\n"),
    "diskann `buffer_threshold=N`": (V010_TABLE + "SELECT count(*) FROM t;", "1\n"),
    "`'oversample=N'`": (
        V010_TABLE + "INSERT INTO t(t) VALUES ('oversample=3');"
        "SELECT rescore FROM t WHERE r MATCH '[1, 0, 0, 0]' AND k = 1;"
        "SELECT rescore FROM t WHERE d MATCH '[1, 0, 0, 0]' AND k = 1;", "3\n3\n"),
    "`'search_list_size_search=N'`, `'search_list_size=N'`": (
        V010_TABLE + "INSERT INTO t(t) VALUES ('search_list_size_search=70');"
        "SELECT ef FROM t WHERE d MATCH '[1, 0, 0, 0]' AND k = 1;"
        "INSERT INTO t(t) VALUES ('search_list_size=60');"
        "SELECT ef FROM t WHERE d MATCH '[1, 0, 0, 0]' AND k = 1;", "70\n60\n"),
    "`'search_list_size_insert=N'`": (
        V010_TABLE + "INSERT INTO t(t) VALUES ('search_list_size_insert=60');", "not supported"),
    "the rescore count of one query": (
        V010_TABLE + "SELECT rescore FROM t WHERE r MATCH '[1, 0, 0, 0]' AND k = 1 "
        "AND rescore = 5;", "5\n"),
}


def test_v010_table_is_complete():
    assert sorted(v010_rows()) == sorted(V010_CHECKS)


@pytest.mark.parametrize("row", sorted(V010_CHECKS))
def test_v010_row_holds(row):
    sql, want = V010_CHECKS[row]
    out = vec0_shell(sql)
    assert out == want or (want == "not supported" and "vec0: " in out and want in out), out
