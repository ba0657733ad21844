"""docs/clients.md: each client's snippet runs as written, from a directory
where ./dist/vec0.so is the build under test, and prints the output block
that follows it.  (Its ```sql and ```python blocks are run by
tests/test_docs.py.)  A client whose interpreter or SQLite module is not
installed is skipped, with the Debian package that provides it; `make deps`
installs them all.
"""

import glob
import os
import pathlib
import shutil
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from support import DIST, ROOT, run  # noqa: E402
from test_docs import parse  # noqa: E402

PAGE = os.path.join(ROOT, "docs", "clients.md")
BUILD = os.environ.get("VEC0_BUILD", os.path.join(ROOT, "build"))
NODE = os.environ.get("NODE", "node")
GO = os.environ.get("GO", "go")
# Debian's cargo, as `make` passes it, when it is installed
CARGO = os.environ.get("CARGO") or ("/usr/bin/cargo" if os.path.exists("/usr/bin/cargo")
                                    else "cargo")
NODE_DEPS = os.environ.get("VEC0_NODE_DEPS",
                           os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                        "deps", "node_modules"))
GOCODE = "/usr/share/gocode"
REGISTRY = "/usr/share/cargo/registry"

_, BLOCKS = parse(PAGE)
# every client on the page, in the order of the page
LANGS = ["js", "go", "rust", "ruby", "php", "perl", "tcl", "console"]


def test_page_has_a_snippet_per_client():
    langs = [b.lang for b in BLOCKS]
    for lang in ["sql", "python"] + LANGS:
        assert langs.count(lang) == 1, "docs/clients.md: %d %s blocks" % (langs.count(lang), lang)
    assert all(b.output for b in BLOCKS), "every snippet has its output block"


def snippet(lang):
    return [b for b in BLOCKS if b.lang == lang][0]


@pytest.fixture
def project(tmp_path):
    """A directory with ./dist/vec0.so, as the repository root after make
    (a copy, not a link: PHP compares real paths with extension_dir)."""
    (tmp_path / "dist").mkdir()
    shutil.copy(os.path.join(DIST, "vec0.so"), str(tmp_path / "dist" / "vec0.so"))
    return tmp_path


def works(cmd, **kw):
    return shutil.which(cmd[0]) and run(cmd, check=False, **kw).returncode == 0


def need(ok, why):
    if not ok:
        pytest.skip(why)


def run_js(d, text):
    need(shutil.which(NODE), "no node on PATH")
    need(os.path.isdir(os.path.join(NODE_DEPS, "better-sqlite3")),
         "better-sqlite3 is not installed (make deps installs it with npm)")
    (d / "knn.js").write_text(text)
    return run([NODE, "knn.js"], cwd=str(d), env=dict(os.environ, NODE_PATH=NODE_DEPS))


def run_go(d, text):
    need(shutil.which(GO), "no go (Debian: golang-go)")
    need(os.path.isdir(os.path.join(GOCODE, "src", "github.com", "mattn", "go-sqlite3")),
         "no mattn/go-sqlite3 (Debian: golang-github-mattn-go-sqlite3-dev)")
    # at the same path every run, with the Go test's build cache
    gopath = pathlib.Path(BUILD) / "go" / "clients"
    prog = gopath / "src" / "knn"
    prog.mkdir(parents=True, exist_ok=True)
    (prog / "main.go").write_text(text)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GO")}
    env.update(GO111MODULE="off", GOPATH="%s:%s" % (gopath, GOCODE), GOPROXY="off",
               GOCACHE=os.path.join(BUILD, "go", "cache"), CGO_CFLAGS="-O1")
    run([GO, "build", "-o", str(d / "knn"), "."], cwd=str(prog), env=env)
    return run([str(d / "knn")], cwd=str(d))


CARGO_TOML = """\
[package]
name = "knn"
version = "0.0.0"
edition = "2021"

[dependencies]
rusqlite = { version = "0.28", features = ["load_extension"] }
"""


