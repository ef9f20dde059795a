"""Fails when a user-facing throw site's message is missing from docs/errors.md.

For each `throw InputError/OutputError/UsageError/CriterionNotMetError/Error(...)` in
src/**/*.cc, the longest literal piece of its message (split at format placeholders and
string joins) must appear in docs/errors.md. Internal errors (exit 70) are listed there by
family and not checked one by one. Usage: error_catalogue.py REPO
"""
import glob
import os
import re
import sys

KINDS = ("InputError", "OutputError", "UsageError", "CriterionNotMetError", "Error")


def throw_sites(text):
    for m in re.finditer(r"throw\s+(%s)\s*\(" % "|".join(KINDS), text):
        depth, j = 1, m.end()
        while depth and j < len(text):
            depth += {"(": 1, ")": -1}.get(text[j], 0)
            j += 1
        yield text[: m.start()].count("\n") + 1, text[m.end(): j - 1]


def key_piece(call):
    pieces = []
    for literal in re.findall(r'"((?:[^"\\]|\\.)*)"', call):
        literal = literal.replace('\\"', '"').replace("\\n", " ")
        pieces += re.split(r"\{[^}]*\}", literal)
    pieces = [p.strip(" :;,.'(") for p in pieces]
    return max(pieces, key=len, default="")


def main(repo):
    catalogue = " ".join(open(os.path.join(repo, "docs", "errors.md"), encoding="utf-8").read().split())
    missing = []
    for path in sorted(glob.glob(os.path.join(repo, "src", "**", "*.cc"), recursive=True)):
        text = open(path, encoding="utf-8").read()
        for line, call in throw_sites(text):
            piece = " ".join(key_piece(call).split())
            if len(piece) < 8:
                continue  # a message built elsewhere (e.g. wrapping another error's text)
            if piece not in catalogue:
                missing.append(f"{os.path.relpath(path, repo)}:{line}: '{piece}'")
    for m in missing:
        print("not in docs/errors.md:", m)
    print(f"{len(missing)} throw sites missing from docs/errors.md")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
