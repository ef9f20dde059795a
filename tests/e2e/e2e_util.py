"""Helpers the e2e scripts share: run a command (failing the test with its output) and read
a CSV as dicts."""
import csv
import subprocess


def run(cmd, **kw):
    """Runs `cmd` (any path-like items), returns its stdout; exits with a FAIL line otherwise."""
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    if p.returncode != 0:
        raise SystemExit(f"FAIL: {' '.join(map(str, cmd))} exited {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p.stdout


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))
