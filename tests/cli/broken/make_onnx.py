"""Broken ONNX models for the broken-input suite, made from the real fixture's body.

Usage: make_onnx.py FIXTURE_ONNX_MODEL OUT_DIR [CASE...]
Writes one folder per case under OUT_DIR (each holding model.onnx, plus what the case
needs), and prints nothing. Every variant changes one thing of the real model. With CASE
names, writes only those.
"""
import copy
import os
import sys

import onnx
import onnx.numpy_helper
from onnx import TensorProto, helper


WANTED = set(sys.argv[3:])


def save(model, out_dir, name, **kw):
    if WANTED and name not in WANTED:
        return os.path.join(out_dir, name)
    folder = os.path.join(out_dir, name)
    os.makedirs(folder, exist_ok=True)
    onnx.save(model, os.path.join(folder, "model.onnx"), **kw)
    return folder


def first_matmul_weight(model):
    inits = {t.name for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "MatMul" and node.input[1] in inits:
            return node, node.input[1]
    raise SystemExit("no MatMul with a constant weight in the fixture")


def main(src, out_dir):
    base = onnx.load(src)

    # An initializer a MatMul reads is gone (a model cut out of a bigger one).
    m = copy.deepcopy(base)
    node, weight = first_matmul_weight(m)
    kept = [t for t in m.graph.initializer if t.name != weight]
    del m.graph.initializer[:]
    m.graph.initializer.extend(kept)
    save(m, out_dir, "missing_initializer")
    if not WANTED or "missing_initializer" in WANTED:
        with open(os.path.join(out_dir, "missing_initializer", "names"), "w") as f:
            f.write(f"{node.name}\n{weight}\n")

    # Weights in an external file that is not there.
    m = copy.deepcopy(base)
    folder = save(m, out_dir, "external_missing", save_as_external_data=True, all_tensors_to_one_file=True,
                  location="weights.bin", size_threshold=1024)
    if os.path.exists(os.path.join(folder, "weights.bin")):
        os.remove(os.path.join(folder, "weights.bin"))

    # External data pointing outside the model's folder.
    m = copy.deepcopy(base)
    t = next(t for t in m.graph.initializer if t.name == "embeddings.word_embeddings.weight")
    t.ClearField("raw_data")
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", "../../outside.bin"), ("offset", "0"), ("length", "4")):
        e = t.external_data.add()
        e.key, e.value = k, v
    save(m, out_dir, "external_escape")

    # External data whose length claims a petabyte.
    m = copy.deepcopy(base)
    folder = save(m, out_dir, "external_huge", save_as_external_data=True, all_tensors_to_one_file=True,
                  location="weights.bin", size_threshold=1024)
    if os.path.exists(os.path.join(folder, "model.onnx")):
        m = onnx.load(os.path.join(folder, "model.onnx"), load_external_data=False)
        t = next(t for t in m.graph.initializer if t.name == "embeddings.word_embeddings.weight")
        for e in t.external_data:
            if e.key == "length":
                e.value = str(1 << 50)
        onnx.save(m, os.path.join(folder, "model.onnx"))

    # One initializer as external data in bias.bin, which inputs.sh makes a symlink to a
    # file outside the folder (issue 20 item 1: its bytes must never reach the output).
    m = copy.deepcopy(base)
    t = next(t for t in m.graph.initializer if t.name == "embeddings.LayerNorm.bias")
    raw = t.raw_data or onnx.numpy_helper.to_array(t).tobytes()
    t.ClearField("raw_data")
    t.ClearField("float_data")
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", "bias.bin"), ("offset", "0"), ("length", str(len(raw)))):
        e = t.external_data.add()
        e.key, e.value = k, v
    save(m, out_dir, "external_symlink")

    # A NaN in the embeddings' LayerNorm bias: every output is NaN (issue 20 item 6).
    m = copy.deepcopy(base)
    t = next(t for t in m.graph.initializer if t.name == "embeddings.LayerNorm.bias")
    a = onnx.numpy_helper.to_array(t).copy()
    a[7] = float("nan")
    t.CopyFrom(onnx.numpy_helper.from_array(a, t.name))
    save(m, out_dir, "nan_output")

    # IR version and opset newer than anything released.
    m = copy.deepcopy(base)
    m.ir_version = 99
    save(m, out_dir, "ir_too_new")
    m = copy.deepcopy(base)
    for o in m.opset_import:
        if o.domain in ("", "ai.onnx"):
            o.version = 99
    save(m, out_dir, "opset_too_new")

    # Absurd dims: the embedding table claims 2^40 rows (its data holds 30522).
    m = copy.deepcopy(base)
    t = next(t for t in m.graph.initializer if t.name == "embeddings.word_embeddings.weight")
    t.dims[0] = 1 << 40
    save(m, out_dir, "absurd_initializer_dims")
    # ...and a 2^62 x 2^62 input.
    m = copy.deepcopy(base)
    for d in m.graph.input[0].type.tensor_type.shape.dim:
        d.dim_value = 1 << 62
    save(m, out_dir, "absurd_input_dims")
    # ...and a negative dim.
    m = copy.deepcopy(base)
    t = next(t for t in m.graph.initializer if t.name == "embeddings.word_embeddings.weight")
    t.dims[1] = -384
    save(m, out_dir, "negative_dims")

    # An image model: pixel_values -> Flatten -> MatMul -> logits, no text input.
    w = helper.make_tensor("w", TensorProto.FLOAT, [3 * 8 * 8, 2], [0.01] * (3 * 8 * 8 * 2))
    g = helper.make_graph(
        [helper.make_node("Flatten", ["pixel_values"], ["flat"], name="flatten"),
         helper.make_node("MatMul", ["flat", "w"], ["logits"], name="classifier")],
        "image_classifier",
        [helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT, ["batch", 3, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 2])],
        [w])
    save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 14)], ir_version=8), out_dir, "image_model")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
