# Types of the native module (python/src/*.cc). Private: use the docquant package.
import os
from collections.abc import Callable
from typing import Any

import numpy as np

__version__: str
git_commit: str
onnxruntime_version: str

# Paths arrive as bytes (os.fsencode, docquant/_paths.py); the casters accept str and PathLike too.
Path = str | bytes | os.PathLike

class Classifier:
    def __init__(self, model_folder: Path, onnx_model: Path, threads: int, batch_size: int, batch_if_invariant: bool,
                 max_length: int, optimize_graph: bool) -> None: ...
    @property
    def classes(self) -> list[str]: ...
    @property
    def has_probabilities(self) -> bool: ...
    @property
    def batch_size(self) -> int: ...
    @property
    def batch_invariant(self) -> bool: ...
    @property
    def batch_invariance_reason(self) -> str: ...
    @property
    def multi_label(self) -> bool: ...
    def classify(self, texts: list[str] | tuple[str, ...], first_index: int = 0) -> tuple[np.ndarray, np.ndarray | None]: ...

def head_is_multi_label(model_folder: str | os.PathLike) -> bool: ...

class QuantizeOptions:
    onnx_model: Path
    setfit_folder: Path
    calibration_data: Path | None
    calibration_texts: list[str]
    output_folder: Path
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

def apply_inc_yaml(options: QuantizeOptions, file: Path) -> None: ...
def quantize(options: QuantizeOptions, progress: Callable[[str], Any] | None,
             cancelled: Callable[[], object] | None) -> os.PathLike: ...
def tokenize(folder: Path, texts: list[str] | tuple[str, ...], max_length: int,
             threads: int) -> tuple[np.ndarray, np.ndarray]: ...
