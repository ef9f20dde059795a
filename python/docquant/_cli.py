"""The `docquant` console script: runs the C++ docquant CLI shipped in the package
(docquant/_bin/docquant), in place of this Python process, so that its options, output,
exit codes and signal handling are exactly the CLI's (docs/python.md says why)."""
import os
import sys


def main() -> None:
    binary = os.path.join(os.path.dirname(__file__), "_bin", "docquant")
    os.execv(binary, ["docquant", *sys.argv[1:]])


if __name__ == "__main__":
    main()
