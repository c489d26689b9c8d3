#!/usr/bin/python3
"""Writes the sweep's chosen setting as the shipped configurations:
  conf/train-stockmark-best.json   conf/train-stockmark.json with the setting's train overrides and
                                   what every sweep run had: per_device_train_batch_size 6 (global
                                   batch 12 on 2 replicas) and validation after every epoch
  conf/stockmark-best.json         one `sparkner crosslingual` job: prepare Stockmark as the setting
                                   did, train with the file above on 2 replicas, score Stockmark's
                                   own test split

    bench/quality_sweep_ship.py [--name SETTING] [--summary FILE] [--conf-dir DIR]

The setting is bench/results/quality-sweep.json's chosen_on_validation unless --name gives one;
--conf-dir (default conf) is where the two files go.
"""

import json
import os
import sys

from quality_common import ROOT, load, option, write

USAGE = "bench/quality_sweep_ship.py [--name SETTING] [--summary FILE] [--conf-dir DIR]"

# the prepared variants of bench/quality-sweep.sh, as `sparkner crosslingual`'s "prepare" keys
PREPARE = {
    "iob2": {"scheme": "IOB2", "label_all_subwords": True},
    "io": {"scheme": "IO", "label_all_subwords": True},
    "first": {"scheme": "IOB2", "label_all_subwords": False},
}


def value(text):
    """A --set value as `train --set` reads it (TrainingArguments.withOverrides): JSON when it is
    JSON (1e-4, 6, true), a plain string otherwise (lr_scheduler_type=constant)."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def main(argv):
    summary_path, argv = option(argv, "--summary",
                                os.path.join(ROOT, "bench/results/quality-sweep.json"))
    conf_dir, argv = option(argv, "--conf-dir", os.path.join(ROOT, "conf"))
    given, argv = option(argv, "--name", None)
    if argv:
        print(USAGE, file=sys.stderr)
        sys.exit(2)
    summary = load(summary_path)
    if summary is None:
        sys.exit(f"quality_sweep_ship.py: no {summary_path}")
    name = given or summary.get("chosen_on_validation")
    if not name:
        sys.exit(f"quality_sweep_ship.py: {summary_path} has chosen no setting yet "
                 f"({summary['runs_finished']} of {summary['runs_planned']} runs); give --name")
    setting = next((s for s in summary["settings"] if s["name"] == name), None)
    if setting is None:
        sys.exit(f"quality_sweep_ship.py: no setting '{name}' in {summary_path}")
    why = "named" if given else "best (chosen on validation F1 over two seeds)"

    train = load(os.path.join(ROOT, "conf/train-stockmark.json"))
    # as every sweep run trained: 6 windows per replica, validation after every epoch
    train["per_device_train_batch_size"] = 6
    train["eval_strategy"] = "epoch"
    for kv in setting["set"]:
        key, _, text = kv.partition("=")
        train[key] = value(text)
    best = {
        "description": f"The {why} setting of the Stockmark sweep ('{name}'; "
                       "bench/results/quality-sweep.json, BENCHMARKS.md): "
                       "fine-tune bge-small-zh-v1.5 on Stockmark with 2 replicas and score its test "
                       "split. Paths are relative to the sparkner checkout.",
        "tokenizer": "../shared/models/bge-small-zh-v1.5",
        "model": "../shared/models/bge-small-zh-v1.5",
        "prepare": dict(PREPARE[setting["prepared"]], max_length=256, stride=64, seed="sparkner"),
        "train": {
            "inputs": ["stockmark:../shared/data/stockmark/ner.json"],
            "conf": "conf/train-stockmark-best.json",
            "replicas": 2,
        },
        "evaluate": {"split": "test", "training_corpus": True, "sets": {}, "examples": 20,
                     "batch_size": 32},
    }
    for file, content in (("train-stockmark-best.json", train), ("stockmark-best.json", best)):
        path = os.path.join(conf_dir, file)
        write(path, content)
        print(path)


if __name__ == "__main__":
    main(sys.argv[1:])
