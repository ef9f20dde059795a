"""Issue 29 #10: whether a text's answer can depend on the texts batched with it is read off the
graph (Classifier.batch_invariant), never off quantization.json, and batch_size="auto" -- the
Spark UDF's default -- batches 32 texts only with that proof. Real folders: the int8 example
(docquant's per-token recipe), the per-tensor recipe, the same with a quantization.json that
claims per-token, ONNX Runtime's quantize_dynamic (no quantization.json), docquant's static
recipe (calibrated constant scales) and the fp32 export."""
import pytest

import docquant
from folders import lying_folder, ort_dynamic_folder, per_tensor_folder, static_folder
from paths import read_texts


@pytest.fixture(scope="module")
def per_tensor(cli, sst2_fixture, tmp_path_factory):
    return per_tensor_folder(cli, sst2_fixture, tmp_path_factory.mktemp("bi") / "per-tensor")


def test_per_token_and_fp32_graphs_are_proven(int8_folder, sst2_fixture):
    for clf in (docquant.Classifier(int8_folder, batch_size="auto"),
                docquant.Classifier(sst2_fixture / "setfit", onnx_model=sst2_fixture / "onnx" / "model.onnx",
                                    batch_size="auto")):
        assert clf.batch_invariant, clf.batch_invariance_reason
        assert clf.batch_invariance_reason.startswith("proven on the graph's ")
        assert clf.batch_size == 32


def test_static_scales_are_proven(cli, sst2_fixture, data, tmp_path):
    """--approach static: QuantizeLinear with calibrated constants, MatMulIntegerToFloat and
    QAttention reading them; batch 32 gives batch 1's labels on all of sst2_test."""
    folder = static_folder(cli, sst2_fixture, data / "sst2_dev.csv", tmp_path / "static")
    auto = docquant.Classifier(folder, batch_size="auto")
    assert auto.batch_invariant, auto.batch_invariance_reason
    assert auto.batch_size == 32
    texts = read_texts(data / "sst2_test.csv")
    assert auto.predict(texts) == docquant.Classifier(folder, batch_size=1).predict(texts)


def test_per_tensor_graphs_are_not_whatever_their_record_says(per_tensor, sst2_fixture, data, tmp_path):
    folders = {"per_tensor": per_tensor, "lying": lying_folder(per_tensor, tmp_path / "lying"),
               "ort_quantize_dynamic": ort_dynamic_folder(sst2_fixture, tmp_path / "ort")}
    texts = read_texts(data / "sst2_test.csv")
    for name, folder in folders.items():
        auto = docquant.Classifier(folder, batch_size="auto")
        assert not auto.batch_invariant, name
        assert auto.batch_size == 1, name
        reason = auto.batch_invariance_reason
        assert reason.startswith("node '") and "computes one quantization scale over its whole input" in reason, reason
        assert any(op in reason for op in ("(DynamicQuantizeLinear)", "(com.microsoft:DynamicQuantizeMatMul)",
                                           "(com.microsoft:QAttention)")), reason
        # What the proof guards against: at batch 32 some labels differ from batch 1's.
        at_32 = docquant.Classifier(folder, batch_size=32).predict(texts)
        at_1 = auto.predict(texts)
        changed = sum(a != b for a, b in zip(at_32, at_1))
        print(f"{name}: {reason}; batch 32 changes {changed}/{len(texts)} labels of batch 1")
        assert changed > 0
    assert docquant.Classifier(per_tensor, batch_size=8).batch_size == 8  # a number is used as given
