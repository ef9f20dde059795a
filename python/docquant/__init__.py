"""docquant: quantize SetFit text classifiers to dynamic INT8 and classify texts with them.

    import docquant
    report = docquant.quantize("fp32/onnx", "fp32/setfit", "dev.csv", "out")
    clf = docquant.Classifier("out")
    clf.predict(["a great movie", "a dull mess"])        # ['1', '0']
    clf.predict_proba(["a great movie"])                  # float64 [1, 2]

The C++ core of the `docquant` CLI (which ships with this package as the `docquant`
command) runs every call, with the GIL released. docs/python.md has the whole guide.
"""
from . import _core
from ._classifier import CHUNK_SIZE, Classifier
from ._errors import (CriterionNotMetError, Error, InputError, InternalError, Interrupted, OutputError,
                      UsageError)
from ._quantize import quantize
from ._tokenize import tokenize

__version__: str = _core.__version__
#: The ONNX Runtime release inside the package, and the commit the core was built from.
onnxruntime_version: str = _core.onnxruntime_version
git_commit: str = _core.git_commit

__all__ = ["Classifier", "quantize", "tokenize", "CHUNK_SIZE", "Error", "UsageError", "InputError", "OutputError",
           "CriterionNotMetError", "Interrupted", "InternalError", "__version__", "onnxruntime_version",
           "git_commit"]
