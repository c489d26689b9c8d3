"""What the quality summaries share: reading JSON and JSON-lines files that may not exist yet."""

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
