#!/usr/bin/env python3
"""Counts the tests of one scripts/test.sh run from the JUnit files it leaves, one line per
runner, then the total as the closing line (`tests: N passed, N failed, N skipped`), which
.ci/run prints again last so that the CI output ends with every runner's count in it.

Before the counts, each failed test's own failure lines (the broken-input suite's `FAIL` lines,
GoogleTest's `Failure` blocks, pytest's `E ` lines), so that a CI log that keeps only its head
and tail still says what failed and why.

Usage: scripts/test_summary.py JUNIT.xml...   (missing files are reported as missing)"""
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

LABELS = {"ctest.xml": "ctest", "pytest-python.xml": "pytest python/tests", "pytest-spark.xml": "pytest python/tests/spark"}


def count(root: ET.Element) -> tuple[int, int, int]:
    passed = failed = skipped = 0
    for case in root.iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
        elif case.find("skipped") is not None or case.get("status") in ("notrun", "disabled"):
            skipped += 1
        else:
            passed += 1
    return passed, failed, skipped


FAILURE_LINE = re.compile(r"^(FAIL\b|\s+(command|stderr): |E\s|.*: Failure$|\s*(Expected|Which is|Value of|  Actual)\b)")


def failure_lines(root: ET.Element, per_test: int = 24) -> list[str]:
    """Each failed test's name, then its lines that say why (or its last lines if none do)."""
    out = []
    for case in root.iter("testcase"):
        failure = case.find("failure")
        if failure is None:
            failure = case.find("error")
        if failure is None:
            continue
        text = "\n".join(t for t in (failure.get("message"), failure.text, case.findtext("system-out")) if t)
        lines = text.splitlines()
        why = [line for line in lines if FAILURE_LINE.match(line)] or lines[-per_test:]
        name, cls = case.get("name", ""), case.get("classname", "")
        out.append(f"failed: {name if cls in ('', name) else cls + '.' + name}")
        out += ["  | " + line[:300] for line in why[:per_test]]
    return out


def main() -> int:
    roots = {arg: ET.parse(arg).getroot() for arg in sys.argv[1:] if Path(arg).exists()}
    for root in roots.values():
        for line in failure_lines(root):
            print(line)
    total = [0, 0, 0]
    missing = False
    for arg in sys.argv[1:]:
        path = Path(arg)
        label = LABELS.get(path.name, path.name)
        if not path.exists():
            print(f"  {label}: no results ({path} is missing)")
            missing = True
            continue
        p, f, s = count(roots[arg])
        total = [total[0] + p, total[1] + f, total[2] + s]
        print(f"  {label}: {p} passed, {f} failed, {s} skipped")
    print(f"tests: {total[0]} passed, {total[1]} failed, {total[2]} skipped")
    return 1 if missing or total[1] else 0


if __name__ == "__main__":
    sys.exit(main())
