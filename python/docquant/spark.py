"""docquant on Apache Spark: a `predict_batch_udf` that classifies a DataFrame's text column.

    from docquant.spark import classify_udf

    classify = classify_udf("/models/int8", return_probabilities=True)
    out = df.withColumn("pred", classify("text")).select("*", "pred.label", "pred.probabilities").drop("pred")

Needs pyspark (>= 3.4), pandas and pyarrow (`pip install docquant[spark]`); `import docquant`
alone never imports them. The executors' Python must have docquant: PYSPARK_PYTHON (or
spark.pyspark.python) naming the interpreter it is installed in. docs/spark.md has the
configuration lines, the measurements and the scale-out notes.

How the model reaches the executors -- both work with the same call:
  - a path every executor can read (a shared file system, or the same local path on every
    node; in local mode, any local folder);
  - a folder shipped with ``spark.sparkContext.addFile(folder, recursive=True)``: when
    ``model_folder`` is not a folder on the executor, the copy shipped under its last component
    is used -- only if its model.onnx is the one the driver saw (`model_fingerprint`), so that
    a missing path never silently runs another model that happens to share the name.
Each Python worker loads the model once and keeps it for every task it runs afterwards
(pyspark's ModelCache; Spark reuses Python workers by default), with ONNX Runtime's threads
capped at the task's CPUs (``spark.task.cpus``) unless ``threads_per_task`` says otherwise.
"""
from __future__ import annotations

import hashlib
import os
from typing import Any, Callable

try:
    from pyspark.ml.functions import predict_batch_udf
    from pyspark.sql import Column
    from pyspark.sql import functions as F
    from pyspark.sql.types import ArrayType, DoubleType, StringType, StructField, StructType
except ImportError as e:  # pragma: no cover -- the message is the point
    raise ImportError("docquant.spark needs pyspark, pandas and pyarrow: pip install 'docquant[spark]'") from e

import numpy as np

from . import _core, _errors
from ._classifier import CHUNK_SIZE, Classifier
from ._paths import PathLike, shown

#: The struct `classify_udf(..., return_probabilities=True)` returns.
PREDICTION_TYPE = StructType([StructField("label", StringType()),
                              StructField("probabilities", ArrayType(DoubleType()))])
#: The same for a multi-label head: the text's labels (class order) and each label's probability.
MULTI_LABEL_PREDICTION_TYPE = StructType([StructField("labels", ArrayType(StringType())),
                                          StructField("probabilities", ArrayType(DoubleType()))])


def model_fingerprint(folder: str) -> str | None:
    """SHA-256 of the folder's model.onnx (None when it has none): what identifies the model a
    shipped copy must hold. ~0.05 s for a 22 MiB int8 MiniLM."""
    path = os.path.join(folder, "model.onnx")
    if not os.path.isfile(path):
        return None
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def resolve_model_folder(model_folder: str, fingerprint: str | None) -> str:
    """The folder on this executor: `model_folder` itself; else the copy SparkContext.addFile
    shipped under its last component, when its model.onnx has `fingerprint` (recorded on the
    driver) or, without one, when `model_folder` is a bare name (no folder part)."""
    if os.path.isdir(model_folder):
        return model_folder
    from pyspark import SparkFiles
    name = os.path.basename(os.path.normpath(model_folder))
    shipped = SparkFiles.get(name)
    if not os.path.isdir(shipped):
        raise _errors.InputError(
            f"{shown(model_folder)}: not a folder on this executor, and no folder '{shown(name)}' was shipped with "
            f"SparkContext.addFile(folder, recursive=True) (looked in {shown(shipped)})")
    if fingerprint is None and name != model_folder:
        raise _errors.InputError(
            f"{shown(model_folder)}: not a folder on this executor, nor on the driver; the folder shipped as "
            f"'{shown(name)}' ({shown(shipped)}) is not used in its place, since nothing shows it is the same "
            f"model: make the path readable on every executor, or pass the shipped folder's name alone")
    if fingerprint is not None and model_fingerprint(shipped) != fingerprint:
        raise _errors.InputError(
            f"{shown(model_folder)}: not a folder on this executor, and the folder shipped as '{shown(name)}' "
            f"({shown(shipped)}) holds another model: its model.onnx differs from the driver's")
    return shipped


