"""report.py: turns the figures of one run into JSON, Markdown and a plot.

write(results, name, readme) stores NAME.json, NAME.md and NAME.png (for
'latest': recall_qps.png) in bench/results/ when NAME is 'latest' or
'scale' (the committed results of real runs), in bench/out/ otherwise, and
with readme=True replaces the part of bench/README.md between the
`results:begin` and `results:end` markers (`scale:begin` and `scale:end` for
the scale run).

  /usr/bin/python3 bench/report.py bench/results/latest.json [--readme]   # redo md/png
"""

import math
import os
import sys

import common

TARGET_RECALL = 0.95
MB = 1024 * 1024


def qps_at(passes, target=TARGET_RECALL):
    """QPS at recall `target` along the unfiltered ef passes: interpolated
    (log QPS, linear in recall) between the last pass below and the first
    at or above it; the first pass's QPS if it already reaches it; None if
    no pass does."""
    ps = sorted((p for p in passes if p.get("filter_lt") is None
                 and "recall" in p), key=lambda p: p["ef"] or 0)
    prev = None
    for p in ps:
        if p["recall"] >= target:
            if prev is None or p["recall"] == prev["recall"]:
                return p["qps"]
            t = (target - prev["recall"]) / (p["recall"] - prev["recall"])
            return math.exp(math.log(prev["qps"]) +
                            t * (math.log(p["qps"]) - math.log(prev["qps"])))
        prev = p
    return None


def plain(passes):
    return [p for p in passes if p.get("filter_lt") is None]


def headline_qps(e):
    """Exact engines: their one unfiltered pass; HNSW: QPS at 0.95."""
    ps = plain(e.get("passes", []))
    if not ps:
        return None
    if ps[0]["ef"] is None:
        return ps[0].get("qps")
    return qps_at(ps)


def fmt(v, spec="%.1f", none="—"):
    return none if v is None else spec % v


def ratio_rows(r):
    """(what, value, target, met) for the SPEC's performance targets."""
    E = r["engines"]

    def get(name, fn):
        e = E.get(name)
        if not e or "error" in e:
            return None
        try:
            return fn(e)
        except (KeyError, TypeError, IndexError, ZeroDivisionError):
            return None

    def div(a, b):
        return None if a is None or b in (None, 0) else a / b

    rows = []
    summary = (r.get("rounds") or {}).get("summary", {})

    def add(what, key, v, *rest, spec="%.2f"):
        """A row whose figure, when rounds.py ran, is the median over the
        rounds with the spread (min-max) beside it."""
        s = summary.get(key)
        if s:
            rows.append((what, s["median"]) + rest + (
                (spec + " (" + spec + "-" + spec + ")") % (s["median"], s["min"], s["max"]),))
        else:
            rows.append((what, v) + rest)

    flat = get("vec0-flat", headline_qps)
    hnsw = get("vec0-hnsw", headline_qps)
    add("vec0 flat QPS / sqlite-vec QPS", "flat/sqlite-vec",
        div(flat, get("sqlite-vec", headline_qps)), ">= 5", 5, 1)
    add("vec0 flat QPS / C loop QPS", "flat/c-loop",
        div(flat, get("c-loop", headline_qps)), ">= 0.77 (1/1.3)", 1 / 1.3, 1)
    add("vec0 HNSW QPS / hnswlib QPS, at recall 0.95", "hnsw/hnswlib",
        div(hnsw, get("hnswlib", headline_qps)), ">= 1.0", 1.0, 1)
    add("vec0 HNSW QPS / vectorlite QPS, at recall 0.95", "hnsw/vectorlite",
        div(hnsw, get("vectorlite", headline_qps)), "", None, 1)
    add("(peers) vectorlite QPS / hnswlib QPS, at recall 0.95", "vectorlite/hnswlib",
        div(get("vectorlite", headline_qps), get("hnswlib", headline_qps)), "", None, 1)
    b = get("vec0-hnsw", lambda e: e["build_s"])
    rows.append(("vec0 HNSW build time / hnswlib build time",
                 div(b, get("hnswlib", lambda e: e["build_s"])), "<= 1.0",
                 1.0, -1))
    rows.append(("vec0 HNSW build time / vectorlite build time",
                 div(b, get("vectorlite", lambda e: e["build_s"])), "",
                 None, -1))
    rows.append(("vec0 HNSW single-row INSERT, median ms",
                 get("vec0-hnsw", lambda e: e["insert_median_ms"]),
                 "<= 2 ms", 2.0, -1))
    # The SPEC's bound is for the 60k fashion-mnist table.
    add("vec0 HNSW first query after reopen (open+load+query), ms", "reopen_ms",
        get("vec0-hnsw", lambda e: e["reopen"]["total_ms"]),
        "<= 30 ms" if r["n"] <= 60000 else "(<= 30 ms at 60k rows)",
        30.0 if r["n"] <= 60000 else None, -1, spec="%.1f")
    rows.append(("vec0 HNSW file / hnswlib index file (vectors + links)",
                 div(get("vec0-hnsw", lambda e: e["file_bytes"]),
                     get("hnswlib", lambda e: e["file_bytes"])),
                 "<= 1.2", 1.2, -1))
    dh = get("vec0-hnsw", lambda e: e["delete_half"])
    if dh and "recall" in dh:
        rows.append(("vec0 HNSW after deleting half the rows: recall@10 at the "
                     "default ef (QPS)", dh["recall"], ">= 0.95", 0.95, 1,
                     "%.3f (%.0f QPS)" % (dh["recall"], dh["qps"])))
    raw = r["n"] * r["dim"] * 4
    rows.append(("vec0 flat file / raw float32 vectors",
                 div(get("vec0-flat", lambda e: e["file_bytes"]), raw), "",
                 None, -1))
    def at1(name):
        return get(name, lambda e: [p for p in e["passes"]
                                    if p.get("filter_lt") == 10][0])

    h1, f1, s1 = at1("vec0-hnsw"), at1("vec0-flat"), at1("sqlite-vec")
    if h1:
        rows.append(("vec0 HNSW at 1 % selectivity: rows / recall", None,
                     "10 / >= 0.95", None, 0,
                     "%.2f / %.3f" % (h1["rows"], h1["recall"])))
        # At 1 % the planner scans the matching rows, as the flat index
        # does: the same work, so the ratio is 1 within the noise of a run.
        add("vec0 HNSW at 1 %: QPS / vec0 flat (exact scan) QPS", "hnsw1/flat1",
            div(h1["qps"], f1 and f1["qps"]), ">= 1.0 (0.95: noise)", 0.95, 1)
    if f1:
        rows.append(("vec0 flat at 1 %: QPS / sqlite-vec QPS",
                     div(f1["qps"], s1 and s1["qps"]), "", None, 1))
    pf1 = at1("vec0-postfilter")
    if pf1:
        rows.append(("(baseline) post-filtered HNSW at 1 %: rows / recall", None,
                     "", None, 0, "%.2f / %.3f" % (pf1["rows"], pf1["recall"])))
    out = []
    for row in rows:
        what, v, target, bound, sense = row[:5]
        if (v is None and len(row) == 5
                and set(E) <= set(common.SCALE_ENGINES)):
            continue  # the scale run has no exact engines to compare with
        shown = row[5] if len(row) > 5 else fmt(v, "%.2f")
        met = "—"
        if v is not None and bound is not None:
            met = "yes" if (v >= bound if sense > 0 else v <= bound) else "no"
        out.append((what, shown, target, met))
    return out


