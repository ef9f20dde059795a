#include "graph_context.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>

#include "docquant/error.h"
#include "formulas.h"
#include "int8_kernel.h"

namespace docquant::quant {

onnx::TensorProto make_int8_tensor(const std::string& name, const std::vector<std::int64_t>& dims,
                                   const std::vector<std::int8_t>& values) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(onnx::TensorProto::INT8);
  for (auto d : dims) t.add_dims(d);
  t.set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size()));
  return t;
}

namespace {

onnx::TensorProto make_uint8_tensor(const std::string& name, const std::vector<std::int64_t>& dims,
                                    const std::vector<std::uint8_t>& values) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(onnx::TensorProto::UINT8);
  for (auto d : dims) t.add_dims(d);
  t.set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size()));
  return t;
}

}  // namespace

const WeightStore::QuantizedValues& WeightStore::quantize_values(const std::string& weight, const WeightLayout& layout,
                                                                 const ValuesKey& key) {
  if (auto it = values_cache_.find(key); it != values_cache_.end()) return it->second;

  const onnx::TensorProto* tensor = graph_.constant(weight);
  if (tensor == nullptr || tensor->dims_size() != 2) {
    throw InternalError(fmt::format("weight '{}' is not a constant 2-D initializer", weight));
  }
  std::int64_t rows = tensor->dims(0);
  std::int64_t cols = tensor->dims(1);
  std::vector<float> values = float_values(*tensor);
  if (layout.transpose) {
    std::vector<float> t(values.size());
    for (std::int64_t i = 0; i < rows; ++i) {
      for (std::int64_t j = 0; j < cols; ++j) t[static_cast<std::size_t>(j * rows + i)] = values[static_cast<std::size_t>(i * cols + j)];
    }
    values.swap(t);
    std::swap(rows, cols);
  }
  QuantizedWeight q = quantize_weight(values, rows, cols, layout.axis, layout.reduce_range);

  // Traceable names: <weight>_int8 / _scale / _zero_point (suffixed when taken).
  QuantizedValues v;
  v.base = layout.transpose ? weight + "_transposed" : weight;
  v.names.values = names_.unique(v.base + "_int8");
  if (layout.axis) {
    v.scale_dims = {static_cast<std::int64_t>(q.scales.size())};
    if (layout.column_scale) v.scale_dims.push_back(1);
  }
  if (!layout.column_scale) v.names.max_pair_magnitude = max_pair_magnitude(q.values, rows, cols);
  created_.push_back(make_int8_tensor(v.names.values, {rows, cols}, q.values));
  v.scales = std::move(q.scales);
  // The first scale goes between the values and the zero point: the order, and so the bytes,
  // of the model.onnx docquant wrote before the per-token scale shared these values.
  const std::string scale = add_scale(v, layout.per_token_scale);
  if (!layout.column_scale) {
    v.names.zero_point = names_.unique(v.base + "_zero_point");
    created_.push_back(make_int8_tensor(v.names.zero_point, v.scale_dims, std::vector<std::int8_t>(v.scales.size(), 0)));
  }
  QuantizedWeightNames names = v.names;
  names.scale = scale;
  cache_.emplace(std::make_tuple(key, layout.per_token_scale), names);
  sources_.insert(weight);
  return values_cache_.emplace(key, std::move(v)).first->second;
}

std::string WeightStore::add_scale(const QuantizedValues& v, bool per_token) {
  std::vector<float> scales = v.scales;
  if (per_token) {
    for (float& s : scales) s = per_token_weight_scale(s);
  }
  std::string name = names_.unique(v.base + (per_token ? "_token_scale" : "_scale"));
  created_.push_back(make_float_tensor(name, v.scale_dims, scales));
  return name;
}

QuantizedWeightNames WeightStore::quantize(const std::string& weight, const WeightLayout& layout) {
  const ValuesKey values_key = std::make_tuple(weight, layout.axis.value_or(-1), layout.reduce_range, layout.transpose,
                                               layout.column_scale);
  const auto key = std::make_tuple(values_key, layout.per_token_scale);
  if (auto it = cache_.find(key); it != cache_.end()) return it->second;

  // A weight read by a per-tensor and a per-token node keeps one copy of its int8 values;
  // quantizing them also makes the scale for this layout.
  const QuantizedValues& v = quantize_values(weight, layout, values_key);
  if (auto it = cache_.find(key); it != cache_.end()) return it->second;
  QuantizedWeightNames names = v.names;
  names.scale = add_scale(v, layout.per_token_scale);
  cache_.emplace(key, names);
  return names;
}

const std::string& ActivationStore::constant(const std::string& base, onnx::TensorProto tensor) {
  auto it = constants_.find(base);
  if (it != constants_.end()) return it->second;
  tensor.set_name(names_.unique(base));
  created_.push_back(tensor);
  return constants_.emplace(base, tensor.name()).first->second;
}

