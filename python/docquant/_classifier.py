"""docquant.Classifier: a model folder in, labels and class probabilities out."""
from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Iterator
from typing import Literal, overload

import numpy as np

from . import _core, _errors
from ._paths import PathLike, fs_path
from ._texts import Texts, as_text_list, check_many

#: Texts the C++ core tokenizes, length-sorts and batches together (docs/classify.md);
#: predict_iter's default, so that a stream is batched exactly as `docquant classify` batches it.
CHUNK_SIZE = 4096
#: batch_size="auto" for a graph that proves a text's answer independent of its batch.
AUTO_BATCH_SIZE = 32


class Classifier:
    """A SetFit classifier on ONNX Runtime, as `docquant classify` runs it.

    ``model_folder`` is what :func:`docquant.quantize` writes (model.onnx + tokenizer + head +
    configs), or an fp32 SetFit folder with ``onnx_model`` naming its ONNX export.

    - ``threads``: ONNX Runtime intra-op threads per call; 0 = one per physical core. Many
      Python threads sharing one Classifier are best served with ``threads=1`` each.
    - ``batch_size``: texts per model call (32, as `docquant classify` and quantize's
      accuracy check). Texts are length-sorted within each call (per 4096 texts) and cut into
      batches, so results for up to 4096 texts equal `docquant classify`'s exactly.
      ``"auto"``: 32 when the graph proves that a text's answer does not depend on its batch
      (:attr:`batch_invariant`), else 1 (what the Spark UDF uses); :attr:`batch_size` says which.
    - ``max_length``: tokens per text including special tokens; None = the folder's own.
    - ``optimize_graph``: a float model gets quantize's graph optimisation when opened.

    A multi-label head (SetFit's multi_target_strategy heads, a multitarget SetFitHead;
    :attr:`multi_label`) gives each text a list of labels: ``predict`` returns a list of class
    names per text (possibly empty), ``predict_proba`` each label's own probability.

    Loading takes about a second (MiniLM). Every method may be called from several Python
    threads at once: the C++ calls release the GIL and the object has no mutable state.
    Ctrl-C stops a running call within one batch (~0.1 s) with KeyboardInterrupt.

    Paths are str, bytes or os.PathLike; any name the file system holds works.
    Raises :class:`docquant.InputError` naming the file when the folder is incomplete or
    malformed, :class:`docquant.UsageError` for bad options.
    """

    def __init__(self, model_folder: PathLike, *, onnx_model: PathLike | None = None, threads: int = 0,
                 batch_size: int | Literal["auto"] = 32, max_length: int | None = None,
                 optimize_graph: bool = True) -> None:
        auto = isinstance(batch_size, str) and batch_size == "auto"
        if isinstance(batch_size, str) and not auto:  # numbers are checked by the core (1 to 4096)
            raise _errors.UsageError(f"batch_size must be a number of texts or 'auto', not {batch_size!r}")
        if max_length is not None and max_length < 1:
            raise _errors.UsageError(f"max_length must be at least 1, not {max_length}")
        folder = fs_path(model_folder, "model_folder")
        onnx = b"" if onnx_model is None else fs_path(onnx_model, "onnx_model")
        self._model_folder = os.fsdecode(folder)  # repr: a str that opens the same folder again
        self._native = _core.Classifier(folder, onnx, threads, AUTO_BATCH_SIZE if auto else batch_size, auto,
                                        max_length or 0, optimize_graph)
        self._classes: list[str] = list(self._native.classes)
        self._class_array = np.array(self._classes, dtype=object)

    @property
    def classes(self) -> list[str]:
        """Class names, one per probability column, in the head's order."""
        return list(self._classes)

    @property
    def multi_label(self) -> bool:
        """True when each text gets a set of labels (predict gives a list of names per text)."""
        return bool(self._native.multi_label)

    @property
    def has_probabilities(self) -> bool:
        """False only for a head-in-graph export whose sole output is the label."""
        return bool(self._native.has_probabilities)

    @property
    def batch_size(self) -> int:
        """Texts per model call: ``batch_size``, or for ``"auto"`` 32 or 1 (see :attr:`batch_invariant`)."""
        return int(self._native.batch_size)

    @property
    def batch_invariant(self) -> bool:
        """True when the graph proves that a text's answer does not depend on the texts batched
        with it (every node keeps texts apart: docquant's per-token recipe, fp32); False for
        per-tensor dynamic INT8 (one activation scale per batch) and graphs the check cannot
        read. Read off the graph itself, not quantization.json. docs/python.md."""
        return bool(self._native.batch_invariant)

    @property
    def batch_invariance_reason(self) -> str:
        """Why :attr:`batch_invariant` is what it is: the first node that ends the proof."""
        return str(self._native.batch_invariance_reason)

    def __repr__(self) -> str:
        return f"docquant.Classifier({self._model_folder!r}, classes={self._classes!r})"

    @overload
    def predict(self, texts: str) -> str: ...
    @overload
    def predict(self, texts: Texts) -> list[str]: ...

    def predict(self, texts):
        """Class names: a list for many texts, one name for a single str (as SetFitModel). For a
        multi-label head each text's answer is the list of its labels' names, in class order."""
        items, single = as_text_list(texts)
        labels, _ = self._classify(items)
        names = self._names(labels)
        return names[0] if single else names

    @overload
    def predict_proba(self, texts: str) -> np.ndarray: ...
    @overload
    def predict_proba(self, texts: Texts) -> np.ndarray: ...

    def predict_proba(self, texts):
        """Class probabilities, float64 [n, len(classes)] (one row [len(classes)] for a single
        str), columns in :attr:`classes` order: the values `docquant classify` prints."""
        if not self.has_probabilities:
            raise _errors.UsageError("predict_proba: this model's graph outputs labels only (no probabilities); use "
                                     "predict")
        items, single = as_text_list(texts)
        _, proba = self._classify(items)
        return proba[0] if single else proba

    @overload
    def classify(self, texts: str) -> tuple[str, np.ndarray]: ...
    @overload
    def classify(self, texts: Texts) -> tuple[list[str], np.ndarray]: ...

    def classify(self, texts):
        """Both at once, from one model run: ``(predict(texts), predict_proba(texts))``."""
        if not self.has_probabilities:
            raise _errors.UsageError("classify: this model's graph outputs labels only (no probabilities); use predict")
        items, single = as_text_list(texts)
        labels, proba = self._classify(items)
        names = self._names(labels)
        return (names[0], proba[0]) if single else (names, proba)

    def __call__(self, texts: Texts):
        """As SetFitModel's: the predictions (see :meth:`predict`)."""
        return self.predict(texts)

    @overload
    def predict_iter(self, texts: Iterable[str], chunk_size: int = ..., *,
                     with_proba: Literal[False] = ...) -> Iterator[str]: ...
    @overload
    def predict_iter(self, texts: Iterable[str], chunk_size: int = ..., *,
                     with_proba: Literal[True]) -> Iterator[tuple[str, np.ndarray]]: ...

    def predict_iter(self, texts, chunk_size=CHUNK_SIZE, *, with_proba=False):
        """Predictions for a stream of texts (a file, a generator, a database cursor), in input
        order, reading ``chunk_size`` texts at a time: memory stays bounded by one chunk.
        Yields each text's class name, or ``(name, probabilities)`` with ``with_proba``.
        With the default chunk_size the results equal `docquant classify` on the same stream."""
        if chunk_size < 1:
            raise _errors.UsageError(f"chunk_size must be at least 1, not {chunk_size}")
        if isinstance(texts, str):
            raise _errors.UsageError("predict_iter takes an iterable of texts; for one text call predict")
        check_many(texts)
        stream = iter(texts.tolist() if isinstance(texts, np.ndarray) else texts)
        first = 0
        while chunk := list(itertools.islice(stream, chunk_size)):
            labels, proba = self._classify(chunk, first)
            first += len(chunk)
            names = self._names(labels)
            if with_proba:
                if proba is None:
                    raise _errors.UsageError("predict_iter(with_proba=True): this model's graph outputs labels only")
                yield from zip(names, proba)
            else:
                yield from names

    def _names(self, labels: np.ndarray) -> list:
        """Class names per text; for label sets (a 0/1 row per text) the list of present names."""
        if labels.ndim == 2:
            return [self._class_array[row.astype(bool)].tolist() for row in labels]
        return self._class_array[labels].tolist()

    def _classify(self, items, first: int = 0) -> tuple[np.ndarray, np.ndarray | None]:
        if len(items) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros((0, len(self._classes)), dtype=np.float64)
        return self._native.classify(items, first)

