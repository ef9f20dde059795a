#!/usr/bin/env python3
"""CTranslate2 int8 of a SetFit body: CTranslate2's own Transformers loader, fed without torch.

CTranslate2's converter loads the model with torch (`transformers.AutoModel`); the peers venv
has no torch (NNCF refuses Debian's torch 1.13, and PyPI's torch brings CUDA). So the weights
come from the SetFit folder's `pytorch_model.bin` (or `model.safetensors`) as numpy arrays,
read by a restricted unpickler that knows only tensors and storages, and are handed to
CTranslate2's own loader class for the architecture (BertLoader, ...) as attribute trees; the
spec is then validated, quantized (`int8`: per-row weight scales) and saved as
`ctranslate2.converters.Converter.convert` does. An architecture CTranslate2 has no loader
for (MPNet) exits 3 with the reason. Writes the model folder and a JSON report.
"""
import argparse
import json
import pickle
import sys
import time
import zipfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from peak_memory import peak_rss_bytes  # this script's folder is on sys.path

STORAGE_DTYPES = {"FloatStorage": np.float32, "HalfStorage": np.float16, "DoubleStorage": np.float64,
                  "LongStorage": np.int64, "IntStorage": np.int32, "ByteStorage": np.uint8, "BoolStorage": np.bool_}


class _TorchZipUnpickler(pickle.Unpickler):
    """torch.save's zip format, tensors only: anything but an OrderedDict, a storage type or
    torch._utils._rebuild_tensor_v2 is refused (no code from the file runs)."""

    def __init__(self, file, archive: zipfile.ZipFile, prefix: str):
        super().__init__(file)
        self.archive, self.prefix = archive, prefix

    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            import collections
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if module == "torch" and name in STORAGE_DTYPES:
            return STORAGE_DTYPES[name]
        raise pickle.UnpicklingError(f"refusing {module}.{name} in a weights file")

    def persistent_load(self, pid):
        _, dtype, key, _location, _numel = pid
        return np.frombuffer(self.archive.read(f"{self.prefix}/data/{key}"), dtype=dtype)


def _rebuild_tensor(storage, offset, size, stride, *_):
    itemsize = storage.dtype.itemsize
    view = np.lib.stride_tricks.as_strided(storage[offset:], shape=tuple(size),
                                           strides=tuple(s * itemsize for s in stride))
    return np.array(view)  # a copy: the loader may concatenate and transpose


def read_state_dict(folder: Path) -> dict:
    if (folder / "model.safetensors").is_file():
        from safetensors.numpy import load_file
        return load_file(str(folder / "model.safetensors"))
    with zipfile.ZipFile(folder / "pytorch_model.bin") as archive:
        data_pkl = next(n for n in archive.namelist() if n.endswith("/data.pkl"))
        with archive.open(data_pkl) as f:
            return dict(_TorchZipUnpickler(f, archive, data_pkl.rsplit("/", 1)[0]).load())


def attribute_tree(state: dict, strip_prefix: str):
    """{"encoder.layer.0.attention.self.query.weight": array} -> model.encoder.layer[0]...weight."""
    root: dict = {}
    for key, value in state.items():
        if strip_prefix and key.startswith(strip_prefix):
            key = key[len(strip_prefix):]
        node = root
        *path, leaf = key.split(".")
        for part in path:
            node = node.setdefault(part, {})
        node[leaf] = value

    def build(node):
        if not isinstance(node, dict):
            return node
        if node and all(k.isdigit() for k in node):
            return [build(node[str(i)]) for i in range(len(node))]
        return SimpleNamespace(**{k: build(v) for k, v in node.items()})

    return build(root)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--setfit-folder", required=True, type=Path)
    parser.add_argument("--output", required=True, type=Path, help="CTranslate2 model folder (replaced)")
    parser.add_argument("--report", required=True, type=Path)
    parser.add_argument("--quantization", default="int8")
    args = parser.parse_args()

    started = time.monotonic()
    import ctranslate2
    import transformers
    from ctranslate2.converters import transformers as ct2_transformers

    config = transformers.AutoConfig.from_pretrained(str(args.setfit_folder))
    registered = ct2_transformers._MODEL_LOADERS.get(type(config).__name__)  # an instance per config class
    if registered is None:
        report = {"ok": False, "error": f"CTranslate2 {ctranslate2.__version__} has no loader for "
                                        f"{type(config).__name__} ({config.model_type})"}
        args.report.write_text(json.dumps(report, indent=2) + "\n")
        print(report["error"], file=sys.stderr)
        return 3

    class NumpyLoader(type(registered)):
        def set_linear(self, spec, module, quant_type=None):  # the base class checks transformers.Conv1D (torch)
            spec.weight = module.weight
            if getattr(module, "bias", None) is not None:
                spec.bias = module.bias

    state = read_state_dict(args.setfit_folder)
    prefix = f"{config.model_type}." if any(k.startswith(f"{config.model_type}.") for k in state) else ""
    model = attribute_tree(state, prefix)
    model.config = config
    if not hasattr(model, "pooler"):  # sentence-transformers bodies are saved without BERT's pooler
        hidden = config.hidden_size
        model.pooler = SimpleNamespace(dense=SimpleNamespace(weight=np.zeros((hidden, hidden), np.float32),
                                                             bias=np.zeros(hidden, np.float32)))
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(args.setfit_folder))
    spec = NumpyLoader()(model, tokenizer)
    spec.validate()
    spec.optimize(quantization=args.quantization)
    import shutil
    shutil.rmtree(args.output, ignore_errors=True)
    args.output.mkdir(parents=True)
    spec.save(str(args.output))
    report = {"ok": True, "ctranslate2_version": ctranslate2.__version__, "architecture": type(config).__name__,
              "quantization": args.quantization, "seconds": time.monotonic() - started,
              "peak_rss_bytes": peak_rss_bytes()}
    args.report.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
