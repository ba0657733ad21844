"""The Python package as a user gets it: build the wheel offline with Debian's
pip, install it into a fresh venv, and run a KNN query through the installed
package (which must load the extension it ships, not the repository's)."""

import glob
import os
import shutil
import zipfile

import pytest

from support import DIST, PYTHON, ROOT, run

PKG_DIR = os.path.join(ROOT, "bindings", "python")

QUERY = """if True:
    import os, sqlite3, sys
    import numpy as np
    import vec0
    assert vec0.__file__.startswith(sys.prefix), vec0.__file__
    print(os.path.relpath(vec0.loadable_path(), sys.prefix))
    conn = vec0.load(sqlite3.connect(":memory:"))
    rng = np.random.default_rng(1)
    data = rng.random((500, 32), dtype=np.float32)
    conn.execute("CREATE VIRTUAL TABLE t USING vec0(embedding float[32])")
    conn.executemany("INSERT INTO t(rowid, embedding) VALUES (?, ?)", enumerate(data))
    q = rng.random(32, dtype=np.float32)
    got = [r for r, in conn.execute(
        "SELECT rowid FROM t WHERE embedding MATCH ? AND k = 10", [q])]
    exact = np.argsort(((data - q) ** 2).sum(axis=1))[:10].tolist()
    print(len(set(got) & set(exact)))
"""


def missing_tools():
    """Debian packages the build needs that are not installed."""
    probe = ("import importlib.util as u\n"
             "for m, p in [('setuptools', 'python3-setuptools'), ('wheel', 'python3-wheel'),"
             " ('pip', 'python3-pip'), ('ensurepip', 'python3-venv')]:\n"
             "    print(p if u.find_spec(m) is None else '')\n")
    return run([PYTHON, "-c", probe]).stdout.split()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    missing = missing_tools()
    if missing:
        pytest.skip("needs the Debian packages %s (make deps installs them)" % " ".join(missing))
    tmp = tmp_path_factory.mktemp("wheel")
    # a copy, so the build leaves nothing in the source tree
    src = tmp / "src"
    shutil.copytree(PKG_DIR, str(src), ignore=shutil.ignore_patterns(
        "build", "*.egg-info", "__pycache__", "vec0.so"))
    env = dict(os.environ, VEC0_SO=os.path.join(DIST, "vec0.so"))
    run([PYTHON, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "--no-index",
         "-w", str(tmp / "wheels"), str(src)], env=env)
    wheels = glob.glob(str(tmp / "wheels" / "*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_wheel_bundles_the_extension_for_this_platform(wheel):
    name = os.path.basename(wheel)
    assert name.startswith("vec0-") and "-py3-none-" in name and not name.endswith("-any.whl")
    with zipfile.ZipFile(wheel) as z:
        assert "vec0/__init__.py" in z.namelist()
        with open(os.path.join(DIST, "vec0.so"), "rb") as f:
            assert z.read("vec0/vec0.so") == f.read()


def test_installed_wheel_runs_a_knn_query(wheel, tmp_path):
    venv = tmp_path / "venv"
    run([PYTHON, "-m", "venv", "--system-site-packages", str(venv)])
    py = str(venv / "bin" / "python")
    run([py, "-m", "pip", "install", "--no-index", "--no-deps", "-q", wheel])
    env = {k: v for k, v in os.environ.items() if k not in ("VEC0_EXT", "PYTHONPATH")}
    # from an empty directory: only the installed package can be imported
    out = run([py, "-c", QUERY], env=env, cwd=str(tmp_path)).stdout.split("\n")
    assert out[0].endswith(os.path.join("site-packages", "vec0", "vec0.so")), out
    assert int(out[1]) >= 9, "recall@10 of the installed package: %s/10" % out[1]
