#!/usr/bin/env python3
"""Which graph form of a per-token int8 MatMul is fastest in ONNX Runtime (issue 14).

One MatMul [B, S, K] x [K, N] on MiniLM/MPNet shapes, each form a small ONNX graph, timed in
one process with the same intra-op threads, the forms interleaved within every repetition
(the machine is shared: ratios, not absolute times). Forms:

  per_tensor     com.microsoft DynamicQuantizeMatMul, per-column int8 weight (the reference)
  fp32           MatMul
  chain_row      the default per-token recipe: Abs, ReduceMax, Max(floor), Div, Div, Mul,
                 QuantizeLinear(1, 128), MatMulIntegerToFloat with a_scale [B, S, 1]
  chain_scalar   the same chain but a scalar a_scale (wrong numbers: it only isolates what
                 MatMulIntegerToFloat's own per-row output scaling costs)
  chain_mul      the chain, MatMulIntegerToFloat with a_scale = 1 (scalar), then one Mul by
                 the [B, S, 1] scale (the same float operations, in a node of its own)
  chain_integer  the chain, MatMulInteger, Cast, Mul by the per-column scale, Mul by the row's
                 scale
  chain_fold     the same integers with one [B, S, 1] node less: a_scale is the floored absmax
                 m and the 1/127 of the step m / 127 is in the constant weight scale (what
                 docquant emits since issue 14's speed round)
  chain_minmax   chain_fold with m = Max(ReduceMax(x), Neg(ReduceMin(x)), floor): two reads of x
                 instead of Abs (a read and a write) + ReduceMax, one node more
  nbits8         com.microsoft MatMulNBits, bits=8, block_size 128, accuracy_level 4: one node
                 that quantizes each row's 128-wide blocks of x to int8 itself (finer than per
                 token, and a row's result depends on that row alone), the same int8 weights
                 with their column scale in every block (not the chain's numbers: a different
                 activation rounding; the check reports how far)

Before the GEMM shapes, a probe graph (ReduceMax, then eight Mul nodes on [B, S, 1]) against
one without the Muls gives what one small node costs.

Every form's output is checked against chain_row's (bit-identical for chain_mul and
chain_integer, within float rounding, ~1e-7 relative, for chain_fold and chain_minmax). Writes JSON to stdout or --out. Standard library + numpy, onnx,
onnxruntime (the setfit venv has ONNX Runtime 1.29.0).

    ~/.cache/docquant/venvs/setfit/bin/python bench/activations/per_token_forms.py --reps 7
"""
import argparse
import json
import os
import platform
import statistics
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

MS = "com.microsoft"
SHAPES = [(384, 384), (384, 1536), (1536, 384), (768, 3072), (3072, 768)]  # K x N
BATCHES = [(1, 24), (32, 40)]  # (texts, tokens)


def weights(k, n, rng):
    w = rng.integers(-63, 64, size=(k, n), dtype=np.int8)  # 7-bit weights, as docquant's AVX2-safe default
    s = (rng.random(n, dtype=np.float32) * 0.01 + 0.001).astype(np.float32)
    return w, s


def chain(nodes, inits, x="x"):
    """The default recipe's per-token quantization of x: values q, row scale s."""
    inits += [numpy_helper.from_array(np.array(127.0, np.float32), "levels"),
              numpy_helper.from_array(np.array(1e-30, np.float32), "floor"),
              numpy_helper.from_array(np.array(1.0, np.float32), "one"),
              numpy_helper.from_array(np.array(128, np.uint8), "zp128"),
              numpy_helper.from_array(np.array([-1], np.int64), "axes")]
    nodes += [helper.make_node("Abs", [x], ["abs"]),
              helper.make_node("ReduceMax", ["abs", "axes"], ["absmax"], keepdims=1),
              helper.make_node("Max", ["absmax", "floor"], ["floored"]),
              helper.make_node("Div", ["floored", "levels"], ["s"]),
              helper.make_node("Div", ["levels", "floored"], ["inv"]),
              helper.make_node("Mul", [x, "inv"], ["scaled"]),
              helper.make_node("QuantizeLinear", ["scaled", "one", "zp128"], ["q"])]
    return "q", "s"


