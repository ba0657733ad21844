"""Helpers of the tests that drive tools and programs: make, the compiler,
the sqlite3 shell, and the built extension (`make test-py` says where).

VEC0_DIST is the directory of vec0.so and libvec0.a (dist/, or dist-san/
under SANITIZE), VEC0_SANITIZE the sanitizers they were built with.
"""

import difflib
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIST = os.environ.get("VEC0_DIST", os.path.join(ROOT, "dist"))
EXT = os.environ.get("VEC0_EXT", os.path.join(DIST, "vec0"))
SANITIZE = os.environ.get("VEC0_SANITIZE", "")
CC = os.environ.get("CC", "cc")
SQLITE3 = os.environ.get("SQLITE3", "sqlite3")
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
SAN_LDFLAGS = ["-fsanitize=" + SANITIZE] if SANITIZE else []


def run(cmd, check=True, **kw):
    """Runs cmd (a list), returns the CompletedProcess; on an unexpected
    exit status fails with the command and everything it printed."""
    kw.setdefault("cwd", ROOT)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True, **kw)
    if check and p.returncode != 0:
        raise AssertionError("%s exited with %d:\n%s" % (" ".join(cmd), p.returncode, p.stdout))
    return p


def make(*targets, **kw):
    """Runs make in the repository with the variables of this test run."""
    args = ["make", "-s", "--no-print-directory"]
    if SANITIZE:
        args.append("SANITIZE=" + SANITIZE)
    return run(args + list(targets), **kw)


def shell(script, ext=EXT, db=":memory:", **kw):
    """What the sqlite3 shell prints (stdout and stderr) for script, with
    the extension at ext loaded first."""
    return run([SQLITE3, "-batch", db], input=".load %s\n%s" % (ext, script), **kw).stdout


def golden(path, actual):
    """Compares actual with the file at path; VEC0_UPDATE=1 rewrites it."""
    if os.environ.get("VEC0_UPDATE") == "1":
        with open(path, "w") as f:
            f.write(actual)
    with open(path) as f:
        expected = f.read()
    if actual != expected:
        name = os.path.relpath(path, ROOT)
        diff = difflib.unified_diff(expected.splitlines(True), actual.splitlines(True),
                                    name, "actual output")
        raise AssertionError("output differs from %s (VEC0_UPDATE=1 rewrites it):\n%s"
                             % (name, "".join(diff)))
