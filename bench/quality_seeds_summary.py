#!/usr/bin/python3
"""Collects bench/quality-seeds.sh outputs into bench/results/quality-seeds.json (and prints a table):
per side and seed the test micro F1 (seqeval default), strict F1 and the validation F1 per epoch; per
side the mean, the sample standard deviation and the range over the finished seeds; and sparkner's
mean minus the reference's.

    bench/quality_seeds_summary.py WORK_DIR SEED... [--out FILE]
"""

import os
import statistics
import sys

from quality_common import arguments, jsonl, load, write


def run(work, side, seed):
    if side == "java":
        report = load(os.path.join(work, f"java-bge-s{seed}-report/report.json"))
        metrics = jsonl(os.path.join(work, f"java-bge-s{seed}/metrics.jsonl"))
    else:
        report = load(os.path.join(work, f"python-bge-s{seed}/report.json"))
        metrics = jsonl(os.path.join(work, f"python-bge-s{seed}/metrics.jsonl"))
    val = [round(m["eval_f1"], 4) for m in metrics if "eval_f1" in m]
    if report is None:
        return {"seed": seed, "finished": False, "validation_f1": val}
    return {"seed": seed, "finished": True,
            "test_f1": round(report["seqeval_default"]["micro"]["f1"], 4),
            "test_strict_f1": round(report["seqeval_strict"]["micro"]["f1"], 4),
            "validation_f1": val}


def stats(values):
    if not values:
        return None
    return {"n": len(values), "mean": round(statistics.mean(values), 4),
            "stdev": round(statistics.stdev(values), 4) if len(values) > 1 else None,
            "min": min(values), "max": max(values)}


def main(argv):
    out, argv = arguments(argv, "bench/results/quality-seeds.json", 2, __doc__)
    work, seeds = argv[0], [int(s) for s in argv[1:]]
    result = {"benchmark": "quality-seeds", "work": work, "seeds": seeds,
              "config": "bge-small-zh-v1.5, conf/train-stockmark.json (2 epochs, lr 5e-5, batch 12, "
                        "warmup 0.1, wd 0.01, clip 1.0), full Stockmark split; reference: "
                        "tools/reference/ner_reference.py train, same settings, --order torch"}
    for side in ("java", "python"):
        runs = [run(work, side, s) for s in seeds]
        done = [r for r in runs if r["finished"]]
        result[side] = {"runs": runs,
                        "test_f1": stats([r["test_f1"] for r in done]),
                        "validation_f1_last_epoch": stats([r["validation_f1"][-1] for r in done
                                                           if r["validation_f1"]])}
    j, p = result["java"]["test_f1"], result["python"]["test_f1"]
    result["java_minus_python_mean_test_f1"] = round(j["mean"] - p["mean"], 4) if j and p else None
    write(out, result)
    for side in ("java", "python"):
        for r in result[side]["runs"]:
            if r["finished"]:
                print(f"{side:6s} seed {r['seed']:5d} test F1 {r['test_f1']:.4f} (strict "
                      f"{r['test_strict_f1']:.4f}) val {r['validation_f1']}")
            else:
                print(f"{side:6s} seed {r['seed']:5d} not finished")
        s = result[side]["test_f1"]
        if s:
            print(f"{side:6s} mean {s['mean']:.4f} sd {s['stdev']} range {s['min']:.4f}-{s['max']:.4f} "
                  f"over {s['n']}")
    print("java - python (mean test F1):", result["java_minus_python_mean_test_f1"])
    print("wrote", out)


if __name__ == "__main__":
    main(sys.argv[1:])
