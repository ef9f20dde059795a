"""The engines the peer harness runs a body with, behind one call: token ids in, last_hidden_state out.

Every engine is given the same padded numpy batches (the SetFit folder's tokenizer, as
onnx_eval tokenizes them); pooling and the head are the harness's, so only the body differs.
  onnxruntime  an .onnx file, ONNX Runtime's CPU provider (docquant's runtime);
  openvino     an OpenVINO IR (.xml) on OpenVINO's CPU plugin, with INFERENCE_PRECISION_HINT
               f32 or bf16 (what the plugin runs the non-int8 parts in; its default on CPUs
               with AVX-512 BF16 is bf16);
  ctranslate2  a CTranslate2 model folder, compute_type int8.
Each is pinned to `threads` intra-op threads and one stream. openvino and ctranslate2 are
imported only when used (the peers venv has them; the setfit venv does not).
"""
from dataclasses import dataclass

import numpy as np


@dataclass
class Engine:
    kind: str                 # onnxruntime | openvino | ctranslate2
    path: str
    precision: str = ""       # openvino: f32 | bf16

    def open(self, threads: int) -> "Runner":
        if self.kind == "onnxruntime":
            return OrtRunner(self.path, threads)
        if self.kind == "openvino":
            return OpenVinoRunner(self.path, threads, self.precision)
        if self.kind == "ctranslate2":
            return Ct2Runner(self.path, threads)
        raise ValueError(f"unknown engine kind {self.kind!r}")


class Runner:
    input_names: list

    def hidden(self, feed: dict) -> np.ndarray:
        raise NotImplementedError


class OrtRunner(Runner):
    def __init__(self, path: str, threads: int):
        from fixtures import onnx_eval
        self.session = onnx_eval.make_session(path, threads)
        self.input_names = [i.name for i in self.session.get_inputs()]

    def hidden(self, feed):
        return self.session.run(None, feed)[0]


class OpenVinoRunner(Runner):
    def __init__(self, path: str, threads: int, precision: str):
        import openvino as ov
        core = ov.Core()
        self.compiled = core.compile_model(path, "CPU", {
            "INFERENCE_NUM_THREADS": threads, "NUM_STREAMS": 1, "PERFORMANCE_HINT": "LATENCY",
            "INFERENCE_PRECISION_HINT": precision})
        self.request = self.compiled.create_infer_request()
        self.output = self.compiled.output(0)
        self.input_names = [port.get_any_name() for port in self.compiled.inputs]

    def hidden(self, feed):
        return self.request.infer(feed)[self.output]


class Ct2Runner(Runner):
    input_names = ["input_ids", "attention_mask", "token_type_ids"]

    def __init__(self, path: str, threads: int):
        import ctranslate2
        self.ct2 = ctranslate2
        self.encoder = ctranslate2.Encoder(path, device="cpu", compute_type="int8", intra_threads=threads,
                                           inter_threads=1)

    def hidden(self, feed):
        lengths = feed["attention_mask"].sum(axis=1).astype(np.int32)
        ids = self.ct2.StorageView.from_array(np.ascontiguousarray(feed["input_ids"], dtype=np.int32))
        out = self.encoder.forward_batch(ids, self.ct2.StorageView.from_array(lengths),
                                         token_type_ids=feed["token_type_ids"].tolist())
        return np.array(out.last_hidden_state)


def engine_of(variant: dict) -> Engine:
    """A variant's engine (ONNX Runtime unless it says otherwise)."""
    return Engine(variant.get("engine", "onnxruntime"), variant["path"], variant.get("precision", ""))
