"""What the quality summaries share: reading JSON and JSON-lines files that may not exist yet,
writing their result, the wall times bench/quality-stage.sh records, their arguments, commit,
machine and date."""

import json
import os
import platform
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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


def write(path, doc):
    """Writes doc as indented JSON (UTF-8, a newline at the end) to path, creating its directory."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2, ensure_ascii=False)
        f.write("\n")


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


def option(argv, flag, default):
    """(value, argv without FLAG VALUE): the value given after flag in argv, else default."""
    if flag not in argv:
        return default, argv
    i = argv.index(flag)
    return argv[i + 1], argv[:i] + argv[i + 2:]


def arguments(argv, default_out, at_least, usage):
    """(out, argv without --out FILE): the summary's output file (default_out under the checkout
    unless --out says otherwise); exits with the usage (code 2) when fewer than at_least remain."""
    out, argv = option(argv, "--out", os.path.join(ROOT, default_out))
    if len(argv) < at_least:
        print(usage, file=sys.stderr)
        sys.exit(2)
    return out, argv


def commit():
    """The checkout's short commit, or None outside a git checkout."""
    try:
        return subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def provenance():
    """The commit, machine and date (UTC) a result is written on."""
    return {"commit": commit(), "machine": machine(),
            "date": time.strftime("%Y-%m-%d", time.gmtime())}


def machine():
    """Cores and CPU model: float results differ between CPU models."""
    cpu = "unknown"
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    return f"{os.cpu_count()} cores, {cpu}, {platform.system()}"
