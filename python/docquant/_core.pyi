# Types of the native module (python/src/*.cc). Private: use the docquant package.
import os
from collections.abc import Callable
from typing import Any

import numpy as np

__version__: str
git_commit: str
onnxruntime_version: str

class Classifier:
    def __init__(self, model_folder: str | os.PathLike, onnx_model: str | os.PathLike, threads: int,
                 batch_size: int, max_length: int, optimize_graph: bool) -> None: ...
    @property
    def classes(self) -> list[str]: ...
    @property
    def has_probabilities(self) -> bool: ...
    @property
    def multi_label(self) -> bool: ...
    def classify(self, texts: list[str] | tuple[str, ...]) -> tuple[np.ndarray, np.ndarray | None]: ...

def head_is_multi_label(model_folder: str | os.PathLike) -> bool: ...

class QuantizeOptions:
    onnx_model: str | os.PathLike
    setfit_folder: str | os.PathLike
    calibration_data: str | os.PathLike | None
    calibration_texts: list[str]
    output_folder: str | os.PathLike
    text_column: str
    label_column: str
    relative_criterion: bool
    criterion: float
    higher_is_better: bool
    criterion_metric: str | None
    min_agreement: float
    strategy: str
    sensitivity_probe: str
    accuracy_metric: str
    max_trials: int
    max_seconds: float
    seed: int
    per_channel: bool
    activations: str
    use_baseline_cache: bool
    reduce_range: bool
    quantize_embeddings: bool
    fused_matmul: bool
    optimize_graph: bool
    batch_size: int
    threads: int
    sensitivity_sample: int
    overwrite: bool
    best_effort: bool
    def __init__(self) -> None: ...

def apply_inc_yaml(options: QuantizeOptions, file: str | os.PathLike) -> None: ...
def quantize(options: QuantizeOptions, progress: Callable[[str], Any] | None,
             cancelled: Callable[[], bool] | None) -> str: ...
def tokenize(folder: str | os.PathLike, texts: list[str] | tuple[str, ...], max_length: int,
             threads: int) -> tuple[np.ndarray, np.ndarray]: ...
