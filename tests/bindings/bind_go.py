"""The Go package (bindings/go), as `make test-go` runs it: offline, with
Debian's golang-go and golang-github-mattn-go-sqlite3-dev (which links the
system libsqlite3).

The package is copied into a scratch GOPATH with the amalgamation that
`make go-amalgamation` writes; its own tests (vec0_test.go) run there, and
the README's program runs as written and must print what the README shows,
once in GOPATH mode and once as a module that replaces its dependencies
with local directories, as docs/go.md describes.  Skipped, saying why,
without go or the mattn/go-sqlite3 sources.
"""

import os
import pathlib
import shutil
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from support import ROOT, make, run  # noqa: E402
from test_docs import parse  # noqa: E402

PKG = os.path.join(ROOT, "bindings", "go")
GO = os.environ.get("GO", "go")
GOCODE = "/usr/share/gocode"
MATTN = os.path.join(GOCODE, "src", "github.com", "mattn", "go-sqlite3")
# The build cache and the scratch trees stay in build/go/, at the same paths
# each run, so a second run does not recompile.
WORK = os.path.join(os.environ.get("VEC0_BUILD", os.path.join(ROOT, "build")), "go")
CACHE = os.path.join(WORK, "cache")

if not shutil.which(GO):
    pytest.skip("no go on PATH (Debian: golang-go; make deps installs it)",
                allow_module_level=True)
if not os.path.isdir(MATTN):
    pytest.skip("no %s (Debian: golang-github-mattn-go-sqlite3-dev; make deps installs it)"
                % MATTN, allow_module_level=True)


def go_env(**kw):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GO")}
    # -O1: half the compile time of the default -O2, the same code paths
    env.update(GOCACHE=CACHE, GOPROXY="off", GOFLAGS="", CGO_ENABLED="1", CGO_CFLAGS="-O1")
    env.update(kw)
    return env


@pytest.fixture(scope="module")
def gopath():
    """A GOPATH whose src/vec0 is the package with its amalgamation."""
    root = pathlib.Path(WORK) / "gopath"
    if root.exists():
        shutil.rmtree(str(root))
    pkg = root / "src" / "vec0"
    shutil.copytree(PKG, str(pkg), ignore=shutil.ignore_patterns("vec0_amalgamation.c"))
    make("go-amalgamation", "GO_AMALG=%s" % (pkg / "vec0_amalgamation.c"))
    return root


def readme_program():
    _, blocks = parse(os.path.join(PKG, "README.md"))
    blocks = [b for b in blocks if b.lang == "go"]
    assert len(blocks) == 1 and blocks[0].output, "the README has one go block with its output"
    return blocks[0]


def test_package_tests(gopath):
    env = go_env(GO111MODULE="off", GOPATH="%s:%s" % (gopath, GOCODE))
    out = run([GO, "test", "-count=1", "vec0"], cwd=str(gopath / "src" / "vec0"), env=env).stdout
    assert out.startswith("ok"), out


def test_readme_program_in_gopath_mode(gopath):
    block = readme_program()
    prog = gopath / "src" / "example"
    prog.mkdir()
    (prog / "main.go").write_text(block.text)
    env = go_env(GO111MODULE="off", GOPATH="%s:%s" % (gopath, GOCODE))
    assert run([GO, "run", "."], cwd=str(prog), env=env).stdout == block.output.text


def test_readme_program_as_a_module(gopath):
    """The module setup of docs/go.md: replace directives to local copies."""
    block = readme_program()
    tmp_path = gopath / "module"
    tmp_path.mkdir()
    (tmp_path / "main.go").write_text(block.text)
    (tmp_path / "go.mod").write_text(
        "module example\n\ngo 1.19\n\nrequire (\n\tgithub.com/mattn/go-sqlite3 v1.14.16\n"
        "\tvec0 v0.0.0\n)\n\nreplace vec0 => %s\n\nreplace github.com/mattn/go-sqlite3 => %s\n"
        % (gopath / "src" / "vec0", MATTN))
    env = go_env(GO111MODULE="on", GOFLAGS="-mod=mod")
    assert run([GO, "run", "."], cwd=str(tmp_path), env=env).stdout == block.output.text


def test_package_tests_linking_libvec0(gopath):
    """-tags vec0_libvec0: the static library of `make install`, through
    pkg-config, instead of the amalgamation."""
    if not shutil.which("pkg-config"):
        pytest.skip("no pkg-config (make deps installs it)")
    stage = gopath / "stage"
    make("install", "DESTDIR=%s" % stage, "PREFIX=/usr/local")
    os.remove(str(gopath / "src" / "vec0" / "vec0_amalgamation.c"))  # must not be needed
    env = go_env(GO111MODULE="off", GOPATH="%s:%s" % (gopath, GOCODE),
                 PKG_CONFIG_PATH=str(stage) + "/usr/local/lib/pkgconfig",
                 PKG_CONFIG_SYSROOT_DIR=str(stage))
    out = run([GO, "test", "-count=1", "-tags", "vec0_libvec0", "vec0"],
              cwd=str(gopath / "src" / "vec0"), env=env).stdout
    assert out.startswith("ok"), out
