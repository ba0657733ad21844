"""The Node.js package (bindings/node), as `make test-node` runs it.

- node/better_sqlite3.test.js (node --test) on the package in the source
  tree, with better-sqlite3 from npm (`make deps` installs it under
  tests/bindings/deps);
- node:sqlite where this Node has it;
- the tarball `make npm-pack` made, installed with npm into an empty
  directory: it must load the extension it ships, run the README's example
  as written and print what the README shows, and type-check a TypeScript
  program against its declarations.

Skipped, saying why, without node, npm or the npm packages.
"""

import os
import re
import shutil
import subprocess
import sys
import tarfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from support import DIST, EXT, ROOT, run  # noqa: E402
from test_docs import parse  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PKG = os.path.join(ROOT, "bindings", "node")
NODE = os.environ.get("NODE", "node")
NPM = os.environ.get("NPM", "npm")
DEPS = os.environ.get("VEC0_NODE_DEPS", os.path.join(HERE, "deps", "node_modules"))
VERSION = re.search(r'"version": "([^"]+)"', open(os.path.join(PKG, "package.json")).read()).group(1)
TARBALL = os.path.join(DIST, "vec0-%s.tgz" % VERSION)

if not shutil.which(NODE):
    pytest.skip("no node on PATH: the Node.js package is not tested", allow_module_level=True)
if not os.path.isdir(os.path.join(DEPS, "better-sqlite3")):
    pytest.skip("better-sqlite3 is not installed in %s (make deps installs it with npm)"
                % os.path.relpath(DEPS, ROOT), allow_module_level=True)


def node_test(script, env):
    """Runs a node:test file; fails with its TAP output when a test fails."""
    p = run([NODE, "--test", "--test-reporter=tap", script], check=False, env=env)
    lines = p.stdout.splitlines()
    failed = []  # each failing test with the start of its diagnostics
    for i, line in enumerate(lines):
        if re.match(r"\s*not ok ", line) and "subtests failed" not in " ".join(lines[i:i + 4]):
            failed.append(line)
            for j in range(i + 1, min(i + 12, len(lines))):
                if re.match(r"\s*(error|expected|actual|location):", lines[j]):
                    failed.append(lines[j])
                    if lines[j].endswith("|-"):  # a message on the lines after
                        failed += lines[j + 1:j + 3]
    assert p.returncode == 0 and not failed, "%s:\n%s" % (
        os.path.basename(script), "\n".join(failed) or p.stdout)
    return p.stdout


def test_with_better_sqlite3():
    env = dict(os.environ, NODE_PATH=DEPS, VEC0_EXT=EXT, VEC0_NODE_PKG=PKG)
    out = node_test(os.path.join(HERE, "node", "better_sqlite3.test.js"), env)
    assert re.search(r"^# pass [1-9]", out, re.M), out


def test_with_node_sqlite():
    has = run([NODE, "-e", "require('node:sqlite')"], check=False).returncode == 0
    if not has:
        pytest.skip("node:sqlite needs Node 22.5 or later; this is %s"
                    % run([NODE, "--version"]).stdout.strip())
    env = dict(os.environ, VEC0_EXT=EXT, VEC0_NODE_PKG=PKG)
    node_test(os.path.join(HERE, "node", "node_sqlite.test.js"), env)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """An empty project directory with the tarball installed by npm."""
    if not os.path.exists(TARBALL):
        pytest.fail("%s is missing: `make test-node` makes it with `make npm-pack`" % TARBALL)
    if not shutil.which(NPM):
        pytest.skip("no npm on PATH: the tarball is not installed")
    d = tmp_path_factory.mktemp("npm-project")
    (d / "package.json").write_text('{"private": true}\n')
    # --offline: the package has no dependencies to fetch
    run([NPM, "install", "--offline", "--no-audit", "--no-fund", TARBALL], cwd=str(d))
    # the project's other packages, as if installed beside it
    for name in ("better-sqlite3", "@types"):
        if os.path.exists(os.path.join(DEPS, name)):
            os.symlink(os.path.join(DEPS, name), str(d / "node_modules" / name))
    return d


