#!/usr/bin/python3
"""Collects bench/quality-sweep.sh runs into bench/results/quality-sweep.json (and prints a table):
per setting and seed the validation micro F1 after every epoch and the wall time; per setting the
mean of the last epoch's validation F1 over its finished seeds; the setting chosen (the best mean);
and the test F1 of the runs whose test split was scored (bench/quality-sweep.sh --test NAME).

    bench/quality_sweep_summary.py SWEEP_WORK_DIR SWEEP_TSV SEED... [--out FILE]
"""

import os
import statistics
import sys

from quality_common import arguments, jsonl, load, times, write


def settings(tsv):
    out = []
    with open(tsv, encoding="utf-8") as f:
        for line in f:
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            name, variant, *sets = line.split()
            out.append({"name": name, "prepared": variant, "set": sets})
    return out


def run(work, wall, name, seed):
    d = os.path.join(work, f"{name}-s{seed}")
    finished = os.path.exists(os.path.join(d, "model.safetensors"))
    val = [round(m["eval_f1"], 4) for m in jsonl(os.path.join(d, "metrics.jsonl")) if "eval_f1" in m]
    r = {"seed": seed, "finished": finished, "validation_f1": val,
         "train_seconds": wall.get(f"train-{name}-s{seed}")}
    report = load(os.path.join(work, f"{name}-s{seed}-test/report.json"))
    if report is not None:
        r["test_f1"] = round(report["seqeval_default"]["micro"]["f1"], 4)
        r["test_strict_f1"] = round(report["seqeval_strict"]["micro"]["f1"], 4)
    return r


def main(argv):
    out, argv = arguments(argv, "bench/results/quality-sweep.json", 3, __doc__)
    work, tsv, seeds = argv[0], argv[1], [int(s) for s in argv[2:]]
    wall = times(work)
    rows = []
    for s in settings(tsv):
        runs = [run(work, wall, s["name"], seed) for seed in seeds]
        done = [r for r in runs if r["finished"] and r["validation_f1"]]
        last = [r["validation_f1"][-1] for r in done]
        tests = [r["test_f1"] for r in runs if "test_f1" in r]
        rows.append({**s, "runs": runs, "seeds_finished": len(done),
                     "validation_f1_mean": round(statistics.mean(last), 4) if last else None,
                     "test_f1_mean": round(statistics.mean(tests), 4) if tests else None})
    complete = [r for r in rows if r["seeds_finished"] == len(seeds)]
    chosen = max(complete, key=lambda r: r["validation_f1_mean"]) if complete else None
    result = {"benchmark": "quality-sweep", "work": work, "seeds": seeds,
              "config": "bge-small-zh-v1.5 on the full Stockmark split, conf/train-stockmark.json "
                        "with each setting's overrides, --replicas 2 with 6 windows each (global "
                        "batch 12), validation after every epoch",
              "settings": rows,
              "chosen_on_validation": chosen["name"] if chosen else None}
    write(out, result)
    print(f"{'setting':<20} {'val F1 per seed (last epoch)':<30} {'mean':>6} {'test':>6}")
    for r in rows:
        vals = ", ".join(f"{x['validation_f1'][-1]:.4f}" if x["validation_f1"] and x["finished"]
                         else "-" for x in r["runs"])
        mean = f"{r['validation_f1_mean']:.4f}" if r["validation_f1_mean"] is not None else "-"
        test = f"{r['test_f1_mean']:.4f}" if r["test_f1_mean"] is not None else "-"
        print(f"{r['name']:<20} {vals:<30} {mean:>6} {test:>6}")
    print(f"chosen on validation: {result['chosen_on_validation']}; wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
