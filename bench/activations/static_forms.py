#!/usr/bin/env python3
"""Which ONNX Runtime 1.29 CPU form runs calibrated (static) activation scales fastest (issue 26 item 2).

Rewrites docquant's per-token output of one fixture, whose every quantized tensor T runs
  Abs -> ReduceMax -> Max -> Div -> Mul -> QuantizeLinear(scale 1, zero point 128) -> MatMulIntegerToFloat,
into static forms with one calibrated scale and zero point per tensor (min/max of T over the
first --calibration-rows texts of the calibration CSV, uint8 asymmetric):
  static-mmitf   QuantizeLinear(T, s, z) -> MatMulIntegerToFloat(a_scale s, a_zero_point z): two nodes;
  static-qattn   the same, and each fused attention's MatMulIntegerToFloat + Split + MultiHeadAttention
                 becomes one com.microsoft QAttention with the constant input scale;
(The QDQ format, QuantizeLinear -> DequantizeLinear before an fp32 MatMul, is not among them: a
per-channel DequantizeLinear needs opset 13 and these exports are opset 11, whose Unsqueeze and
Split would have to be rewritten; ONNX Runtime's optimizer turns DQ + MatMul into the same
MatMulIntegerToFloat as static-mmitf anyway.)
Then times them beside the per-token and per-tensor docquant outputs and fp32, in one process,
batch 1 and batch 32 (rounds interleaved, medians), with accuracy and agreement with fp32 on
held-out rows. Run with the peers or setfit venv.
"""
import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))
from fixtures import onnx_eval  # noqa: E402


def chains(model):
    """{T: (chain node indices, quantized output name, floored absmax name)} of the per-token model."""
    nodes = model.graph.node
    producer = {o: i for i, n in enumerate(nodes) for o in n.output}
    found = {}
    for i, n in enumerate(nodes):
        if n.op_type == "QuantizeLinear" and n.input[0].endswith("_token_scaled"):
            mul = producer[n.input[0]]
            div = producer[nodes[mul].input[1]]
            mx = producer[nodes[div].input[1]]
            rmax = producer[nodes[mx].input[0]]
            ab = producer[nodes[rmax].input[0]]
            t = nodes[mul].input[0]
            found[t] = ([ab, rmax, mx, div, mul, i], n.output[0], nodes[mx].output[0])
    return found


def calibrate(model_path, tensors, folder, texts):
    model = onnx.load(model_path)
    for t in tensors:
        model.graph.output.append(helper.make_tensor_value_info(t, onnx.TensorProto.FLOAT, None))
    import onnxruntime as ort
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    lo = {t: 0.0 for t in tensors}
    hi = {t: 0.0 for t in tensors}
    for start in range(0, len(texts), 32):
        feed = folder.tokenize(texts[start:start + 32], names)
        outs = session.run(list(tensors), feed)
        mask = feed["attention_mask"].astype(bool)
        for t, x in zip(tensors, outs):
            real = x[mask]  # padding rows do not count
            lo[t], hi[t] = min(lo[t], float(real.min())), max(hi[t], float(real.max()))
    return lo, hi


def uint8_params(lo, hi):
    scale = np.float32((hi - lo) / 255.0) if hi > lo else np.float32(1.0)
    zero = int(np.clip(np.round(-lo / scale), 0, 255))
    return scale, zero


def rewrite(model_path, form, ranges):
    model = onnx.load(model_path)
    graph = model.graph
    found = chains(model)
    remove, new_inits = set(), []
    replace = {}  # chain index -> new nodes
    for t, (idx, quantized, absmax) in found.items():
        scale, zero = uint8_params(*ranges[t])
        s_name, z_name, a_name = f"{t}_static_scale", f"{t}_static_zero_point", f"{t}_static_a_scale"
        new_inits += [numpy_helper.from_array(np.array(scale, np.float32), s_name),
                      numpy_helper.from_array(np.array(zero, np.uint8), z_name),
                      # b_scale is the per-token weight scale w / 127: a_scale carries the 127 back
                      numpy_helper.from_array(np.array(scale * np.float32(127.0), np.float32), a_name)]
        remove.update(idx[:-1])
        replace[idx[-1]] = [helper.make_node("QuantizeLinear", [t, s_name, z_name], [quantized], name=f"{t}_static_q")]
        for n in graph.node:
            if n.op_type == "MatMulIntegerToFloat" and n.input[0] == quantized:
                n.input[2], n.input[4] = a_name, z_name
    out = []
    for i, n in enumerate(graph.node):
        if i in remove:
            continue
        out.extend(replace.get(i, [n]))
    if form == "static-qattn":
        out = to_qattention(out)
    del graph.node[:]
    graph.node.extend(out)
    graph.initializer.extend(new_inits)
    return model


