"""docquant.quantize: `docquant quantize` as a function call."""
from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from . import _core, _errors
from ._paths import PathLike, fs_path, shown


def quantize(onnx_model_folder: PathLike, setfit_model_folder: PathLike,
             calibration_data: PathLike | Sequence[str] | None, output_folder: PathLike, *,
             criterion: str | None = None, min_agreement: float | None = None,
             relative: float | None = None, absolute: float | None = None,
             strategy: str | None = None, config: PathLike | None = None, max_trials: int | None = None,
             timeout: float | None = None, seed: int | None = None, overwrite: bool = False,
             progress: bool | Callable[[str], Any] = True, cancelled: Callable[[], bool] | None = None,
             text_column: str = "text", label_column: str | None = "label", sensitivity_probe: str = "local",
             per_tensor: bool = False, full_range: bool = False, activations: str = "per_token",
             keep_embeddings_fp32: bool = False, unfused: bool = False, optimize_graph: bool = True,
             batch_size: int = 32, threads: int = 0, best_effort: bool = False, cache: bool = True,
             metric: str = "accuracy") -> dict[str, Any]:
    """Quantizes a SetFit model's ONNX body to dynamic INT8, keeping accuracy on
    ``calibration_data`` within the criterion of fp32, or its answers in agreement with
    fp32's; returns the record it writes (``output_folder/quantization.json``, as a dict).

    The arguments are `docquant quantize`'s flags (docs/quantize.md) with the same defaults:

    - Paths are str, bytes or os.PathLike (any name the file system holds).
      ``onnx_model_folder``: a folder holding model.onnx, or an .onnx file;
      ``setfit_model_folder``: tokenizer, model_head.pkl, pooling and label configs;
      ``calibration_data``: a CSV with ``text_column`` and ``label_column``, a CSV with only
      ``text_column``, a .txt file of one text per line, or a list of strings; without labels
      (or with ``label_column=None``) fp32's answers are the labels and the criterion is
      agreement (None: the default configuration is written and nothing is measured);
      for a multi-label head each label cell is the text's label names joined by ';', empty
      for none; ``output_folder``: must not exist or be empty, unless ``overwrite``.
    - ``criterion``: "accuracy" (the default with labels) or "agreement" (without labels):
      what a trial is scored on; ``min_agreement`` (0.99; giving it chooses "agreement"): the
      share of calibration texts whose answer must be fp32's. Both figures are recorded for
      every trial.
    - ``metric``: how the accuracy criterion scores a multi-label head: "accuracy" (the
      whole label set right, exact-match accuracy) or "micro_f1".
    - ``relative`` (default 0.01) or ``absolute``: accuracy loss allowed; ``strategy``
      ("sensitivity", default, or "basic"); ``max_trials`` (100); ``timeout`` seconds (0: no
      limit); ``seed`` (9527). None means the CLI's default, or the value of ``config`` -- an
      INC 1.x YAML as `--config` reads it -- when one is given: arguments given explicitly
      override the YAML, as flags do.
    - ``progress``: True prints the CLI's progress lines on stderr, a callable receives each
      line, False is silent. ``cancelled``: a callable polled between batches; a true value
      (as ``bool()`` takes it) stops the job with :class:`docquant.Interrupted`.
    - The recipe flags: ``per_tensor``, ``full_range``, ``activations`` ("per_token", default:
      a text's answer does not depend on its batch; or "per_tensor": ONNX Runtime's dynamic
      quantization, faster where no node needs fp32), ``keep_embeddings_fp32``, ``unfused``,
      ``optimize_graph``; evaluation: ``batch_size``, ``threads`` (0: one per core);
      ``best_effort`` writes the most accurate trial even if it misses the criterion;
      ``cache=False`` evaluates the fp32 baseline even when an earlier run left it cached
      (`--no_cache`).

    The GIL is released while the job runs. Ctrl-C (KeyboardInterrupt) or an exception from
    a callback stops it at the next batch; the output folder appears whole or not at all.
    Raises :class:`docquant.InputError`, :class:`docquant.OutputError`,
    :class:`docquant.UsageError` or :class:`docquant.CriterionNotMetError`.
    """
    if relative is not None and absolute is not None:
        raise _errors.UsageError("give relative or absolute, not both")
    if min_agreement is not None:
        if criterion == "accuracy":
            raise _errors.UsageError("min_agreement is the agreement criterion's; it does not go with "
                                     "criterion='accuracy'")
        criterion = "agreement"
    if criterion == "agreement" and (relative is not None or absolute is not None):
        raise _errors.UsageError("relative and absolute are the accuracy criterion's; criterion='agreement' passes "
                                 "on min_agreement")
    if cancelled is not None and not callable(cancelled):
        raise _errors.UsageError(f"cancelled must be a callable returning True to stop, not {cancelled!r}")
    o = _core.QuantizeOptions()
    if config is not None:
        _core.apply_inc_yaml(o, fs_path(config, "config"))
    o.onnx_model = fs_path(onnx_model_folder, "onnx_model_folder")
    o.setfit_folder = fs_path(setfit_model_folder, "setfit_model_folder")
    if calibration_data is None:
        o.calibration_data = None
    elif isinstance(calibration_data, (str, bytes, os.PathLike)):
        o.calibration_data = fs_path(calibration_data, "calibration_data")
    else:
        o.calibration_texts = _calibration_texts(calibration_data)
    o.output_folder = fs_path(output_folder, "output_folder")
    o.criterion_metric = criterion
    if min_agreement is not None:
        o.min_agreement = min_agreement
    if relative is not None:
        o.relative_criterion, o.criterion = True, relative
    if absolute is not None:
        o.relative_criterion, o.criterion = False, absolute
    if strategy is not None:
        o.strategy = strategy
    if max_trials is not None:
        o.max_trials = max_trials
    if timeout is not None:
        o.max_seconds = timeout
    if seed is not None:
        o.seed = seed
    o.overwrite = overwrite
    o.text_column, o.label_column = text_column, "" if label_column is None else label_column
    o.sensitivity_probe = sensitivity_probe
    o.per_channel = not per_tensor
    o.reduce_range = not full_range
    o.activations = activations
    o.use_baseline_cache = cache
    o.quantize_embeddings = not keep_embeddings_fp32
    o.fused_matmul = not unfused
    o.optimize_graph = optimize_graph
    o.batch_size, o.threads = batch_size, threads
    o.best_effort = best_effort
    o.accuracy_metric = metric

    if progress is True:
        report_line = _print_to_stderr
    elif progress is False or progress is None:
        report_line = None
    elif callable(progress):
        report_line = progress
    else:
        raise _errors.UsageError(f"progress must be True, False or a callable taking one str, not {progress!r}")
    try:
        out = _core.quantize(o, report_line, cancelled)
    except KeyboardInterrupt as e:
        e.add_note("docquant.quantize stopped; no output folder was written")
        raise
    with open(os.path.join(out, "quantization.json"), encoding="utf-8") as f:
        report = json.load(f)
    if report_line is not None:
        report_line(_summary(report, out))
    return report