TokenQuantizedNames ActivationStore::per_token(const std::string& tensor, std::vector<onnx::NodeProto>& nodes) {
  if (auto it = cache_.find(tensor); it != cache_.end()) return it->second;
  const std::string levels = constant("per_token_levels", make_float_tensor("", {}, {kTokenLevels}));
  const std::string floor = constant("per_token_absmax_floor", make_float_tensor("", {}, {kTokenAbsmaxFloor}));
  const std::string unit = constant("per_token_unit_scale", make_float_tensor("", {}, {1.0f}));
  const std::string zero = constant(
      "per_token_zero_point", make_uint8_tensor("", {}, {static_cast<std::uint8_t>(kTokenZeroPoint)}));

  const auto name = [&](const char* suffix) { return names_.unique(tensor + suffix); };
  const std::string abs = name("_abs");
  nodes.push_back(make_node("Abs", {tensor}, {abs}, abs));
  const std::string absmax = name("_token_absmax");
  // ReduceMax takes its axes as an attribute before opset 18, as an input from 18 on.
  if (graph_.opset("") >= 18) {
    onnx::TensorProto axes;
    axes.set_data_type(onnx::TensorProto::INT64);
    axes.add_dims(1);
    axes.add_int64_data(-1);
    nodes.push_back(make_node("ReduceMax", {abs, constant("per_token_axes", axes)}, {absmax}, absmax));
  } else {
    onnx::NodeProto& reduce = nodes.emplace_back(make_node("ReduceMax", {abs}, {absmax}, absmax));
    auto* a = reduce.add_attribute();
    a->set_name("axes");
    a->set_type(onnx::AttributeProto::INTS);
    a->add_ints(-1);
  }
  add_int_attribute(nodes.back(), "keepdims", 1);
  TokenQuantizedNames out;
  out.scale = name("_token_absmax_floored");
  nodes.push_back(make_node("Max", {absmax, floor}, {out.scale}, out.scale));
  const std::string inverse = name("_token_inverse_scale");
  nodes.push_back(make_node("Div", {levels, out.scale}, {inverse}, inverse));
  const std::string scaled = name("_token_scaled");
  nodes.push_back(make_node("Mul", {tensor, inverse}, {scaled}, scaled));
  out.values = name("_token_quantized");
  nodes.push_back(make_node("QuantizeLinear", {scaled, unit, zero}, {out.values}, out.values));
  out.zero_point = zero;
  cache_.emplace(tensor, out);
  return out;
}

StaticQuantizedNames ActivationStore::per_tensor_static(const std::string& tensor, const ActivationRanges* ranges,
                                                        std::vector<onnx::NodeProto>& nodes) {
  if (auto it = static_cache_.find(tensor); it != static_cache_.end()) return it->second;
  const auto missing = [&] {
    return InternalError(fmt::format("static activations: no calibrated range for tensor '{}'", tensor));
  };
  if (ranges == nullptr) throw missing();
  const auto range = ranges->find(tensor);
  if (range == ranges->end()) throw missing();
  const QuantParams p = static_uint8_params(range->second.min, range->second.max);
  StaticQuantizedNames out;
  out.scale = names_.unique(tensor + "_static_scale");
  created_.push_back(make_float_tensor(out.scale, {}, {p.scale}));
  out.zero_point = names_.unique(tensor + "_static_zero_point");
  created_.push_back(make_uint8_tensor(out.zero_point, {}, {static_cast<std::uint8_t>(p.zero_point)}));
  out.values = names_.unique(tensor + "_static_quantized");
  nodes.push_back(make_node("QuantizeLinear", {tensor, out.scale, out.zero_point}, {out.values},
                            names_.unique(tensor + "_static_QuantizeLinear")));
  static_cache_.emplace(tensor, out);
  return out;
}

QuantizedWeightNames WeightStore::quantize_uint8_per_tensor(const std::string& weight) {
  if (auto it = uint8_cache_.find(weight); it != uint8_cache_.end()) return it->second;
  const onnx::TensorProto* tensor = graph_.constant(weight);
  if (tensor == nullptr) throw InternalError(fmt::format("weight '{}' is not a constant initializer", weight));
  const std::vector<float> values = float_values(*tensor);
  float lo = 0.0f, hi = 0.0f;
  for (float v : values) lo = std::min(lo, v), hi = std::max(hi, v);
  const QuantParams p = dynamic_uint8_params(lo, hi);
  std::vector<std::uint8_t> q(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) q[i] = static_cast<std::uint8_t>(quantize_value(values[i], p, kUint8));

  QuantizedWeightNames names;
  names.values = names_.unique(weight + "_quantized");
  names.scale = names_.unique(weight + "_scale");
  names.zero_point = names_.unique(weight + "_zero_point");
  created_.push_back(make_uint8_tensor(names.values, {tensor->dims().begin(), tensor->dims().end()}, q));
  created_.push_back(make_float_tensor(names.scale, {}, {p.scale}));
  created_.push_back(make_uint8_tensor(names.zero_point, {}, {static_cast<std::uint8_t>(p.zero_point)}));
  sources_.insert(weight);
  uint8_cache_.emplace(weight, names);
  return names;
}

}  // namespace docquant::quant
