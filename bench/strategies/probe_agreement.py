#!/usr/bin/env python3
"""How well two sensitivity probes agree: Spearman's rank correlation of the per-node
scores two `docquant quantize` runs recorded (quantization.json, nodes[].sensitivity),
and the top of each ranking.

  python3 bench/strategies/probe_agreement.py local/quantization.json isolated/quantization.json
"""
import json
import sys


def scores(path):
    nodes = json.load(open(path))["nodes"]
    return {n["node"]: n["sensitivity"] for n in nodes if "sensitivity" in n}


def ranks(score, names):
    # Most sensitive first; ties keep graph order, as the strategy's own order does not
    # matter for a correlation of distinct scores.
    order = sorted(names, key=lambda n: -score[n])
    return {n: i for i, n in enumerate(order)}


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    a, b = scores(sys.argv[1]), scores(sys.argv[2])
    names = [n for n in a if n in b]
    if len(names) < 2:
        sys.exit("fewer than two nodes carry a sensitivity score in both files")
    ra, rb = ranks(a, names), ranks(b, names)
    n = len(names)
    d2 = sum((ra[x] - rb[x]) ** 2 for x in names)
    print(f"nodes {n}; Spearman {1 - 6 * d2 / (n * (n * n - 1)):.3f}")
    for k in (1, 3, 5, 10):
        top_a = {x for x in names if ra[x] < k}
        top_b = {x for x in names if rb[x] < k}
        print(f"top {k:2d}: {len(top_a & top_b)} in common")
    print(f"\n{'rank B':>6} {'rank A':>6}  node (ordered by B)")
    for x in sorted(names, key=lambda x: rb[x])[:10]:
        print(f"{rb[x] + 1:>6} {ra[x] + 1:>6}  {x}")


if __name__ == "__main__":
    main()
