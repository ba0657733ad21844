"""The examples run as a user would run them, and their output is checked:
each examples/**/*.sql through the sqlite3 shell against the .expected file
beside it (VEC0_UPDATE=1 rewrites those), and examples/fashion_mnist.py on a
subset of the real data set, whose recall must meet the SPEC's target."""

import glob
import importlib.util
import os
import re
import sys

import numpy as np
import pytest

from support import EXT, PYTHON, ROOT, SQLITE3, golden, run

SQL_EXAMPLES = sorted(glob.glob(os.path.join(ROOT, "examples", "*.sql")) +
                      glob.glob(os.path.join(ROOT, "examples", "*", "*.sql")))
LOAD_LINE = ".load ./dist/vec0\n"
FASHION_MNIST = "/usr/share/datasets/fashion-mnist"


def test_every_sql_example_has_its_expected_output():
    assert SQL_EXAMPLES
    for path in SQL_EXAMPLES:
        assert os.path.exists(path[:-4] + ".expected"), path


@pytest.mark.parametrize("path", SQL_EXAMPLES, ids=lambda p: os.path.relpath(p, ROOT))
def test_sql_example(path, tmp_path):
    script = open(path).read()
    # the examples load ./dist/vec0, as from the repository root; the test
    # loads the build under test, from a scratch directory
    assert script.count(LOAD_LINE) == 1, "%s must load %s once" % (path, LOAD_LINE.strip())
    script = script.replace(LOAD_LINE, ".load %s\n" % EXT)
    # run() fails on the shell's exit status 1: no example may hit an error
    out = run([SQLITE3, "-batch", ":memory:"], input=script, cwd=str(tmp_path)).stdout
    golden(path[:-4] + ".expected", out)


def fashion_mnist_module():
    spec = importlib.util.spec_from_file_location(
        "fashion_mnist", os.path.join(ROOT, "examples", "fashion_mnist.py"))
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))  # it imports vec0
    spec.loader.exec_module(module)
    return module


def test_fashion_mnist_helpers():
    """The exact answer and the recall the example prints are right."""
    m = fashion_mnist_module()
    rng = np.random.default_rng(3)
    base = rng.integers(0, 256, (300, 20)).astype(np.float32)
    queries = rng.integers(0, 256, (7, 20)).astype(np.float32)
    exact = m.exact_knn(base, queries, 5)
    for q, got in zip(queries, exact):
        d = ((base.astype(np.float64) - q) ** 2).sum(axis=1)
        assert list(got) == list(np.argsort(d, kind="stable")[:5])
    mask = np.zeros((7, 300), dtype=bool)
    mask[:, ::3] = True
    assert all(r % 3 == 0 for rows in m.exact_knn(base, queries, 5, mask) for r in rows)
    assert m.recall([[1, 2], [3, 4]], [[1, 5], [3, 4]], 2) == 0.75


@pytest.mark.skipif(not os.path.isdir(FASHION_MNIST),
                    reason="needs Debian's dataset-fashion-mnist (make deps installs it)")
@pytest.mark.heavy
def test_fashion_mnist_recall():
    env = dict(os.environ, VEC0_EXT=EXT,
               PYTHONPATH=os.path.join(ROOT, "bindings", "python"))
    out = run([PYTHON, os.path.join(ROOT, "examples", "fashion_mnist.py"),
               "--n", "3000", "--queries", "50"], env=env).stdout
    assert out.startswith("fashion-mnist: 3000 vectors of 784 dimensions, 50 queries, k=10\n"), out
    plain = re.search(r"^recall@10: ([0-9.]+) ", out, re.M)
    filtered = re.search(r"^recall@10 with label filter: ([0-9.]+) ", out, re.M)
    assert plain and filtered, out
    assert float(plain.group(1)) >= 0.95, out
    assert float(filtered.group(1)) >= 0.95, out
