"""The Rust crate (bindings/rust), as `make test-rust` runs it: offline,
with Debian's cargo and rustc and the crates of librust-rusqlite-dev and
librust-cc-dev in /usr/share/cargo/registry (rusqlite there links the
system libsqlite3), given to cargo with --config instead of crates.io.

In place, as a user of a checkout would build it (the build script makes
the amalgamation with `make amalgamation`), with the target directory in
build/rust/: the crate's tests (tests/rusqlite.rs, against rusqlite), and
examples/readme.rs, which must be the README's program as written and print
what the README shows.  Skipped, saying why, without cargo or the crates.
"""

import glob
import os
import shutil
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from support import ROOT, run  # noqa: E402
from test_docs import parse  # noqa: E402

CRATE = os.path.join(ROOT, "bindings", "rust")
# Debian's cargo, as `make` passes it, when it is installed
CARGO = os.environ.get("CARGO") or ("/usr/bin/cargo" if os.path.exists("/usr/bin/cargo")
                                    else "cargo")
REGISTRY = "/usr/share/cargo/registry"
WORK = os.path.join(os.environ.get("VEC0_BUILD", os.path.join(ROOT, "build")), "rust")
# Debian's crates (librust-*-dev) instead of crates.io, without network
OFFLINE = ['--config', 'source.crates-io.replace-with="debian"',
           '--config', 'source.debian.directory="%s"' % REGISTRY,
           '--config', 'net.offline=true']

if not shutil.which(CARGO):
    pytest.skip("no cargo (Debian: cargo; make deps installs it)", allow_module_level=True)
for crate in ("rusqlite", "libsqlite3-sys", "cc"):
    if not glob.glob(os.path.join(REGISTRY, crate + "-[0-9]*")):
        pytest.skip("no %s crate in %s (Debian: librust-rusqlite-dev, librust-cc-dev; "
                    "make deps installs them)" % (crate, REGISTRY), allow_module_level=True)


def cargo(*args, **kw):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARGO")}
    env["CARGO_TARGET_DIR"] = os.path.join(WORK, "target")
    # a one-off build: no incremental state, no debug info (a third less time)
    env.update(CARGO_INCREMENTAL="0", CARGO_PROFILE_DEV_DEBUG="0",
               CARGO_PROFILE_TEST_DEBUG="0")
    # Debian's cargo with Debian's rustc, even when another is first on PATH
    if os.path.realpath(shutil.which(CARGO)).startswith("/usr/bin/") and \
            os.path.exists("/usr/bin/rustc"):
        env["RUSTC"] = "/usr/bin/rustc"
    return run([CARGO] + OFFLINE + list(args), cwd=CRATE, env=env, **kw)


def test_crate_tests():
    p = cargo("test", "-q")
    assert "test result: ok" in p.stdout, p.stdout


def test_readme_program_is_the_example_and_runs():
    _, blocks = parse(os.path.join(CRATE, "README.md"))
    blocks = [b for b in blocks if b.lang == "rust"]
    assert len(blocks) == 1 and blocks[0].output, "the README has one rust block with its output"
    with open(os.path.join(CRATE, "examples", "readme.rs")) as f:
        assert f.read() == blocks[0].text, "examples/readme.rs differs from the README's program"
    p = cargo("run", "-q", "--example", "readme", check=False)
    assert p.returncode == 0, p.stdout
    assert p.stdout == blocks[0].output.text
