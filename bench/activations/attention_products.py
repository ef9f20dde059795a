#!/usr/bin/env python3
"""Would int8 attention products (Q·Kᵀ and P·V) pay in ONNX Runtime 1.29 on CPU? (issue 26, item 3)

Measured before building anything. One MPNet-base attention (12 heads × 64, the fused graph's
Split outputs Q, K, V [B, S, 768], its [1, 12, S, S] position bias and int32 key mask) as three
graphs, timed in one process, interleaved within every repetition, medians:

  mha        what docquant emits: com.microsoft MultiHeadAttention (fp32 products inside one
             kernel) — the reference
  int8       the products in int8 with stock ops, as batch-invariant as int8 products can be:
             Q per row and K per key token quantized per token and head (uint8 around 128: u8×u8,
             which MLAS sums in int32 on every x86 CPU, so no AVX2 saturation), MatMulInteger on
             the 4-D tensors, Cast, the two scales, the bias and the mask, Softmax; P quantized
             with the static step 1/255 (it lies in [0, 1]), V per channel over the text's
             tokens — after multiplying V by the key mask, or its pad rows would enter the step
             and make a text's answer depend on its batch's padding — MatMulInteger, Cast, scale
  int8_mitf  the same with com.microsoft MatMulIntegerToFloat taking the row and column scales
             (fewer nodes), if ONNX Runtime accepts 4-D per-row/per-column scales

Also reported: each form's max |difference| from mha (the int8 products' own error) and the
share of the whole int8 model's kernel time MultiHeadAttention takes, from an ONNX Runtime
profile of --model at batch 1 and 32 (the most any faster product could save).

    ~/.cache/docquant/venvs/setfit/bin/python bench/activations/attention_products.py \\
        --model OUT/model.onnx --tokenizer OUT/tokenizer.json --texts ../shared/data/sst2_test.csv --reps 7
"""
import argparse
import csv
import json
import os
import platform
import statistics
import sys
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

MS = "com.microsoft"
HEADS, HEAD = 12, 64
HIDDEN = HEADS * HEAD
BATCHES = [(1, 24), (32, 40)]  # (texts, tokens): SST-2's median text and a padded batch of 32


def session(model, threads):
    o = ort.SessionOptions()
    o.intra_op_num_threads = threads
    o.inter_op_num_threads = 1
    return ort.InferenceSession(model.SerializeToString(), o, providers=["CPUExecutionProvider"])


def model_of(nodes, inits, opset=18):  # 18: ReduceMax takes its axes as an input
    inputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ("q", "k", "v", "bias")]
    inputs.append(helper.make_tensor_value_info("mask", TensorProto.INT32, None))
    g = helper.make_graph(nodes, "attention", inputs, [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                          inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset), helper.make_opsetid(MS, 1)])


def const(inits, name, value, dtype=np.float32):
    inits.append(numpy_helper.from_array(np.array(value, dtype), name))
    return name


def mha():
    node = helper.make_node("MultiHeadAttention", ["q", "k", "v", "", "mask", "bias"], ["y"], domain=MS,
                            num_heads=HEADS, mask_filter_value=-3.4028234663852886e38)
    return model_of([node], [])


def per_token(nodes, inits, x, axis, tag):
    """x quantized per slice along `axis`: uint8 values around 128 and the step absmax / 127."""
    nodes += [helper.make_node("Abs", [x], [f"{tag}_abs"]),
              helper.make_node("ReduceMax", [f"{tag}_abs", const(inits, f"{tag}_axes", [axis], np.int64)],
                               [f"{tag}_m"], keepdims=1),
              helper.make_node("Max", [f"{tag}_m", "floor"], [f"{tag}_mf"]),
              helper.make_node("Div", ["levels", f"{tag}_mf"], [f"{tag}_inv"]),
              helper.make_node("Div", [f"{tag}_mf", "levels"], [f"{tag}_step"]),
              helper.make_node("Mul", [x, f"{tag}_inv"], [f"{tag}_scaled"]),
              helper.make_node("QuantizeLinear", [f"{tag}_scaled", "one", "zp128"], [f"{tag}_q"])]
    return f"{tag}_q", f"{tag}_step"