def run_rust(d, text):
    need(shutil.which(CARGO), "no cargo (Debian: cargo)")
    need(glob.glob(os.path.join(REGISTRY, "rusqlite-0.28.*")),
         "no rusqlite 0.28 crate in %s (Debian: librust-rusqlite-dev)" % REGISTRY)
    crate = pathlib.Path(BUILD) / "rust" / "clients"
    (crate / "src").mkdir(parents=True, exist_ok=True)
    (crate / "Cargo.toml").write_text(CARGO_TOML)
    (crate / "src" / "main.rs").write_text(text)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARGO")}
    target = os.path.join(BUILD, "rust", "target")
    env["CARGO_TARGET_DIR"] = target
    # as bind_rust.py: a one-off build, no incremental state, no debug info
    env.update(CARGO_INCREMENTAL="0", CARGO_PROFILE_DEV_DEBUG="0")
    if os.path.realpath(shutil.which(CARGO)).startswith("/usr/bin/") and \
            os.path.exists("/usr/bin/rustc"):
        env["RUSTC"] = "/usr/bin/rustc"
    run([CARGO, "--config", 'source.crates-io.replace-with="debian"',
         "--config", 'source.debian.directory="%s"' % REGISTRY, "--config", "net.offline=true",
         "build", "-q"], cwd=str(crate), env=env)
    return run([os.path.join(target, "debug", "knn")], cwd=str(d))


def run_ruby(d, text):
    need(works(["ruby", "-e", "require 'sqlite3'"]), "no ruby with the sqlite3 gem (Debian: ruby-sqlite3)")
    (d / "knn.rb").write_text(text)
    return run(["ruby", "knn.rb"], cwd=str(d))


def run_php(d, text):
    need(shutil.which("php") and "sqlite3" in run(["php", "-m"], check=False).stdout.split(),
         "no php with SQLite3 (Debian: php-cli, php-sqlite3)")
    (d / "knn.php").write_text(text)
    # the command the page gives, with $PWD the project directory
    return run(["php", "-d", "sqlite3.extension_dir=%s" % (d / "dist"), "knn.php"], cwd=str(d))


def run_perl(d, text):
    need(works(["perl", "-MDBD::SQLite", "-e", "1"]), "no DBD::SQLite (Debian: libdbd-sqlite3-perl)")
    (d / "knn.pl").write_text(text)
    return run(["perl", "knn.pl"], cwd=str(d))


def run_tcl(d, text):
    need(works(["tclsh"], input="package require sqlite3\n"),
         "no tclsh with the sqlite3 package (Debian: tcl, libsqlite3-tcl)")
    (d / "knn.tcl").write_text(text)
    return run(["tclsh", "knn.tcl"], cwd=str(d))


def run_console(d, text):
    need(shutil.which("sqlite-utils"), "no sqlite-utils (Debian: sqlite-utils)")
    return run(["sh", "-e"], input=text, cwd=str(d))


@pytest.mark.parametrize("lang", LANGS)
def test_snippet(lang, project):
    block = snippet(lang)
    p = globals()["run_" + lang](project, block.text)
    assert p.stdout == block.output.text, "docs/clients.md:%d (%s) prints\n%s\ninstead of\n%s" % (
        block.start + 1, lang, p.stdout, block.output.text)


def test_php_without_extension_dir_says_extensions_are_disabled(project):
    """The failure the page describes, so its advice stays true."""
    need(shutil.which("php") and "sqlite3" in run(["php", "-m"], check=False).stdout.split(),
         "no php with SQLite3 (Debian: php-cli, php-sqlite3)")
    need(run(["php", "-r", "echo ini_get('sqlite3.extension_dir');"]).stdout == "",
         "this PHP's php.ini sets sqlite3.extension_dir")
    (project / "knn.php").write_text(snippet("php").text)
    p = run(["php", "knn.php"], cwd=str(project), check=False)
    assert p.returncode != 0 and "SQLite Extension are disabled" in p.stdout, p.stdout
