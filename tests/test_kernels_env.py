"""VEC0_KERNELS lowers the distance kernel set chosen at load time.

Each case starts a new process (the set is chosen once per process) and
reads the set back from vec_debug().  Lowering to a set the CPU has is
obeyed; a higher set, one of another CPU family or an unknown name leaves
the detected set.  Every set must give the same distances to 1e-5.
"""

import os
import subprocess
import sys

from conftest import EXT

PROBE = r"""
import sqlite3, sys
con = sqlite3.connect(":memory:")
con.enable_load_extension(True)
con.load_extension(sys.argv[1])
kernels = [l.split(": ", 1)[1] for l in con.execute("SELECT vec_debug()").fetchone()[0].splitlines()
           if l.startswith("kernels: ")][0]
a = "[" + ",".join(str((i * 7 % 13) / 3.0 - 2) for i in range(37)) + "]"
b = "[" + ",".join(str((i * 5 % 11) / 4.0 - 1) for i in range(37)) + "]"
d = con.execute("SELECT vec_distance_l2(?, ?), vec_distance_cosine(?, ?), vec_distance_l1(?, ?)",
                (a, b, a, b, a, b)).fetchone()
print(kernels, *d)
"""
LEVEL = {"portable": 0, "avx2": 1, "avx512": 2}


def run(value):
    env = dict(os.environ)
    env.pop("VEC0_KERNELS", None)
    if value is not None:
        env["VEC0_KERNELS"] = value
    out = subprocess.run([sys.executable, "-c", PROBE, EXT], env=env, check=True,
                         capture_output=True, text=True).stdout.split()
    return out[0], [float(x) for x in out[1:]]


def test_forced_kernel_sets():
    detected, ref = run(None)
    if detected == "neon":
        expect = {"portable": "portable", "avx2": "neon", "avx512": "neon", "neon": "neon"}
    else:
        expect = {name: (name if LEVEL[name] <= LEVEL[detected] else detected)
                  for name in LEVEL}
        expect["neon"] = detected
    expect["bogus"] = detected
    expect[""] = detected
    expect["PORTABLE"] = "portable"  # any case
    expect["Avx2"] = expect["avx2"]
    for value, want in expect.items():
        got, dist = run(value)
        assert got == want, "VEC0_KERNELS=%r: vec_debug() reports %s, expected %s" % (
            value, got, want)
        for x, y in zip(dist, ref):
            assert abs(x - y) <= 1e-5 * max(1.0, abs(y)), (value, dist, ref)
    assert run("portable")[0] == "portable"