def _calibration_texts(texts: Sequence[str]) -> list[str]:
    if not isinstance(texts, Sequence):
        raise _errors.UsageError(f"calibration_data must be a path or a sequence of str, not {type(texts).__name__}")
    out = list(texts)
    for i, t in enumerate(out):
        if not isinstance(t, str):
            raise _errors.UsageError(f"calibration_data[{i}] is {type(t).__name__}, not str")
    if not out:
        raise _errors.UsageError("calibration_data is an empty sequence: give at least one text")
    return out


def _print_to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _summary(r: dict[str, Any], out: str) -> str:
    mib = 1 << 20
    sizes = r["sizes"]
    line = (f"docquant quantize: {shown(out)} in {r['seconds']:.1f}s; model.onnx "
            f"{sizes['model_onnx_before'] / mib:.1f} MiB -> {sizes['model_onnx_after'] / mib:.1f} MiB")
    if r.get("accuracy_checked"):
        met = "criterion met" if r["criterion_met"] else "CRITERION NOT MET (best_effort)"
        if r["baseline_accuracy"] is not None:
            line += f"; accuracy {r['baseline_accuracy']:.4f} -> {r['final_accuracy']:.4f}"
        else:
            line += "; unlabelled texts"
        line += f"; agreement with fp32 {r['final_agreement']:.4f} ({met})"
    else:
        line += "; accuracy NOT CHECKED (no calibration data)"
    return line
