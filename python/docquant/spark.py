"""docquant on Apache Spark: a `predict_batch_udf` that classifies a DataFrame's text column.

    from pyspark.sql import functions as F
    from docquant.spark import classify_udf

    classify = classify_udf("/models/int8", return_probabilities=True)
    out = df.withColumn("pred", classify("text")).select("*", "pred.label", "pred.probabilities").drop("pred")

Needs pyspark (>= 3.4), pandas and pyarrow (`pip install docquant[spark]`); `import docquant`
alone never imports them. docs/spark.md has the measurements and the scale-out notes.

How the model reaches the executors -- both work with the same call:
  - a path every executor can read (a shared file system, or the same local path on every
    node; in local mode, any local folder);
  - a folder shipped with ``spark.sparkContext.addFile(folder, recursive=True)``: when
    ``model_folder`` is not a folder on the executor, its last component is looked up with
    ``SparkFiles.get`` there.
Each Python worker loads the model once and keeps it for every task it runs afterwards
(pyspark's ModelCache; Spark reuses Python workers by default), with ONNX Runtime's threads
capped at the task's CPUs (``spark.task.cpus``) unless ``threads_per_task`` says otherwise.
"""
from __future__ import annotations

import json
import os
from typing import Any, Callable

try:
    from pyspark.ml.functions import predict_batch_udf
    from pyspark.sql.types import ArrayType, DoubleType, StringType, StructField, StructType
except ImportError as e:  # pragma: no cover -- the message is the point
    raise ImportError("docquant.spark needs pyspark, pandas and pyarrow: pip install 'docquant[spark]'") from e

import numpy as np

from . import _core
from ._classifier import CHUNK_SIZE, Classifier
from ._errors import InputError, UsageError

#: The struct `classify_udf(..., return_probabilities=True)` returns.
PREDICTION_TYPE = StructType([StructField("label", StringType()),
                              StructField("probabilities", ArrayType(DoubleType()))])
#: The same for a multi-label head: the text's labels (class order) and each label's probability.
MULTI_LABEL_PREDICTION_TYPE = StructType([StructField("labels", ArrayType(StringType())),
                                          StructField("probabilities", ArrayType(DoubleType()))])


def resolve_model_folder(model_folder: str) -> str:
    """The folder on this executor: `model_folder` itself, else the copy SparkContext.addFile
    shipped under its last component."""
    if os.path.isdir(model_folder):
        return model_folder
    from pyspark import SparkFiles
    name = os.path.basename(os.path.normpath(model_folder))
    shipped = SparkFiles.get(name)
    if os.path.isdir(shipped):
        return shipped
    raise InputError(f"{model_folder}: not a folder on this executor, and no folder '{name}' was shipped with "
                     f"SparkContext.addFile(folder, recursive=True) (looked in {shipped})")


#: Texts per model call for a folder whose answers depend only on the text (see auto_model_batch_size).
BATCH_INVARIANT_MODEL_BATCH = 32


def auto_model_batch_size(folder: str) -> int:
    """Texts per model call when ``classify_udf`` is not told: 32 (``docquant classify``'s
    default) when a text's answer cannot depend on the texts batched with it, else 1.

    That is read from the folder's quantization.json: ``recipe.activation_scales`` of
    ``per_token`` (docquant's default recipe: every token row gets its own scale) is
    batch-invariant; ``per_tensor`` is not (one scale per batch tensor). A folder without
    quantization.json is taken as fp32 (no activation scales; batching moves its results by
    float rounding only). A quantization.json that cannot be read, or names another recipe,
    gets 1: the safe choice.
    """
    record = os.path.join(folder, "quantization.json")
    if not os.path.exists(record):
        return BATCH_INVARIANT_MODEL_BATCH
    try:
        with open(record, encoding="utf-8") as f:
            scales = json.load(f)["recipe"]["activation_scales"]
    except (OSError, ValueError, KeyError, TypeError):
        return 1
    return BATCH_INVARIANT_MODEL_BATCH if scales == "per_token" else 1


