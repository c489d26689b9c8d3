"""What the quality summaries share: reading JSON and JSON-lines files that may not exist yet, and
the wall times bench/quality-stage.sh records."""

import json
import os


def load(path):
    """The JSON document at path, or None when there is none (a run not finished)."""
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def jsonl(path):
    """The JSON lines at path, [] when there is none."""
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(x) for x in f if x.strip()]


def times(work):
    """Stage name -> seconds from work/times.tsv (bench/quality-stage.sh); the last run of a stage
    wins; {} when there is none."""
    out = {}
    path = os.path.join(work, "times.tsv")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.startswith("#") or not line.strip():
                    continue
                _, name, seconds = line.rstrip("\n").split("\t")
                out[name] = float(seconds)
    return out