def to_qattention(nodes):
    by_output = {o: n for n in nodes for o in n.output}
    readers = {}
    for n in nodes:
        for x in n.input:
            readers.setdefault(x, []).append(n)
    drop, result = set(), []
    for n in nodes:
        if n.op_type != "MultiHeadAttention":
            continue
        split = by_output[n.input[0]]
        mm = by_output[split.input[0]]
        a_q, w, a_s, w_s, a_z, w_z = mm.input
        q = helper.make_node("QAttention", [a_q, w, n.input[3], a_s, w_s, n.input[4], a_z, w_z], list(n.output),
                             name=n.name + "_qattention", domain="com.microsoft")
        q.attribute.extend([a for a in n.attribute if a.name == "num_heads"])
        drop.update({id(split), id(mm)})
        n.CopyFrom(q)
    return [n for n in nodes if id(n) not in drop]


def bench(sessions, folder, texts, reps):
    results = {}
    for batch, subset in ((1, texts[:64]), (32, texts[:256])):
        feeds = {n: [folder.tokenize(subset[i:i + batch], [x.name for x in s.get_inputs()])
                     for i in range(0, len(subset), batch)] for n, s in sessions.items()}
        for n, s in sessions.items():
            for f in feeds[n][:2]:
                s.run(None, f)
        samples = {n: [] for n in sessions}
        for _ in range(reps):
            for n, s in sessions.items():
                calls = []
                for f in feeds[n]:
                    t0 = time.perf_counter()
                    s.run(None, f)
                    calls.append(time.perf_counter() - t0)
                samples[n].append(1e3 * statistics.median(calls) if batch == 1 else len(subset) / sum(calls))
        for n in sessions:
            results.setdefault(n, {})[f"b{batch}"] = statistics.median(samples[n])
            results[n][f"b{batch}_samples"] = samples[n]
    return results


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--fixture", required=True, type=Path, help="fixture folder")
    p.add_argument("--per-token", required=True, help="docquant's default output model.onnx")
    p.add_argument("--per-tensor", default=None, help="docquant --activations per_tensor model.onnx")
    p.add_argument("--calibration", required=True)
    p.add_argument("--calibration-rows", type=int, default=872)
    p.add_argument("--eval", required=True)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--work", type=Path, default=Path("/tmp/static-forms"))
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    import onnxruntime as ort

    folder = onnx_eval.SetFitFolder.load(str(args.fixture / "setfit"))
    cal_texts, _ = onnx_eval.load_csv(args.calibration, args.calibration_rows)
    found = chains(onnx.load(args.per_token))
    lo, hi = calibrate(args.per_token, list(found), folder, cal_texts)
    ranges = {t: (lo[t], hi[t]) for t in found}
    args.work.mkdir(parents=True, exist_ok=True)
    paths = {"fp32": str(args.fixture / "onnx" / "model.onnx"), "per-token": args.per_token}
    if args.per_tensor:
        paths["per-tensor"] = args.per_tensor
    for form in ("static-mmitf", "static-qattn"):
        path = args.work / f"{form}.onnx"
        onnx.save(rewrite(args.per_token, form, ranges), str(path))
        paths[form] = str(path)
    sessions = {n: onnx_eval.make_session(path, 2) for n, path in paths.items()}
    texts, labels = onnx_eval.load_csv(args.eval)
    expected = folder.encode_labels(labels)
    result = {"ranges": ranges, "forms": {}}
    reference = None
    for n, s in sessions.items():
        pooled = onnx_eval.embed(s, folder, texts)
        predictions = folder.head.predict(pooled)
        reference = predictions if reference is None else reference
        result["forms"][n] = {"accuracy": float(np.mean(predictions == expected)),
                              "agreement": float(np.mean(predictions == reference)),
                              "nodes": len(onnx.load(paths[n], load_external_data=False).graph.node)}
    for n, r in bench(sessions, folder, texts, args.reps).items():
        result["forms"][n].update(r)
    result["load_average"] = os.getloadavg()
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    for n, r in result["forms"].items():
        print(f"{n:14s} acc {r['accuracy']:.4f} agree {100 * r['agreement']:.2f} %  nodes {r['nodes']:4d}  "
              f"b1 p50 {r['b1']:.2f} ms  b32 {r['b32']:.1f}/s")
    print("load", result["load_average"])


if __name__ == "__main__":
    main()