def classify_udf(model_folder: PathLike, *, return_probabilities: bool = False,
                 batch_size: int = CHUNK_SIZE, threads_per_task: int | None = None,
                 model_batch_size: int | None = None) -> Callable[[str | Column], Column]:
    """A function of one string column (a name or a Column) giving a Column of predictions,
    through `pyspark.ml.functions.predict_batch_udf`.

    Each value is the class name (StringType), or with ``return_probabilities`` a struct
    ``{label: string, probabilities: array<double>}`` (columns in the classifier's ``classes``
    order). A null text gives a null prediction. A column that is not a string (int, double,
    binary -- Kafka's ``value``) is refused when the query is analysed, before any task runs
    (Spark >= 4.0; on 3.x at the first batch): cast or decode it first.
    For a multi-label head (read from the folder on the driver) each text's labels instead:
    ``array<string>`` in class order (empty when none applies), or the struct
    ``{labels: array<string>, probabilities: array<double>}``.

    - ``model_batch_size``: texts per model call. The default (None) is ``"auto"``: 32 where
      the graph proves that a text's answer does not depend on the texts batched with it
      (`docquant.Classifier.batch_invariant`: docquant's default per-token recipe, fp32), so
      every partitioning gives the same answers, 1.5x the texts/s of batch 1 on one thread
      (docs/spark.md); 1 otherwise (per-tensor dynamic INT8 -- ``--activations per_tensor`` or
      ONNX Runtime's quantize_dynamic -- whose activation scales are computed per batch, so
      that a text batched with others could get another answer when Spark groups rows
      differently). Read off the graph, never off quantization.json. An explicit value is used as given.
    - ``batch_size``: rows handed to the classifier at once (4096: the C++ core's chunk, within
      which texts are length-sorted and cut into batches of ``model_batch_size``; Arrow batches
      of ``spark.sql.execution.arrow.maxRecordsPerBatch`` rows are split into such pieces).
    - ``threads_per_task``: ONNX Runtime threads per task; None = the task's CPUs
      (``TaskContext.cpus()``, i.e. ``spark.task.cpus``).
    """
    if batch_size < 1 or (model_batch_size is not None and model_batch_size < 1):
        raise _errors.UsageError("batch_size and model_batch_size must be at least 1")
    if threads_per_task is not None and threads_per_task < 1:
        raise _errors.UsageError(f"threads_per_task must be at least 1, not {threads_per_task}")
    folder = os.fsdecode(model_folder)
    # Recorded here, on the driver, for the executors' check of a shipped copy.
    fingerprint = model_fingerprint(folder) if os.path.isdir(folder) else None
    # The return type depends on the head, so the driver reads it; a folder only the executors
    # see is taken as single-label, and an executor finding a multi-label head says so.
    multi_label = _core.head_is_multi_label(folder) if os.path.isdir(folder) else False

    def make_predict_fn():
        from pyspark import TaskContext
        context = TaskContext.get()
        threads = threads_per_task or (context.cpus() if context is not None else 1)
        local = resolve_model_folder(folder, fingerprint)
        clf = Classifier(local, threads=threads, batch_size=model_batch_size or "auto")
        if clf.multi_label != multi_label:
            raise _errors.UsageError(
                f"classify_udf: {shown(folder)} holds a multi-label head, which the driver could not read; "
                f"give the driver the folder too (its head decides the column's type)")
        if multi_label:
            return label_set_predict_fn(clf, return_probabilities)

        def predict(texts: np.ndarray):
            valid = np.array([isinstance(t, str) for t in texts], dtype=bool)
            if not valid.all():
                _refuse_non_strings(texts[~valid])
            items = texts.tolist() if valid.all() else texts[valid].tolist()
            if return_probabilities:
                names, proba = clf.classify(items)
                if not valid.all():  # null texts: the Column below makes their prediction null
                    full_names = np.full(len(texts), None, dtype=object)
                    full_proba = np.zeros((len(texts), len(clf.classes)))
                    full_names[valid], full_proba[valid] = names, proba
                    names, proba = full_names, full_proba
                return {"label": np.asarray(names, dtype=object), "probabilities": proba}
            labels = np.full(len(texts), None, dtype=object)
            labels[valid] = clf.predict(items)
            return labels

        return predict

    if multi_label:
        sets_udf = predict_batch_udf(make_predict_fn, batch_size=batch_size, return_type=(
            MULTI_LABEL_PREDICTION_TYPE if return_probabilities else ArrayType(StringType())))

        def classify_sets(text_column: str | Column) -> Column:
            text = _strings_only(F.col(text_column) if isinstance(text_column, str) else text_column)
            return label_sets_column(sets_udf, text, return_probabilities).alias("prediction")

        return classify_sets

    udf = predict_batch_udf(make_predict_fn, return_type=PREDICTION_TYPE if return_probabilities else StringType(),
                            batch_size=batch_size)

    def classify(text_column: str | Column) -> Column:
        text = _strings_only(F.col(text_column) if isinstance(text_column, str) else text_column)
        # predict_batch_udf cannot return a null array; a null text's prediction is null as a whole.
        return F.when(text.isNull(), F.lit(None)).otherwise(udf(text)).alias("prediction")

    return classify