def build(form, k, n, w, ws):
    nodes, inits = [], [numpy_helper.from_array(w, "w"), numpy_helper.from_array(ws, "ws"),
                        numpy_helper.from_array(np.zeros(n, np.int8), "wz")]
    if form == "per_tensor":
        nodes.append(helper.make_node("DynamicQuantizeMatMul", ["x", "w", "ws", "wz"], ["y"], domain=MS))
    elif form == "fp32":
        inits.append(numpy_helper.from_array((w.astype(np.float32) * ws), "wf"))
        nodes.append(helper.make_node("MatMul", ["x", "wf"], ["y"]))
    elif form in ("chain_row", "chain_scalar", "chain_mul"):
        q, s = chain(nodes, inits)
        a_scale = {"chain_row": s, "chain_scalar": "one", "chain_mul": "one"}[form]
        out = "y" if form != "chain_mul" else "y_unscaled"
        nodes.append(helper.make_node("MatMulIntegerToFloat", [q, "w", a_scale, "ws", "zp128", "wz"], [out], domain=MS))
        if form == "chain_mul":
            nodes.append(helper.make_node("Mul", ["y_unscaled", s], ["y"]))
    elif form in ("chain_fold", "chain_minmax"):
        # The same integers with fewer [B, S, 1] nodes: a_scale is the floored absmax m itself and
        # 1/127 moves into the constant weight scale. chain_minmax also finds m as
        # max(ReduceMax(x), -ReduceMin(x), floor) (two reads) instead of Abs (a write) + ReduceMax.
        chain(nodes, inits)
        if form == "chain_minmax":
            nodes[:3] = [helper.make_node("ReduceMax", ["x", "axes"], ["rmax"], keepdims=1),
                         helper.make_node("ReduceMin", ["x", "axes"], ["rmin"], keepdims=1),
                         helper.make_node("Neg", ["rmin"], ["neg_rmin"]),
                         helper.make_node("Max", ["rmax", "neg_rmin", "floor"], ["floored"])]
        nodes[:] = [nd for nd in nodes if nd.output[0] != "s"]
        inits.append(numpy_helper.from_array((ws / np.float32(127.0)).astype(np.float32), "ws_token"))
        nodes.append(helper.make_node("MatMulIntegerToFloat", ["q", "w", "floored", "ws_token", "zp128", "wz"], ["y"],
                                      domain=MS))
    elif form == "nbits8":
        block = 128
        kb = k // block
        packed = (w.T.astype(np.int16) + 128).astype(np.uint8).reshape(n, kb, block)  # [N, blocks, blob]
        inits = [numpy_helper.from_array(packed, "wq"),
                 numpy_helper.from_array(np.repeat(ws, kb).astype(np.float32), "wsb")]
        nodes.append(helper.make_node("MatMulNBits", ["x", "wq", "wsb"], ["y"], domain=MS, K=k, N=n, bits=8,
                                      block_size=block, accuracy_level=4))
    elif form == "chain_integer":
        q, s = chain(nodes, inits)
        nodes += [helper.make_node("MatMulInteger", [q, "w", "zp128", "wz"], ["i32"]),
                  helper.make_node("Cast", ["i32"], ["f"], to=TensorProto.FLOAT),
                  helper.make_node("Mul", ["f", "ws"], ["fc"]),
                  helper.make_node("Mul", ["fc", s], ["y"])]
    elif form == "tiny_ops":  # eight [B, S, 1] nodes after one reduction: per-node overhead
        inits.append(numpy_helper.from_array(np.array([-1], np.int64), "axes"))
        inits.append(numpy_helper.from_array(np.array(1.5, np.float32), "c"))  # not 1: ORT removes a Mul by 1
        nodes.append(helper.make_node("ReduceMax", ["x", "axes"], ["t0"], keepdims=1))
        for i in range(8):
            nodes.append(helper.make_node("Mul", [f"t{i}", "c"], [f"t{i + 1}"]))
        nodes.append(helper.make_node("Identity", ["t8"], ["y"]))
    elif form == "tiny_ops_1":
        inits.append(numpy_helper.from_array(np.array([-1], np.int64), "axes"))
        nodes.append(helper.make_node("ReduceMax", ["x", "axes"], ["t0"], keepdims=1))
        nodes.append(helper.make_node("Identity", ["t0"], ["y"]))
    else:
        raise ValueError(form)
    graph = helper.make_graph(nodes, form, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, None, k])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18), helper.make_opsetid(MS, 1)])
    model.ir_version = 9
    return model.SerializeToString()


