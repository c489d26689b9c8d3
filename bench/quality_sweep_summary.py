#!/usr/bin/python3
"""Collects bench/quality-sweep.sh runs into bench/results/quality-sweep.json (and prints a table):
per setting and seed the validation micro F1 after every epoch and the wall time; per setting the
mean of the last epoch's validation F1 over its finished seeds; the setting leading so far and, once
every setting has every seed, the setting chosen (the best mean);
and the test F1 of the runs whose test split was scored (bench/quality-sweep.sh --test NAME).

Every finished run is also kept as one record, LEDGER/NAME-sSEED.json (default
bench/results/quality-sweep-runs, committed), with the commit, machine and date it was recorded on:
a sweep takes many hours, and its work directory (models, logs) does not outlive the machine. A run
in the work directory wins over its record, which it rewrites when its figures differ; a run only in
the ledger is taken from there.

    bench/quality_sweep_summary.py SWEEP_WORK_DIR SWEEP_TSV SEED... [--out FILE] [--ledger DIR]
"""

import os
import statistics
import sys

from quality_common import ROOT, arguments, jsonl, load, option, provenance, times, write

FIGURES = ("validation_f1", "validation_strict_f1", "test_f1", "test_strict_f1")


def settings(tsv):
    out = []
    with open(tsv, encoding="utf-8") as f:
        for line in f:
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            name, variant, *sets = line.split()
            out.append({"name": name, "prepared": variant, "set": sets})
    return out


def from_work(work, wall, setting, seed):
    """The run as its work directory has it, or None when it has not finished there."""
    name = setting["name"]
    d = os.path.join(work, f"{name}-s{seed}")
    if not os.path.exists(os.path.join(d, "model.safetensors")):
        return None
    evals = [m for m in jsonl(os.path.join(d, "metrics.jsonl")) if "eval_f1" in m]
    r = {"name": name, "seed": seed, "prepared": setting["prepared"], "set": setting["set"],
         "validation_f1": [round(m["eval_f1"], 4) for m in evals],
         "validation_strict_f1": [round(m["eval_strict_f1"], 4) for m in evals
                                  if "eval_strict_f1" in m],
         "train_seconds": wall.get(f"train-{name}-s{seed}")}
    report = load(os.path.join(work, f"{name}-s{seed}-test/report.json"))
    if report is not None:
        r["test_f1"] = round(report["seqeval_default"]["micro"]["f1"], 4)
        r["test_strict_f1"] = round(report["seqeval_strict"]["micro"]["f1"], 4)
    return r


def run(work, wall, ledger, setting, seed):
    """The run of that setting and seed: from the work directory (recorded in the ledger when new
    or changed), else from the ledger, else unfinished."""
    path = os.path.join(ledger, f"{setting['name']}-s{seed}.json")
    kept = load(path)
    r = from_work(work, wall, setting, seed)
    if r is not None:
        if kept is None or any(kept.get(k) != r.get(k) for k in FIGURES):
            kept = {**r, **provenance()}
            write(path, kept)
        elif kept.get("train_seconds") is None and r["train_seconds"] is not None:
            kept["train_seconds"] = r["train_seconds"]
            write(path, kept)
    if kept is None:
        return {"seed": seed, "finished": False, "validation_f1": [], "train_seconds": None}
    out = {"seed": seed, "finished": True,
           **{k: v for k, v in kept.items() if k not in ("name", "seed", "prepared", "set")}}
    out["record"] = os.path.relpath(path, ROOT)
    return out


def markdown(rows, seeds, leader):
    """The sweep table of BENCHMARKS.md: per setting its overrides, the last epoch's validation F1
    of each seed, their mean (the leader's in bold), and the training minutes of each finished run."""
    head = ("| setting | overrides | " + " | ".join(f"seed {s}" for s in seeds)
            + " | mean | minutes |")
    lines = [head, "|" + "---|" * (len(seeds) + 4)]
    for r in rows:
        vals = [f"{x['validation_f1'][-1]:.3f}" if x["finished"] and x["validation_f1"] else "—"
                for x in r["runs"]]
        mean = "—" if r["validation_f1_mean"] is None else f"{r['validation_f1_mean']:.3f}"
        if r["name"] == leader:
            mean = f"**{mean}**"
        mins = ", ".join(f"{x['train_seconds'] / 60:.0f}" for x in r["runs"]
                         if x["finished"] and x.get("train_seconds"))
        sets = f"`{' '.join(r['set'])}`" + ("" if r["prepared"] == "iob2" else f", prepared {r['prepared']}")
        lines.append(f"| {r['name']} | {sets} | " + " | ".join(vals) + f" | {mean} | {mins or '—'} |")
    return "\n".join(lines)


def main(argv):
    out, argv = arguments(argv, "bench/results/quality-sweep.json", 3, __doc__)
    ledger, argv = option(argv, "--ledger", os.path.join(ROOT, "bench/results/quality-sweep-runs"))
    work, tsv, seeds = argv[0], argv[1], [int(s) for s in argv[2:]]
    wall = times(work)
    rows = []
    for s in settings(tsv):
        runs = [run(work, wall, ledger, s, seed) for seed in seeds]
        done = [r for r in runs if r["finished"] and r["validation_f1"]]
        last = [r["validation_f1"][-1] for r in done]
        tests = [r["test_f1"] for r in runs if "test_f1" in r]
        rows.append({**s, "runs": runs, "seeds_finished": len(done),
                     "validation_f1_mean": round(statistics.mean(last), 4) if last else None,
                     "test_f1_mean": round(statistics.mean(tests), 4) if tests else None})
    # the choice is made once every setting has every seed; until then, the leader so far
    started = [r for r in rows if r["seeds_finished"]]
    leader = max(started, key=lambda r: r["validation_f1_mean"]) if started else None
    chosen = leader if all(r["seeds_finished"] == len(seeds) for r in rows) else None
    result = {"benchmark": "quality-sweep", **provenance(), "seeds": seeds,
              "config": "bge-small-zh-v1.5 on the full Stockmark split, conf/train-stockmark.json "
                        "with each setting's overrides, --replicas 2 with 6 windows each (global "
                        "batch 12), validation after every epoch; each run's own commit, machine "
                        "and date are in its record",
              "settings": rows,
              "runs_finished": sum(r["seeds_finished"] for r in rows),
              "runs_planned": len(rows) * len(seeds),
              "leading_on_validation": leader["name"] if leader else None,
              "chosen_on_validation": chosen["name"] if chosen else None}
    write(out, result)
    print(f"{'setting':<20} {'val F1 per seed (last epoch)':<30} {'mean':>6} {'test':>6}")
    for r in rows:
        vals = ", ".join(f"{x['validation_f1'][-1]:.4f}" if x["finished"] and x["validation_f1"]
                         else "-" for x in r["runs"])
        mean = f"{r['validation_f1_mean']:.4f}" if r["validation_f1_mean"] is not None else "-"
        test = f"{r['test_f1_mean']:.4f}" if r["test_f1_mean"] is not None else "-"
        print(f"{r['name']:<20} {vals:<30} {mean:>6} {test:>6}")
    print()
    print(markdown(rows, seeds, result["leading_on_validation"]))
    print(f"{result['runs_finished']} of {result['runs_planned']} runs; leading on validation: "
          f"{result['leading_on_validation']}; chosen: {result['chosen_on_validation']}; wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
