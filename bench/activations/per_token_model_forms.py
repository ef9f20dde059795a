#!/usr/bin/env python3
"""Whole-model check of per-token graph forms (issue 14): rewrite a docquant per-token
model.onnx into candidate forms and time them beside the per-tensor output, interleaved in
one process (ONNX Runtime, 2 intra-op threads), at batch 1 x 24 tokens and 32 x 40 tokens.

Forms written from the per-token model (--token, as docquant quantize wrote it before the
fold below, e.g. main's 64d74dc):
  minmax  Abs + ReduceMax -> ReduceMax, ReduceMin, Neg and a three-input Max with the floor
          (the same absmax: one read of x more, one write of x less)
  fold    MatMulIntegerToFloat's a_scale is the floored absmax, the weight scale is divided
          by 127 (drops the Div that formed m / 127: one node per quantized tensor)
  split3  the Q/K/V GEMM + Split -> three MatMulIntegerToFloat (no Split copy, 2 more GEMMs)
and their combinations (letters joined: "minmax+fold"). Timing: median over --reps
repetitions of each model's median run time; the models rotate who goes first. Ratios are
speeds relative to the first model (--tensor). Token ids are random: the lengths matter,
not the words. Needs numpy, onnx, onnxruntime (the setfit venv).

    ~/.cache/docquant/venvs/setfit/bin/python bench/activations/per_token_model_forms.py \\
        --tensor per_tensor_out/model.onnx --token per_token_out/model.onnx --reps 11
"""
import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper


def producers_consumers(g):
    prod = {o: n for n in g.node for o in n.output}
    cons = {}
    for n in g.node:
        for i in n.input:
            cons.setdefault(i, []).append(n)
    return prod, cons, {t.name: t for t in g.initializer}


def minmax(m):
    g = m.graph
    prod, cons, _ = producers_consumers(g)
    nodes = []
    for n in g.node:
        if n.op_type == "Abs":
            continue
        if n.op_type == "ReduceMax" and n.input[0] in prod and prod[n.input[0]].op_type == "Abs":
            x, o = prod[n.input[0]].input[0], n.output[0]
            nodes += [helper.make_node("ReduceMax", [x], [o + "_rmax"], axes=[-1], keepdims=1),
                      helper.make_node("ReduceMin", [x], [o + "_rmin"], axes=[-1], keepdims=1),
                      helper.make_node("Neg", [o + "_rmin"], [o + "_negmin"])]
            floor = next(c for c in cons[o] if c.op_type == "Max")
            floor.input[:] = [o + "_rmax", o + "_negmin"] + [i for i in floor.input if i != o]
            continue
        nodes.append(n)
    del g.node[:]
    g.node.extend(nodes)


def fold(m):
    g = m.graph
    prod, _, inits = producers_consumers(g)
    dropped = set()
    for n in g.node:
        if n.op_type != "MatMulIntegerToFloat" or prod[n.input[2]].op_type != "Div":
            continue
        div = prod[n.input[2]]
        n.input[2] = div.input[0]
        dropped.add(div.output[0])
        name = n.input[3] + "_over_127"
        if name not in inits:
            ws = numpy_helper.to_array(inits[n.input[3]])
            inits[name] = numpy_helper.from_array((ws / np.float32(127.0)).astype(np.float32), name)
            g.initializer.append(inits[name])
        n.input[3] = name
    if not dropped:
        raise SystemExit("fold: no a_scale made by a Div (is --token already the folded form?)")
    nodes = [n for n in g.node if not (n.op_type == "Div" and n.output[0] in dropped)]
    del g.node[:]
    g.node.extend(nodes)


def split3(m):
    g = m.graph
    _, cons, inits = producers_consumers(g)
    nodes = []
    for n in g.node:
        if n.op_type == "Split":
            continue
        users = cons.get(n.output[0], [])
        if n.op_type == "MatMulIntegerToFloat" and users and users[0].op_type == "Split":
            w, s, z = (numpy_helper.to_array(inits[n.input[i]]) for i in (1, 3, 5))
            h = w.shape[1] // 3
            for i, out in enumerate(users[0].output):
                part = slice(i * h, (i + 1) * h)
                names = [f"{n.name}_{i}_{k}" for k in ("w", "s", "z")]
                for nm, arr in zip(names, (w[:, part], s[part], z[part])):
                    g.initializer.append(numpy_helper.from_array(np.ascontiguousarray(arr), nm))
                nodes.append(helper.make_node("MatMulIntegerToFloat", [n.input[0], names[0], n.input[2], names[1],
                                                                       n.input[4], names[2]], [out],
                                              name=f"{n.name}_{i}", domain="com.microsoft"))
            continue
        nodes.append(n)
    del g.node[:]
    g.node.extend(nodes)


REWRITES = {"minmax": minmax, "fold": fold, "split3": split3}


def session(path, threads):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tensor", required=True, help="per-tensor model.onnx (the reference)")
    ap.add_argument("--token", required=True, help="per-token model.onnx as docquant wrote it")
    ap.add_argument("--forms", default="minmax,fold,split3,minmax+fold")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=11)
    ap.add_argument("--out")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        paths = {"per_tensor": Path(args.tensor), "per_token": Path(args.token)}
        for form in args.forms.split(","):
            m = onnx.load(args.token)
            for step in form.split("+"):
                REWRITES[step](m)
            paths[form] = Path(tmp) / f"{form}.onnx"
            onnx.save(m, paths[form])
        sessions = {k: session(p, args.threads) for k, p in paths.items()}
        names = list(sessions)
        report = {"threads": args.threads, "reps": args.reps, "onnxruntime": ort.__version__, "batches": []}
        for b, s, iters in [(1, 24, 100), (32, 40, 4)]:
            feed = {"input_ids": rng.integers(1000, 5000, (b, s)).astype(np.int64),
                    "attention_mask": np.ones((b, s), np.int64), "token_type_ids": np.zeros((b, s), np.int64)}
            times = {k: [] for k in names}
            for rep in range(args.reps):
                for k in names[rep % len(names):] + names[:rep % len(names)]:
                    sess = sessions[k]
                    f = {n: v for n, v in feed.items() if n in {i.name for i in sess.get_inputs()}}
                    sess.run(None, f)
                    xs = []
                    for _ in range(iters):
                        t = time.perf_counter()
                        sess.run(None, f)
                        xs.append(time.perf_counter() - t)
                    times[k].append(statistics.median(xs))
            med = {k: statistics.median(v) for k, v in times.items()}
            row = {"batch": b, "tokens": s, "median_ms": {k: round(v * 1e3, 3) for k, v in med.items()},
                   "speed_vs_per_tensor": {k: round(med["per_tensor"] / v, 3) for k, v in med.items()}}
            report["batches"].append(row)
            print(f"B={b} S={s}: " + "  ".join(f"{k} {v:.3f}" for k, v in row["speed_vs_per_tensor"].items()),
                  file=sys.stderr)
    text = json.dumps(report, indent=1)
    if args.out:
        Path(args.out).write_text(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
