#!/usr/bin/python3
"""Collects bench/quality.sh outputs into bench/results/quality-stockmark.json (and prints a table).

    bench/quality_summary.py [WORK_DIR] [OUT_JSON]

Whatever has finished is summarised; runs still going are listed with their last logged step."""

import os
import sys

from quality_common import jsonl, load, times as stage_times, write

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "bench/work/quality")
OUT = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "bench/results/quality-stockmark.json")


def scores(d):
    """report.json of either side -> micro P/R/F1, strict F1, per-type F1."""
    m = d["seqeval_default"]["micro"]
    tok = d.get("token_accuracy", d.get("tokens", {}).get("accuracy"))
    return {"precision": round(m["precision"], 4), "recall": round(m["recall"], 4), "f1": round(m["f1"], 4),
            "support": m["support"], "predicted": m.get("predicted"), "correct": m.get("correct"),
            "strict_f1": round(d["seqeval_strict"]["micro"]["f1"], 4),
            "token_accuracy": round(tok, 4) if tok is not None else None,
            "per_type_f1": {t: round(s["f1"], 4) for t, s in d["seqeval_default"]["per_type"].items()},
            "per_type": {t: {k: (round(v, 4) if isinstance(v, float) else v) for k, v in s.items()}
                         for t, s in d["seqeval_default"]["per_type"].items()}}


def java_run(name, t):
    metrics = jsonl(os.path.join(WORK, f"java-{name}/metrics.jsonl"))
    report = load(os.path.join(WORK, f"java-{name}-report/report.json"))
    steps = [m for m in metrics if "loss" in m]
    evals = [m for m in metrics if "eval_f1" in m]
    r = {"side": "java (sparkner train / evaluate)", "finished": report is not None,
         "train_wall_s": t.get(f"train-{name}-java"), "eval_wall_s": t.get(f"eval-{name}-java"),
         "last_step": steps[-1]["step"] if steps else None, "total_steps": steps[-1].get("total_steps") if steps else None,
         "validation": [{"epoch": e.get("epoch"), "step": e.get("step"), "f1": round(e["eval_f1"], 4),
                         "strict_f1": round(e["eval_strict_f1"], 4)} for e in evals]}
    if report:
        r["test"] = scores(report)
    return r


def python_run(name, t):
    metrics = jsonl(os.path.join(WORK, f"python-{name}/metrics.jsonl"))
    report = load(os.path.join(WORK, f"python-{name}/report.json"))
    steps = [m for m in metrics if "loss" in m]
    evals = [m for m in metrics if "eval_f1" in m]
    r = {"side": "python (ner_reference.py train)", "finished": report is not None,
         "train_wall_s": report["train_wall_s"] if report else None, "stage_wall_s": t.get(f"train-{name}-python"),
         "last_step": steps[-1]["step"] if steps else None,
         "validation": [{"epoch": e["epoch"], "step": e["step"], "f1": round(e["eval_f1"], 4),
                         "strict_f1": round(e["eval_strict_f1"], 4)} for e in evals]}
    if report:
        r["test"] = scores(report)
        r["torch"] = report.get("torch")
        r["threads"] = report.get("threads")
    return r


def main():
    t = stage_times(WORK)
    old = load(OUT) or {}
    out = {"benchmark": "quality-stockmark", "work": WORK, "stage_wall_s": t,
           "notes": old.get("notes", []),
           "bge-small-zh-v1.5": {"java": java_run("bge", t), "python": python_run("bge", t)},
           "tiny-xlmr": {"java": java_run("tiny", t), "python": python_run("tiny", t)}}
    for k in ("env", "config"):
        if k in old:
            out[k] = old[k]
    write(OUT, out)
    for model in ("bge-small-zh-v1.5", "tiny-xlmr"):
        for side in ("java", "python"):
            r = out[model][side]
            s = r.get("test")
            val = ", ".join(f"{v['f1']:.4f}" for v in r["validation"])
            if s:
                types = " ".join(f"{k} {v:.3f}" for k, v in s["per_type_f1"].items())
                print(f"{model:18s} {side:6s} test P {s['precision']:.4f} R {s['recall']:.4f} F1 {s['f1']:.4f} "
                      f"(strict {s['strict_f1']:.4f}); val F1/epoch [{val}]; train {r['train_wall_s']} s; {types}")
            else:
                print(f"{model:18s} {side:6s} not finished (last step {r['last_step']}); val F1/epoch [{val}]")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
