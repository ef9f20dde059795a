#!/usr/bin/env python3
"""Classifies the texts of a CSV or Parquet file on Apache Spark with a docquant model folder
(`docquant quantize`'s output) and writes the rows with a label (and, with --probabilities,
the class probabilities) as Parquet. Prints docs/s at the end.

    python examples/spark_classify.py --model_folder OUT --input texts.csv --output preds.parquet
    spark-submit --master 'local[2]' examples/spark_classify.py --model_folder OUT --input texts.parquet \\
        --output preds.parquet --probabilities

--master applies when run with `python` (spark-submit passes its own). The model folder must be
readable at the same path on every executor, or use --ship_model to send it with
SparkContext.addFile. Needs pyspark, pandas, pyarrow and the docquant wheel in the Python that
runs the executors (PYSPARK_PYTHON; by default this one).
"""
import argparse
import os
import sys
import time

from pyspark.sql import SparkSession

from docquant.spark import classify_udf


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model_folder", required=True, help="a docquant output folder")
    ap.add_argument("--input", required=True, help=".csv (with a header) or .parquet file or folder")
    ap.add_argument("--output", required=True, help="Parquet folder to write (replaced if it exists)")
    ap.add_argument("--text_column", default="text")
    ap.add_argument("--probabilities", action="store_true", help="also write a probabilities array column")
    ap.add_argument("--partitions", type=int, default=0, help="repartition the input first (0: as read)")
    ap.add_argument("--threads_per_task", type=int, default=None, help="default: spark.task.cpus")
    ap.add_argument("--ship_model", action="store_true", help="send the model folder with SparkContext.addFile")
    ap.add_argument("--master", default="local[*]", help="when run with python (spark-submit sets its own)")
    args = ap.parse_args()

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = (SparkSession.builder.appName("docquant-classify").master(os.environ.get("MASTER", args.master))
             .config("spark.ui.enabled", "false").getOrCreate())
    if args.ship_model:
        spark.sparkContext.addFile(os.path.abspath(args.model_folder), recursive=True)
    if args.input.endswith(".csv"):
        # multiLine: a quoted field may hold line breaks (RFC 4180), as docquant's own reader allows.
        df = spark.read.csv(args.input, header=True, multiLine=True, escape='"')
    else:
        df = spark.read.parquet(args.input)
    if args.partitions:
        df = df.repartition(args.partitions)
    classify = classify_udf(args.model_folder, return_probabilities=args.probabilities,
                            threads_per_task=args.threads_per_task)
    pred = classify(args.text_column)
    if args.probabilities:
        out = df.withColumn("_pred", pred).select("*", "_pred.label", "_pred.probabilities").drop("_pred")
    else:
        out = df.withColumn("label", pred)

    start = time.monotonic()
    out.write.mode("overwrite").parquet(args.output)
    seconds = time.monotonic() - start
    rows = spark.read.parquet(args.output).count()
    print(f"spark_classify: {rows} rows in {seconds:.1f}s ({rows / seconds:.1f} docs/s) on "
          f"{spark.sparkContext.master} -> {args.output}")
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
