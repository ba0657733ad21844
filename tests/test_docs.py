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
import os
import re

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
    assert hidden == ["distance", "k", "ef"]
    for name in hidden:
        assert "`%s`" % name in ref, "docs/sql-reference.md does not describe %s" % name
    err = run([SQLITE3, "-batch", ":memory:"], check=False, input=(
        ".load %s\nCREATE VIRTUAL TABLE t USING vec0(v float[1]);\n"
        "INSERT INTO t(t) VALUES ('no such command');\n" % EXT)).stdout
    commands = re.search(r"\(known: ([^)]*)\)", err)
    assert commands, err
    for command in commands.group(1).split(", "):
        assert "'%s'" % command in ref, "docs/sql-reference.md does not describe '%s'" % command