def session(model, threads):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3  # the probes' unused initializers are on purpose
    return ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])


def time_once(sess, feed, iters):
    sess.run(None, feed)
    samples = []
    for _ in range(iters):
        t = time.perf_counter()
        sess.run(None, feed)
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


FORMS = ["per_tensor", "fp32", "chain_row", "chain_scalar", "chain_mul", "chain_integer", "chain_fold", "chain_minmax",
         "nbits8"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=5, help="interleaved repetitions (medians over them)")
    ap.add_argument("--iters", type=int, default=0, help="runs per timing (0: 200 at batch 1, 20 at batch 32)")
    ap.add_argument("--out")
    args = ap.parse_args()
    rng = np.random.default_rng(14)
    results = []
    for (b, s) in BATCHES:
        iters = args.iters or (200 if b == 1 else 20)
        # the per-node probe, batch-sized like the chain's [B, S, 1] tensors
        x384 = rng.standard_normal((b, s, 384), dtype=np.float32)
        probes = {f: session(build(f, 384, 384, *weights(384, 384, rng)), args.threads) for f in ("tiny_ops", "tiny_ops_1")}
        pt = {f: [] for f in probes}
        for _ in range(args.reps):
            for f, sess in probes.items():
                pt[f].append(time_once(sess, {"x": x384}, iters))
        per_node_us = (statistics.median(pt["tiny_ops"]) - statistics.median(pt["tiny_ops_1"])) / 8 * 1e6
        results.append({"batch": b, "tokens": s, "per_node_overhead_us": round(per_node_us, 2)})
        print(f"B={b} S={s}: one [B,S,1] Mul node costs {per_node_us:.2f} us", file=sys.stderr)
        for (k, n) in SHAPES:
            w, ws = weights(k, n, rng)
            x = rng.standard_normal((b, s, k), dtype=np.float32)
            x[..., 3] *= 20.0  # one outlier channel, as real activations have
            sessions = {f: session(build(f, k, n, w, ws), args.threads) for f in FORMS}
            outs = {f: sess.run(None, {"x": x})[0] for f, sess in sessions.items()}
            ref = outs["chain_row"]
            check = {f: float(np.max(np.abs(outs[f] - ref)) / np.max(np.abs(ref)))
                     for f in ("chain_mul", "chain_integer", "chain_fold", "chain_minmax", "nbits8")}
            assert check["chain_mul"] == 0.0, "chain_mul must be bit-identical to chain_row"
            times = {f: [] for f in FORMS}
            for rep in range(args.reps):
                order = FORMS[rep % len(FORMS):] + FORMS[:rep % len(FORMS)]  # rotate who goes first
                for f in order:
                    times[f].append(time_once(sessions[f], {"x": x}, iters))
            med = {f: statistics.median(t) for f, t in times.items()}
            row = {"batch": b, "tokens": s, "K": k, "N": n,
                   "median_us": {f: round(v * 1e6, 1) for f, v in med.items()},
                   "per_tensor_time_over": {f: round(med[f] / med["per_tensor"], 3) for f in FORMS},
                   "max_rel_diff_vs_chain_row": check}
            results.append(row)
            print(f"B={b} S={s} {k}x{n}: " + "  ".join(f"{f} {row['per_tensor_time_over'][f]:.2f}" for f in FORMS),
                  file=sys.stderr)
    report = {"onnxruntime": ort.__version__, "threads": args.threads, "reps": args.reps,
              "cpu": platform.processor() or platform.machine(), "load": os.getloadavg(), "results": results}
    text = json.dumps(report, indent=1)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