def _strings_only(column: Column) -> Column:
    """`column`, with a type check Spark's analyser applies before any task runs: collate()
    accepts strings only and casts nothing implicitly (Spark >= 4.0; it leaves the values as
    they are). On older Spark the first batch checks instead (_refuse_non_strings)."""
    if not hasattr(F, "collate"):
        return column
    return F.collate(column, "UTF8_BINARY")


def _refuse_non_strings(values: np.ndarray) -> None:
    """The non-str values of a batch must be nulls; anything else means a non-string column."""
    for v in values:
        v = v.item() if isinstance(v, np.generic) else v  # numpy's int64 as a Python int, for the message
        if v is not None and not (isinstance(v, float) and np.isnan(v)):
            raise _errors.UsageError(
                f"classify_udf: the text column holds {type(v).__name__} values ({v!r:.60}), not strings: cast it "
                f"first, e.g. F.col(name).cast('string') (Kafka's binary value: F.col('value').cast('string'))")


def label_set_predict_fn(clf: Classifier, return_probabilities: bool):
    """predict_batch_udf wants a 2-D array for array<string>: one column per class holding its
    name where the text has the label, else null (label_sets_column drops the nulls)."""
    classes = np.array(clf.classes, dtype=object)

    def predict(texts: np.ndarray):
        valid = np.array([isinstance(t, str) for t in texts], dtype=bool)
        if not valid.all():
            _refuse_non_strings(texts[~valid])
        names = np.full((len(texts), len(classes)), None, dtype=object)
        proba = np.full((len(texts), len(classes)), np.nan)
        if valid.any():
            sets, p = clf._classify(texts[valid].tolist())  # 0/1 [rows, classes], probabilities
            rows = np.flatnonzero(valid)
            names[rows] = np.where(sets.astype(bool), classes, None)
            proba[rows] = p
        return {"labels": names, "probabilities": proba} if return_probabilities else names

    return predict


def label_sets_column(udf, text: Column, return_probabilities: bool) -> Column:
    """The udf's per-class columns as the text's labels: nulls dropped, null for a null text."""
    out = udf(text)
    labels = out["labels"] if return_probabilities else out
    present = F.filter(labels, lambda x: x.isNotNull())
    if return_probabilities:
        return F.when(text.isNull(), F.lit(None)).otherwise(
            F.struct(present.alias("labels"), out["probabilities"].alias("probabilities")))
    return F.when(text.isNull(), F.lit(None)).otherwise(present)