def test_tarball_ships_the_extension():
    with tarfile.open(TARBALL) as t:
        names = t.getnames()
        plat = run([NODE, "-p", "process.platform + '-' + process.arch"]).stdout.strip()
        member = "package/lib/%s/vec0.so" % plat
        assert member in names, names
        with open(os.path.join(DIST, "vec0.so"), "rb") as f:
            assert t.extractfile(member).read() == f.read()
    for f in ("index.js", "index.d.ts", "package.json", "README.md"):
        assert "package/" + f in names, names


def test_installed_package_loads_what_it_ships(installed):
    env = {k: v for k, v in os.environ.items() if k not in ("VEC0_EXT", "NODE_PATH")}
    out = run([NODE, "-e", "const v = require('vec0'); console.log(v.getLoadablePath());"
               "const D = require('better-sqlite3');"
               "console.log(v.load(new D(':memory:')).prepare('SELECT vec_version()')"
               ".pluck().get())"], cwd=str(installed), env=env).stdout.split("\n")
    assert out[0] == str(installed / "node_modules" / "vec0" / "lib" /
                         os.path.basename(os.path.dirname(out[0])) / "vec0.so"), out
    assert out[1] == "v" + VERSION


def code_blocks(path, lang):
    _, blocks = parse(path)
    return [b for b in blocks if b.lang == lang]


def test_readme_example_runs_as_written(installed):
    blocks = code_blocks(os.path.join(PKG, "README.md"), "js")
    assert len(blocks) == 1 and blocks[0].output, "the README has one js block with its output"
    (installed / "example.js").write_text(blocks[0].text)
    env = {k: v for k, v in os.environ.items() if k not in ("VEC0_EXT", "NODE_PATH")}
    out = run([NODE, "example.js"], cwd=str(installed), env=env).stdout
    assert out == blocks[0].output.text


def test_docs_page_examples_run(installed):
    """Each ```js block of docs/node.md, as its own program in the project."""
    blocks = code_blocks(os.path.join(ROOT, "docs", "node.md"), "js")
    assert blocks
    env = {k: v for k, v in os.environ.items() if k not in ("VEC0_EXT", "NODE_PATH")}
    for i, b in enumerate(blocks):
        if b.directive == "skip":
            continue
        (installed / ("doc%d.js" % i)).write_text(b.text)
        out = run([NODE, "doc%d.js" % i], cwd=str(installed), env=env).stdout
        expected = b.output.text if b.output else ""
        assert out == expected, "docs/node.md:%d prints\n%s\ninstead of\n%s" % (
            b.start + 1, out, expected)


def test_typescript_declarations(installed):
    tsc = os.path.join(DEPS, "typescript", "bin", "tsc")
    if not os.path.exists(tsc) or not os.path.isdir(os.path.join(DEPS, "@types", "better-sqlite3")):
        pytest.skip("typescript and @types/better-sqlite3 are not installed in %s "
                    "(make deps installs them)" % os.path.relpath(DEPS, ROOT))
    for f in ("types.ts", "tsconfig.json"):
        shutil.copy(os.path.join(HERE, "node", f), str(installed / f))
    p = run([NODE, tsc, "-p", "tsconfig.json"], cwd=str(installed), check=False)
    assert p.returncode == 0, "tsc:\n" + p.stdout


def test_esm_import(installed):
    """import, as well as require: named exports of the CommonJS module."""
    env = {k: v for k, v in os.environ.items() if k not in ("VEC0_EXT", "NODE_PATH")}
    script = ("import vec0, { load, serializeF32 } from 'vec0';\n"
              "import Database from 'better-sqlite3';\n"
              "const db = load(new Database(':memory:'));\n"
              "console.log(vec0.version, db.prepare('SELECT vec_length(?)').pluck()"
              ".get(serializeF32([1, 2, 3])));\n")
    (installed / "esm.mjs").write_text(script)
    assert run([NODE, "esm.mjs"], cwd=str(installed), env=env).stdout == "%s 3\n" % VERSION
