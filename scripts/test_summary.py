#!/usr/bin/env python3
"""Counts the tests of one scripts/test.sh run from the JUnit files it leaves, one line per
runner, then the total as the closing line (`tests: N passed, N failed, N skipped`), which
.ci/run prints again last so that the CI output ends with every runner's count in it.

Usage: scripts/test_summary.py JUNIT.xml...   (missing files are reported as missing)"""
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

LABELS = {"ctest.xml": "ctest", "pytest-python.xml": "pytest python/tests", "pytest-spark.xml": "pytest python/tests/spark"}


def count(path: Path) -> tuple[int, int, int]:
    passed = failed = skipped = 0
    for case in ET.parse(path).getroot().iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
        elif case.find("skipped") is not None or case.get("status") in ("notrun", "disabled"):
            skipped += 1
        else:
            passed += 1
    return passed, failed, skipped


def main() -> int:
    total = [0, 0, 0]
    missing = False
    for arg in sys.argv[1:]:
        path = Path(arg)
        label = LABELS.get(path.name, path.name)
        if not path.exists():
            print(f"  {label}: no results ({path} is missing)")
            missing = True
            continue
        p, f, s = count(path)
        total = [total[0] + p, total[1] + f, total[2] + s]
        print(f"  {label}: {p} passed, {f} failed, {s} skipped")
    print(f"tests: {total[0]} passed, {total[1]} failed, {total[2]} skipped")
    return 1 if missing or total[1] else 0


if __name__ == "__main__":
    sys.exit(main())
