"""`make install` into a staging directory (DESTDIR), then what a C program
does with the installed tree: pkg-config for the flags, the static library
and vec0.h to build examples/c/knn.c, the loadable module for .load."""

import os

import pytest

from support import CC, ROOT, SAN_LDFLAGS, make, run, shell

PREFIX = "/usr/local"


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    destdir = tmp_path_factory.mktemp("destdir")
    make("install", "DESTDIR=%s" % destdir, "PREFIX=%s" % PREFIX)
    return destdir


def pkg_config(destdir, *args):
    env = dict(os.environ,
               PKG_CONFIG_PATH=str(destdir) + PREFIX + "/lib/pkgconfig",
               PKG_CONFIG_SYSROOT_DIR=str(destdir))
    return run(["pkg-config"] + list(args) + ["vec0"], env=env).stdout.split()


def test_installs_module_library_header_and_pc(staged):
    for path, mode in (("lib/vec0.so", 0o755), ("lib/libvec0.a", 0o644),
                       ("include/vec0.h", 0o644), ("lib/pkgconfig/vec0.pc", 0o644)):
        full = str(staged) + PREFIX + "/" + path
        assert os.path.isfile(full), path
        assert os.stat(full).st_mode & 0o777 == mode, path
    header = open(str(staged) + PREFIX + "/include/vec0.h").read()
    assert "int sqlite3_vec_init(sqlite3 *db, char **pzErrMsg,\n" \
           "                     const sqlite3_api_routines *pApi);" in header
    # nothing else lands in the tree
    found = sorted(os.path.relpath(os.path.join(d, f), str(staged))
                   for d, _, files in os.walk(str(staged)) for f in files)
    assert found == ["usr/local/include/vec0.h", "usr/local/lib/libvec0.a",
                     "usr/local/lib/pkgconfig/vec0.pc", "usr/local/lib/vec0.so"]


def test_pkg_config_describes_the_installed_tree(staged):
    version = shell("SELECT substr(vec_version(), 2);").strip()
    assert pkg_config(staged, "--modversion") == [version]
    cflags = pkg_config(staged, "--cflags")
    assert "-I%s%s/include" % (staged, PREFIX) in cflags
    libs = pkg_config(staged, "--libs")
    assert libs[:3] == ["-L%s%s/lib" % (staged, PREFIX), "-lvec0", "-lm"]
    assert "-lsqlite3" in libs  # from Requires: sqlite3
    assert pkg_config(staged, "--variable=extension") == \
        ["%s%s/lib/vec0.so" % (staged, PREFIX)]


def test_example_builds_against_the_installed_tree(staged, tmp_path):
    # outside the repository, so nothing but the installed files is found
    src = tmp_path / "knn.c"
    src.write_text(open(os.path.join(ROOT, "examples", "c", "knn.c")).read())
    flags = pkg_config(staged, "--cflags", "--libs")
    run([CC, "-std=c99", "-Wall", "-Wextra", "-Werror", "-o", "knn", "knn.c"]
        + flags + SAN_LDFLAGS, cwd=str(tmp_path))
    expected = open(os.path.join(ROOT, "examples", "c", "knn.expected")).read()
    assert run([str(tmp_path / "knn")], cwd=str(tmp_path)).stdout == expected


def test_installed_module_loads_in_the_shell(staged):
    ext = str(staged) + PREFIX + "/lib/vec0"
    assert shell("SELECT vec_length('[1,2,3]');", ext=ext) == "3\n"


def test_uninstall_removes_every_file(staged, tmp_path):
    make("install", "DESTDIR=%s" % tmp_path, "PREFIX=/opt/vec0")
    make("uninstall", "DESTDIR=%s" % tmp_path, "PREFIX=/opt/vec0")
    left = [f for _, _, files in os.walk(str(tmp_path)) for f in files]
    assert left == []