def engine_rows(r):
    rows = []
    for name, e in r["engines"].items():
        if "error" in e:
            rows.append((name,) + ("—",) * 9 + ("error: " + e["error"],))
            continue
        ps = plain(e["passes"])
        exact = bool(ps) and ps[0]["ef"] is None
        best = max((p["recall"] for p in ps), default=None)
        ro = e.get("reopen", {})
        peak = e.get("rss_peak_kb")
        note = "exact" if exact else "QPS at recall %.2f" % TARGET_RECALL
        if not exact and ps and headline_qps(e) is None:
            note = "recall %.2f not reached" % TARGET_RECALL
        rows.append((
            name, fmt(e.get("build_s"), "%.1f"),
            fmt(e.get("file_bytes") and e["file_bytes"] / MB, "%.1f"),
            fmt(peak and peak / 1024, "%.0f"),
            fmt(peak and (peak - e.get("rss_base_kb", 0)) / 1024, "%.0f"),
            fmt(e.get("insert_median_ms"), "%.3f"),
            fmt(ro.get("total_ms"), "%.1f"), fmt(ro.get("query_ms"), "%.1f"),
            fmt(headline_qps(e), "%.0f"), fmt(best, "%.3f"), note))
    return rows


def python_rows(r):
    """Each SQLite engine's pass from Python against its pass from C at the
    same setting: what Python's sqlite3 adds to a query."""
    rows = []
    for name, e in r["engines"].items():
        for p in e.get("python_passes", []):
            c = [q for q in plain(e.get("passes", [])) if q["ef"] == p["ef"]]
            if not c or "qps" not in p:
                continue
            added = (1 / p["qps"] - 1 / c[0]["qps"]) * 1e6
            rows.append((name, fmt(p["ef"], "%d"), "%.0f" % c[0]["qps"],
                         "%.0f" % p["qps"], "%.0f" % added))
    return rows


