"""The amalgamation: `make amalgamation` writes one C file from the current
sources that builds with a single compiler call and works; and the script
behind it renames the file-local names that would clash, or refuses."""

import os
import textwrap

import pytest

from support import CC, ROOT, make, run, shell

SEARCH = """\
SELECT vec_version() LIKE 'v%';
CREATE VIRTUAL TABLE t USING vec0(v float[2], +name text);
INSERT INTO t(rowid, v, name) VALUES (1, '[0,0]', 'origin'), (2, '[1,1]', 'one'),
  (3, '[5,5]', 'five'), (4, '[1,0]', 'east');
SELECT rowid, name, round(distance, 4) FROM t WHERE v MATCH '[1,1]' AND k = 3 ORDER BY distance;
SELECT vec_distance_l2sq('[1,2]', '[4,6]');
"""
SEARCH_OUT = "1\n2|one|0.0\n4|east|1.0\n1|origin|1.4142\n25.0\n"


@pytest.fixture(scope="module")
def amalg(tmp_path_factory):
    d = tmp_path_factory.mktemp("amalgamation")
    make("amalgamation", "AMALG_DIR=%s" % d)
    return d


def test_one_file_without_project_includes(amalg):
    src = (amalg / "vec0.c").read_text()
    assert (amalg / "vec0.h").read_text() == open(os.path.join(ROOT, "include", "vec0.h")).read()
    for line in src.splitlines():
        if line.startswith("#include \""):
            # only SQLite's own headers remain quoted
            assert line in ('#include "sqlite3ext.h"', '#include "sqlite3.h"'), line
    # every source file is in, each once
    for name in sorted(os.listdir(os.path.join(ROOT, "src"))):
        if name.endswith(".c"):
            assert src.count("/* ==== src/%s ==== */" % name) == 1, name
    assert "int sqlite3_vec_init(" in src


def test_single_compiler_call_builds_a_working_extension(amalg):
    # exactly the command the generated file and the docs give
    run([CC, "-O2", "-fPIC", "-shared", "vec0.c", "-o", "vec0.so", "-lm"], cwd=str(amalg))
    assert shell(SEARCH, ext=str(amalg / "vec0"), cwd=str(amalg)) == SEARCH_OUT
    exported = run(["nm", "-D", "--defined-only", str(amalg / "vec0.so")]).stdout
    assert " T sqlite3_vec_init\n" in exported


def test_strict_build_and_embedding(amalg, tmp_path):
    """The amalgamation is as warning-free as the sources, and it links into a
    program with -DSQLITE_CORE (the C example, run through the shell's SQL)."""
    prog = str(tmp_path / "knn")
    run([CC, "-std=c99", "-O0", "-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter",
         "-DSQLITE_CORE", "-I", str(amalg), "-o", prog,
         os.path.join(ROOT, "examples", "c", "knn.c"), str(amalg / "vec0.c"),
         "-lsqlite3", "-lm"])
    expected = open(os.path.join(ROOT, "examples", "c", "knn.expected")).read()
    assert run([prog]).stdout == expected


# --- the script on small made-up trees -------------------------------------

def write_tree(root, files):
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def amalgamate(root, *sources, check=True):
    return run([os.path.join(ROOT, "tools", "amalgamate.py"), "-v", "-o", "all.c",
                "-I", "inc"] + list(sources), cwd=str(root), check=check)


CLASHING = {
    "inc/api.h": """\
        int a_value(void);
        int b_value(void);
        int b_parse(const char *z);
    """,
    # counter: two tentative definitions would silently become one variable;
    # helper: a second definition would not compile; LOCAL: a macro that
    # must not leak into b.c; atoi: a static that would capture b.c's call
    # of the C library's atoi().
    "src/a.c": """\
        #include "api.h"
        #define LOCAL 1
        static int counter;
        static int helper(void) { return ++counter; }
        static int atoi(const char *z) { (void)z; return 42; }
        int a_value(void) { helper(); return helper() + LOCAL + atoi("1"); }
    """,
    "src/b.c": """\
        #define _GNU_SOURCE
        #include <stdlib.h>
        #include "../inc/api.h"
        static int counter;
        static int helper(void) { return counter += 10; }
        int b_value(void) { int LOCAL = 100; return helper() + LOCAL; }
        int b_parse(const char *z) { return atoi(z); }
    """,
    "src/main.c": """\
        #include <stdio.h>
        #include "api.h"
        int main(void) {
          printf("%d %d %d\\n", a_value(), b_value(), b_parse("7"));
          return 0;
        }
    """,
}


def test_clashing_statics_are_renamed_per_file(tmp_path):
    write_tree(tmp_path, CLASHING)
    p = amalgamate(tmp_path, "src/a.c", "src/b.c", "src/main.c")
    for note in ("src/a.c: counter", "src/b.c: counter", "src/a.c: helper",
                 "src/b.c: helper", "src/a.c: atoi"):
        assert note in p.stdout, note
    text = (tmp_path / "all.c").read_text()
    assert text.count("int a_value(void);") == 1  # the header, once
    # the feature-test macro moved above every system header
    assert text.index("#define _GNU_SOURCE") < text.index("#include <stdlib.h>")
    run([CC, "-std=c99", "-Wall", "-Werror", "-o", "prog", "all.c"], cwd=str(tmp_path))
    # a: 2 + 1 + 42 (its own atoi); b: 10 + 100; the C library's atoi("7")
    assert run([str(tmp_path / "prog")]).stdout == "45 110 7\n"


def test_refuses_a_rename_that_would_change_a_header(tmp_path):
    files = dict(CLASHING)
    files["inc/api.h"] += "struct opts { int helper; };\n"
    write_tree(tmp_path, files)
    p = amalgamate(tmp_path, "src/a.c", "src/b.c", "src/main.c", check=False)
    assert p.returncode == 1
    assert "error: name clashes the amalgamation cannot resolve" in p.stdout
    assert "helper of src/a.c is also file-local in src/b.c" in p.stdout
    assert "rename it in the source" in p.stdout
    assert not (tmp_path / "all.c").exists()


def test_refuses_a_global_defined_twice(tmp_path):
    write_tree(tmp_path, {"a.c": "int shared = 1;\n", "b.c": "int shared = 2;\n"})
    p = amalgamate(tmp_path, "a.c", "b.c", check=False)
    assert p.returncode == 1
    assert "global shared is defined in a.c and b.c" in p.stdout
    assert not (tmp_path / "all.c").exists()


def test_refuses_unbalanced_source(tmp_path):
    write_tree(tmp_path, {"a.c": "int f(void) { return 1;\n"})
    p = amalgamate(tmp_path, "a.c", check=False)
    assert p.returncode == 1 and "a.c: unclosed '{'" in p.stdout