def classify_udf(model_folder: str | os.PathLike, *, return_probabilities: bool = False,
                 batch_size: int = CHUNK_SIZE, threads_per_task: int | None = None,
                 model_batch_size: int | None = None) -> Callable[..., Any]:
    """A `pyspark.ml.functions.predict_batch_udf` over one string column.

    Returns the class name (StringType), or with ``return_probabilities`` a struct
    ``{label: string, probabilities: array<double>}`` (columns in the classifier's
    ``classes`` order). A null text gives a null label and null probabilities.
    For a multi-label head (read from the folder on the driver) each text's labels instead:
    ``array<string>`` in class order (empty when none applies), or the struct
    ``{labels: array<string>, probabilities: array<double>}``.

    - ``model_batch_size``: texts per model call. The default (None) picks it from the folder
      (`auto_model_batch_size`): 32 for docquant's default per-token recipe and for fp32
      folders, whose answers depend only on the text, so every partitioning gives the same
      answers (1.5x the texts/s of batch 1 on one thread, docs/spark.md); 1 for a per-tensor
      (``--activations per_tensor``) folder, whose activation scales are computed per batch, so
      that a text batched with others could get another answer when Spark groups rows
      differently (2.7 % of labels changed merely by shuffling rows at batch 32 on minilm-sst2).
      An explicit value is used as given.
    - ``batch_size``: rows handed to the classifier at once (4096: the C++ core's chunk, within
      which texts are length-sorted and cut into batches of ``model_batch_size``; Arrow batches
      of ``spark.sql.execution.arrow.maxRecordsPerBatch`` rows are split into such pieces).
    - ``threads_per_task``: ONNX Runtime threads per task; None = the task's CPUs
      (``TaskContext.cpus()``, i.e. ``spark.task.cpus``).
    """
    if batch_size < 1 or (model_batch_size is not None and model_batch_size < 1):
        raise UsageError("batch_size and model_batch_size must be at least 1")
    if threads_per_task is not None and threads_per_task < 1:
        raise UsageError(f"threads_per_task must be at least 1, not {threads_per_task}")
    folder = os.fspath(model_folder)
    multi_label = _core.head_is_multi_label(resolve_model_folder(folder))

    def make_predict_fn():
        from pyspark import TaskContext
        context = TaskContext.get()
        threads = threads_per_task or (context.cpus() if context is not None else 1)
        local = resolve_model_folder(folder)
        clf = Classifier(local, threads=threads, batch_size=model_batch_size or auto_model_batch_size(local))
        n_classes = len(clf.classes)
        if multi_label:
            return label_set_predict_fn(clf, return_probabilities)

        def predict(texts: np.ndarray):
            valid = np.array([isinstance(t, str) for t in texts], dtype=bool)
            if valid.all():
                items = texts.tolist()
            else:
                items = texts[valid].tolist()
            if return_probabilities:
                names, proba = clf.classify(items)
                if not valid.all():
                    full_names = np.full(len(texts), None, dtype=object)
                    full_proba = np.full((len(texts), n_classes), np.nan)
                    full_names[valid], full_proba[valid] = names, proba
                    names, proba = full_names, full_proba
                return {"label": np.asarray(names, dtype=object), "probabilities": proba}
            labels = np.array(clf.predict(items), dtype=object)
            if valid.all():
                return labels
            full = np.full(len(texts), None, dtype=object)
            full[valid] = labels
            return full

        return predict

    if multi_label:
        udf = predict_batch_udf(make_predict_fn, batch_size=batch_size, return_type=(
            MULTI_LABEL_PREDICTION_TYPE if return_probabilities else ArrayType(StringType())))
        return lambda column: label_sets_column(udf, column, return_probabilities)
    return predict_batch_udf(make_predict_fn, return_type=PREDICTION_TYPE if return_probabilities else StringType(),
                             batch_size=batch_size)


def label_set_predict_fn(clf: Classifier, return_probabilities: bool):
    """predict_batch_udf wants a 2-D array for array<string>: one column per class holding its
    name where the text has the label, else null (label_sets_column drops the nulls)."""
    classes = np.array(clf.classes, dtype=object)

    def predict(texts: np.ndarray):
        valid = np.array([isinstance(t, str) for t in texts], dtype=bool)
        names = np.full((len(texts), len(classes)), None, dtype=object)
        proba = np.full((len(texts), len(classes)), np.nan)
        if valid.any():
            sets, p = clf._classify(texts[valid].tolist())  # 0/1 [rows, classes], probabilities
            rows = np.flatnonzero(valid)
            names[rows] = np.where(sets.astype(bool), classes, None)
            proba[rows] = p
        return {"labels": names, "probabilities": proba} if return_probabilities else names

    return predict


def label_sets_column(udf, column, return_probabilities: bool):
    """The udf's per-class columns as the text's labels: nulls dropped, null for a null text."""
    from pyspark.sql import functions as F
    col = F.col(column) if isinstance(column, str) else column
    out = udf(col)
    labels = out["labels"] if return_probabilities else out
    present = F.filter(labels, lambda x: x.isNotNull())
    if return_probabilities:
        return F.when(col.isNull(), F.lit(None)).otherwise(
            F.struct(present.alias("labels"), out["probabilities"].alias("probabilities")))
    return F.when(col.isNull(), F.lit(None)).otherwise(present)
