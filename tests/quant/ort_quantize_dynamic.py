"""Runs ONNX Runtime's Python quantize_dynamic on a model, for ort_parity_test.cc.

Usage: python ort_quantize_dynamic.py IN.onnx OUT.onnx [--per-channel] [--reduce-range] [--op-types MatMul,Gather]
(Python from the setfit venv, which pins onnxruntime 1.29.0 like the C++ side.)
"""
import argparse

from onnxruntime.quantization import QuantType, quantize_dynamic

parser = argparse.ArgumentParser()
parser.add_argument("src")
parser.add_argument("dst")
parser.add_argument("--per-channel", action="store_true")
parser.add_argument("--reduce-range", action="store_true")
parser.add_argument("--op-types", default="MatMul")
args = parser.parse_args()
quantize_dynamic(args.src, args.dst, per_channel=args.per_channel, reduce_range=args.reduce_range,
                 weight_type=QuantType.QInt8, op_types_to_quantize=args.op_types.split(","))