def int8(mitf):
    nodes, inits = [], []
    const(inits, "levels", 127.0)
    const(inits, "floor", 1e-30)
    const(inits, "one", 1.0)
    const(inits, "zp128", 128, np.uint8)
    const(inits, "zp0", 0, np.uint8)
    const(inits, "heads", [0, 0, HEADS, HEAD], np.int64)
    const(inits, "merged", [0, 0, HIDDEN], np.int64)
    const(inits, "scale", 1.0 / np.sqrt(HEAD))
    const(inits, "p_step", 1.0 / 255.0)
    const(inits, "filter", -3.4028234663852886e38)
    const(inits, "mask_axes", [1, 2], np.int64)
    const(inits, "v_mask_axes", [1, 3], np.int64)
    for t, perm in (("q", [0, 2, 1, 3]), ("k", [0, 2, 3, 1]), ("v", [0, 2, 1, 3])):
        nodes += [helper.make_node("Reshape", [t, "heads"], [f"{t}4"]),
                  helper.make_node("Transpose", [f"{t}4"], [f"{t}h"], perm=perm)]
    # The key mask as floats: additive for the scores, multiplicative for V's pad rows.
    nodes += [helper.make_node("Cast", ["mask"], ["maskf"], to=TensorProto.FLOAT),
              helper.make_node("Unsqueeze", ["maskf", "mask_axes"], ["mask4"]),      # [B, 1, 1, S]
              helper.make_node("Sub", ["one", "mask4"], ["unmask"]),
              helper.make_node("Mul", ["unmask", "filter"], ["mask_add"]),
              helper.make_node("Unsqueeze", ["maskf", "v_mask_axes"], ["mask_rows"]),  # [B, 1, S, 1]
              helper.make_node("Mul", ["vh", "mask_rows"], ["v_real"])]
    qq, qs = per_token(nodes, inits, "qh", -1, "qt")     # [B, H, S, 1]
    kq, ks = per_token(nodes, inits, "kh", -2, "kt")     # [B, H, 1, S]: one step per key token
    if mitf:
        nodes.append(helper.make_node("MatMulIntegerToFloat", [qq, kq, qs, ks, "zp128", "zp128"], ["qk"], domain=MS))
    else:
        nodes += [helper.make_node("MatMulInteger", [qq, kq, "zp128", "zp128"], ["qk_i"]),
                  helper.make_node("Cast", ["qk_i"], ["qk_f"], to=TensorProto.FLOAT),
                  helper.make_node("Mul", ["qk_f", qs], ["qk_r"]),
                  helper.make_node("Mul", ["qk_r", ks], ["qk"])]
    nodes += [helper.make_node("Mul", ["qk", "scale"], ["scores"]),
              helper.make_node("Add", ["scores", "bias"], ["biased"]),
              helper.make_node("Add", ["biased", "mask_add"], ["masked"]),
              helper.make_node("Softmax", ["masked"], ["p"], axis=-1),
              helper.make_node("QuantizeLinear", ["p", "p_step", "zp0"], ["pq"])]
    vq, vs = per_token(nodes, inits, "v_real", -2, "vt")  # [B, H, 1, 64]: one step per channel
    if mitf:
        nodes.append(helper.make_node("MatMulIntegerToFloat", ["pq", vq, "p_step", vs, "zp0", "zp128"], ["ctx"],
                                      domain=MS))
    else:
        nodes += [helper.make_node("MatMulInteger", ["pq", vq, "zp0", "zp128"], ["ctx_i"]),
                  helper.make_node("Cast", ["ctx_i"], ["ctx_f"], to=TensorProto.FLOAT),
                  helper.make_node("Mul", ["ctx_f", "p_step"], ["ctx_r"]),
                  helper.make_node("Mul", ["ctx_r", vs], ["ctx"])]
    nodes += [helper.make_node("Transpose", ["ctx"], ["ctx_t"], perm=[0, 2, 1, 3]),
              helper.make_node("Reshape", ["ctx_t", "merged"], ["y"])]
    return model_of(nodes, inits)