def table(head, rows):
    lines = ["| " + " | ".join(head) + " |",
             "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def markdown(r, png):
    m = r["machine"]
    s = []
    s.append("Run of %s: %s, %d base rows x %d dims, k = %d, %d queries per "
             "exact pass, %d per HNSW pass; ef %s." % (
                 m["date"], r["dataset"], r["n"], r["dim"], r["k"],
                 r["queries"], r["ann_queries"],
                 ", ".join(str(x) for x in r["ef"])))
    s.append("")
    s.append("Machine: %s, %s cores, %s GB RAM, SIMD %s; SQLite %s "
             "(every SQLite engine in WAL mode, synchronous=NORMAL), "
             "Python %s; repo at %s%s." % (
                 m.get("cpu", "?"), m["cores"], m["ram_gb"],
                 "/".join(m.get("simd", [])) or "?", m["sqlite"], m["python"],
                 m["commit"], " (src/ had uncommitted changes)"
                 if m.get("src_dirty") else ""))
    s.append("")
    s.append("### Targets (SPEC \"Performance targets\")")
    s.append("")
    s.append(table(["what", "measured", "target", "met"], ratio_rows(r)))
    s.append("")
    rd = r.get("rounds")
    if rd:
        s.append("Ratios and the first query after reopen: median over %d alternating "
                 "rounds (min-max), `bench/rounds.py`: each round runs every engine "
                 "again from C, in an order reversed every other round (%s), %d queries "
                 "per exact scan, %d per HNSW pass at ef %s and per 1 %% pass. The "
                 "engine tables below are the one full pass of each engine." % (
                     rd["rounds"], ", ".join(rd["order"]), rd["exact_queries"],
                     rd["queries"], ", ".join(str(x) for x in rd["efs"])))
        s.append("")
    s.append("### Engines")
    s.append("")
    s.append(table(["engine", "build s", "file MB", "peak RSS MB",
                    "RSS over baseline MB", "insert ms (median)",
                    "reopen+1st query ms", "1st query ms", "QPS",
                    "best recall@10", "note"], engine_rows(r)))
    s.append("")
    py = python_rows(r)
    if py:
        s.append("### From Python")
        s.append("")
        s.append("Every QPS above is from a C loop (`knn_driver`); the same "
                 "query from Debian's Python `sqlite3` (one pass, after the "
                 "C passes):")
        s.append("")
        s.append(table(["engine", "ef", "QPS from C", "QPS from Python",
                        "us added per query"], py))
        s.append("")
    s.append("### Recall and QPS per ef")
    s.append("")
    rows = []
    for name, e in r["engines"].items():
        for p in e.get("passes", []):
            rows.append((name, fmt(p["ef"], "%d"),
                         fmt(p.get("filter_lt"), "< %d", ""),
                         "%.0f" % p["qps"], "%.4f" % p["recall"],
                         "%.2f" % p["rows"]))
    s.append(table(["engine", "ef", "label filter", "QPS", "recall@10",
                    "rows"], rows))
    s.append("")
    s.append("![recall versus QPS](%s)" % png)
    s.append("")
    if r.get("kernels"):
        s.append("### Distance kernels alone (bench_kernels.c)")
        s.append("")
        s.append(r["kernels"].strip())
        s.append("")
    return "\n".join(s)


def plot(r, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(8, 5.5))
    for name, e in r["engines"].items():
        ps = [p for p in plain(e.get("passes", [])) if "recall" in p]
        if not ps:
            continue
        ps.sort(key=lambda p: p["ef"] or 0)
        ax.plot([p["recall"] for p in ps], [p["qps"] for p in ps],
                marker="o", label=name + (" (exact)" if ps[0]["ef"] is None
                                          else ""))
    ax.set_yscale("log")
    ax.set_xlabel("recall@%d" % r["k"])
    ax.set_ylabel("queries per second (log)")
    ax.set_title("%s, n=%d, one thread" % (r["dataset"], r["n"]))
    ax.axvline(TARGET_RECALL, color="grey", lw=0.8, ls="--")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(r, name, readme=False):
    d = common.RESULTS if name in ("latest", "scale") else common.OUT
    os.makedirs(d, exist_ok=True)
    png = "recall_qps.png" if name == "latest" else name + "_recall_qps.png"
    common.write_json(os.path.join(d, name + ".json"), r)
    plot(r, os.path.join(d, png))
    md = markdown(r, png)
    with open(os.path.join(d, name + ".md"), "w") as f:
        f.write("# Benchmark results: %s\n\n" % name + md)
    print(md)
    if readme:
        path = os.path.join(common.BENCH, "README.md")
        with open(path) as f:
            text = f.read()
        tag = "scale" if name == "scale" else "results"
        a, b = "<!-- %s:begin -->" % tag, "<!-- %s:end -->" % tag
        i, j = text.index(a) + len(a), text.index(b)
        md = md.replace("](%s)" % png, "](results/%s)" % png)
        with open(path, "w") as f:
            f.write(text[:i] + "\n" + md + text[j:])


if __name__ == "__main__":
    path = sys.argv[1]
    write(common.read_json(path),
          os.path.splitext(os.path.basename(path))[0], "--readme" in sys.argv[2:])
