#!/usr/bin/python3
"""Collects bench/crosslingual.sh runs into bench/results/crosslingual.json (and prints the matrix):
one row per training configuration (what it was trained on), one column per evaluation language,
micro F1 (seqeval default) with strict F1 and gold support alongside, in-language cells marked.

Each row carries the commit, machine and date it was collected on. A configuration without a
report in WORK_DIR keeps its finished row from FILE: the runs take hours each, and their work
directories do not outlive the machine, so the table fills up across runs.

    bench/crosslingual_summary.py WORK_DIR NAME... [--out FILE]
"""

import os
import sys

from quality_common import arguments, load, provenance, times, write


def row(work, wall, name, before):
    report = load(os.path.join(work, name, "report", "report.json"))
    if report is None:
        if before.get("finished"):
            return before
        return {"config": f"conf/crosslingual-{name}.json", "finished": False}
    m = report["crosslingual"]
    cells = {}
    for c, lang in enumerate(m["columns"]):
        cells[lang] = {"f1": round(m["f1"][0][c], 4), "strict_f1": round(m["strict_f1"][0][c], 4),
                       "support": m["support"][0][c], "in_language": m["in_language"][0][c]}
    if before.get("finished") and before.get("cells") == cells:
        return before  # collected before: keeps the commit, machine and date it was collected on
    return {"config": f"conf/crosslingual-{name}.json", "finished": True,
            "trained_on": m["rows"][0]["name"], "cells": cells,
            "seconds": wall.get(f"crosslingual-{name}"), **provenance()}


def main(argv):
    out, argv = arguments(argv, "bench/results/crosslingual.json", 2, __doc__)
    work, names = argv[0], argv[1:]
    wall = times(work)
    previous = load(out) or {}
    old = previous.get("rows", {})
    for r in old.values():  # rows written before rows carried their own provenance
        for key in ("commit", "machine", "date"):
            r.setdefault(key, previous.get(key))
    rows = {name: row(work, wall, name, old.get(name, {})) for name in names}
    rows.update({name: r for name, r in old.items() if name not in rows and r.get("finished")})
    langs = sorted({lang for r in rows.values() if r["finished"] for lang in r["cells"]})
    result = {"benchmark": "crosslingual", **provenance(),
              "model": "bge-small-zh-v1.5 (24M, Chinese vocabulary)",
              "metric": "micro F1, seqeval default mode; PAN-X test splits; Stockmark's test split "
                        "for the Stockmark row, whose ORG-P/ORG-O count as ORG on PAN-X",
              "columns": langs, "rows": rows}
    write(out, result)
    print(f"{'trained on':<22}" + "".join(f"{lang:>9}" for lang in langs) + f"{'minutes':>9}")
    for name, r in rows.items():
        if not r["finished"]:
            print(f"{name:<22} not finished")
            continue
        cells = "".join(f"{r['cells'][lang]['f1']:>8.3f}{'*' if r['cells'][lang]['in_language'] else ' '}"
                        if lang in r["cells"] else f"{'-':>9}" for lang in langs)
        minutes = f"{r['seconds'] / 60:>9.1f}" if r["seconds"] else f"{'-':>9}"
        print(f"{name + ' (' + r['trained_on'] + ')':<22}{cells}{minutes}")
    print(f"* in-language; wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