def feeds(texts, tokens, rng):
    f = {t: rng.standard_normal((texts, tokens, HIDDEN)).astype(np.float32) for t in ("q", "k", "v")}
    f["bias"] = (rng.standard_normal((1, HEADS, tokens, tokens)) * 2).astype(np.float32)
    lengths = rng.integers(tokens // 3, tokens + 1, size=texts)
    lengths[0] = tokens
    f["mask"] = (np.arange(tokens)[None, :] < lengths[:, None]).astype(np.int32)
    return f


def time_forms(sessions, feed, reps, inner):
    samples = {name: [] for name in sessions}
    for s in sessions.values():
        s.run(None, feed)  # warm-up
    for _ in range(reps):
        for name, s in sessions.items():
            t0 = time.perf_counter()
            for _ in range(inner):
                s.run(None, feed)
            samples[name].append((time.perf_counter() - t0) / inner * 1e3)
    return samples


def profile_share(model_path, tokenizer_path, texts_path, threads, batch):
    """Share of kernel time per op type in the int8 model at `batch`, from ONNX Runtime's profile."""
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(tokenizer_path)
    pad = next(t for t in ("<pad>", "[PAD]") if tok.token_to_id(t) is not None)
    tok.enable_padding(pad_id=tok.token_to_id(pad), pad_token=pad)
    tok.enable_truncation(max_length=512)
    with open(texts_path, newline="", encoding="utf-8") as f:
        texts = [r["text"] for r in csv.DictReader(f)][: max(batch, 64)]
    o = ort.SessionOptions()
    o.intra_op_num_threads = threads
    o.enable_profiling = True
    o.profile_file_prefix = os.path.join(tempfile.mkdtemp(), "profile")
    s = ort.InferenceSession(model_path, o, providers=["CPUExecutionProvider"])
    names = [i.name for i in s.get_inputs()]
    for start in range(0, len(texts) - batch + 1, batch):
        enc = tok.encode_batch(texts[start:start + batch])
        all_ = {"input_ids": np.array([e.ids for e in enc], np.int64),
                "attention_mask": np.array([e.attention_mask for e in enc], np.int64),
                "token_type_ids": np.array([e.type_ids for e in enc], np.int64)}
        s.run(None, {n: all_[n] for n in names})
    with open(s.end_profiling()) as f:
        events = json.load(f)
    per_op = {}
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            op = e["args"]["op_name"]
            per_op[op] = per_op.get(op, 0) + e["dur"]
    total = sum(per_op.values())
    return {op: round(us / total, 4) for op, us in sorted(per_op.items(), key=lambda kv: -kv[1])}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--model", help="an int8 MPNet model.onnx to profile (docquant's output)")
    ap.add_argument("--tokenizer", help="its tokenizer.json")
    ap.add_argument("--texts", help="a CSV with a text column")
    ap.add_argument("--out")
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    forms = {"mha": mha(), "int8": int8(False), "int8_mitf": int8(True)}
    result = {"onnxruntime": ort.__version__, "cpu": platform.processor() or platform.machine(),
              "threads": a.threads, "reps": a.reps, "load_before": os.getloadavg()[0], "batches": []}
    for texts, tokens in BATCHES:
        feed = feeds(texts, tokens, rng)
        sessions, errors = {}, {}
        ref = session(forms["mha"], a.threads).run(None, feed)[0]
        for name, model in forms.items():
            try:
                sessions[name] = session(model, a.threads)
                y = sessions[name].run(None, feed)[0]
                errors[name] = {"max_abs_diff": float(np.abs(y - ref).max()), "max_abs": float(np.abs(ref).max())}
            except Exception as e:  # noqa: BLE001 - a form ONNX Runtime refuses is a finding, reported
                sessions.pop(name, None)
                errors[name] = {"refused": str(e).splitlines()[0][:300]}
        samples = time_forms(sessions, feed, a.reps, inner=200 if texts == 1 else 5)
        med = {n: statistics.median(v) for n, v in samples.items()}
        entry = {"texts": texts, "tokens": tokens, "ms_median": med, "samples_ms": samples, "checks": errors,
                 "vs_mha": {n: round(med["mha"] / m, 3) for n, m in med.items()}}
        result["batches"].append(entry)
        print(f"B={texts} S={tokens}: " + ", ".join(f"{n} {m:.3f} ms ({entry['vs_mha'][n]}x)" for n, m in med.items())
              + "; " + json.dumps(errors), file=sys.stderr)
    if a.model:
        result["profile"] = {str(b): profile_share(a.model, a.tokenizer, a.texts, a.threads, b) for b in (1, 32)}
        for b, shares in result["profile"].items():
            print(f"profile batch {b}: " + ", ".join(f"{op} {s:.1%}" for op, s in list(shares.items())[:8]),
                  file=sys.stderr)
    result["load_after"] = os.getloadavg()[0]
    with open(a.out or "/dev/stdout", "w") as f:
        f.write(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
