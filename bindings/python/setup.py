"""Build of the vec0 wheel, on top of pyproject.toml.

The wheel carries the compiled extension inside the package (vec0/vec0.so),
taken from VEC0_SO or, by default, the repository's dist/vec0.so (run `make`
first).  The module does not use Python's C API, so the wheel is tagged
py3-none-<platform>: one wheel per platform, for every Python 3.

    make wheel       (or: VEC0_SO=... python3 -m pip wheel --no-build-isolation --no-deps .)
"""

import os
import shutil

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py
from wheel.bdist_wheel import bdist_wheel

HERE = os.path.dirname(os.path.abspath(__file__))
MODULE = os.environ.get("VEC0_SO", os.path.join(HERE, "..", "..", "dist", "vec0.so"))


class BuildPy(build_py):
    """Copies the compiled extension next to vec0/__init__.py."""

    def run(self):
        super().run()
        if not os.path.isfile(MODULE):
            raise SystemExit("vec0: %s not found: run `make` first, or set VEC0_SO "
                             "to the compiled extension" % MODULE)
        # Always copied (copy_file skips a source older than a stale copy).
        target = os.path.join(self.build_lib, "vec0", "vec0.so")
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(MODULE, target)
        os.chmod(target, 0o755)


class BinaryDistribution(Distribution):
    """Holds a shared library: installed as platform code, not pure Python."""

    def has_ext_modules(self):
        return True


class BdistWheel(bdist_wheel):
    """A platform wheel for any Python 3 (the library has no Python ABI)."""

    def get_tag(self):
        return ("py3", "none") + tuple(super().get_tag()[2:])


setup(distclass=BinaryDistribution,
      cmdclass={"build_py": BuildPy, "bdist_wheel": BdistWheel})
