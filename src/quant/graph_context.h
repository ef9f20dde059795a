#pragma once
// What quantizers read from the graph (src/graph's GraphView) and the services they may
// use while rewriting: a name allocator (generated names are unique), a store of
// quantized weights (a weight shared by several nodes is quantized once) and one of
// per-token quantized activations. Quantizers never edit the graph themselves: they
// return a Rewrite.
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "graph_view.h"
#include "plan.h"

namespace docquant::quant {

// The graph part's view, names and builders (src/graph/graph_view.h), under the names
// every quantizer uses.
using graph::add_float_attribute;
using graph::add_int_attribute;
using graph::element_count;
using graph::find_attribute;
using graph::float_values;
using graph::GraphView;
using graph::import_ms_domain_if_used;
using graph::is_onnx_op;
using graph::kMsDomain;
using graph::make_float_tensor;
using graph::make_node;
using graph::NameAllocator;
using graph::tensor_bytes;

onnx::TensorProto make_int8_tensor(const std::string& name, const std::vector<std::int64_t>& dims,
                                   const std::vector<std::int8_t>& values);

// Names of a quantized weight's initializers.
struct QuantizedWeightNames {
  std::string values;      // int8 (uint8 from quantize_uint8_per_tensor)
  std::string scale;       // float, scalar or 1-D / [rows, 1] per channel
  std::string zero_point;  // int8 zeros, same shape as scale (absent for per-row Gather)
  // For a [K, N] GEMM weight: the largest pair sum over rows 2p, 2p+1 (int8_kernel.h),
  // which says whether an AVX2-only CPU's kernel can saturate on it. 0 otherwise.
  int max_pair_magnitude = 0;
};

// How a weight is laid out for its consumer. `transpose` turns a [N, K] weight
// (Gemm with transB=1) into the [K, N] an integer MatMul needs.
struct WeightLayout {
  std::optional<int> axis;  // per-channel axis of the (possibly transposed) weight
  bool reduce_range = false;
  bool transpose = false;
  bool column_scale = false;  // per-row scales stored as [rows, 1] (for Gather + Mul)
  // The scale is per_token_weight_scale(scale) (formulas.h): the b_scale beside a per-token
  // a_scale, which is the row's absmax rather than absmax / 127.
  bool per_token_scale = false;
};

// Quantizes weights into new initializers, once per (weight, layout).
class WeightStore {
 public:
  WeightStore(const GraphView& graph, NameAllocator& names) : graph_(graph), names_(names) {}

  QuantizedWeightNames quantize(const std::string& weight, const WeightLayout& layout);
  // Any-rank float weight as uint8, asymmetric, one scale and zero point for the whole
  // tensor (ORT's tool's form for QEmbedLayerNormalization's tables, gamma and beta):
  // the range includes 0, scale = (max - min) / 255, zero point = round(-min / scale).
  QuantizedWeightNames quantize_uint8_per_tensor(const std::string& weight);
  // Initializers created so far, in creation order.
  std::vector<onnx::TensorProto> take_initializers() { return std::move(created_); }
  // fp32 weights that were quantized (candidates for removal).
  const std::set<std::string>& sources() const noexcept { return sources_; }

 private:
  // The int8 values and zero point of one (weight, layout), shared by its plain and its
  // per-token scale, and the scales those are made from.
  struct QuantizedValues {
    QuantizedWeightNames names;  // without a scale
    std::string base;            // name stem
    std::vector<std::int64_t> scale_dims;
    std::vector<float> scales;
  };
  using ValuesKey = std::tuple<std::string, int, bool, bool, bool>;
  const QuantizedValues& quantize_values(const std::string& weight, const WeightLayout& layout, const ValuesKey& key);
  // Creates v's plain or per-token scale initializer; returns its name.
  std::string add_scale(const QuantizedValues& v, bool per_token);

  const GraphView& graph_;
  NameAllocator& names_;
  std::map<ValuesKey, QuantizedValues> values_cache_;
  std::map<std::tuple<ValuesKey, bool>, QuantizedWeightNames> cache_;
  std::map<std::string, QuantizedWeightNames> uint8_cache_;
  std::vector<onnx::TensorProto> created_;
  std::set<std::string> sources_;
};

// A tensor quantized per token at run time (formulas.h per_token_scale): uint8 values of
// the same shape, one float per row of the last axis ([..., 1]), the shared zero point
// 128. `scale` is the row's floored absmax m, not the step m / 127: the 127 is in the
// weight's scale (WeightLayout::per_token_scale), which saves a node per tensor.
struct TokenQuantizedNames {
  std::string values;
  std::string scale;
  std::string zero_point;
};

// A tensor quantized with a calibrated (static) scale and zero point: uint8 values of the
// same shape and the two scalar constants.
struct StaticQuantizedNames {
  std::string values;
  std::string scale;
  std::string zero_point;
};

// Emits the per-token quantization of activations, once per tensor however many nodes
// read it (Q, K and V projections share theirs). The nodes are
//   Abs -> ReduceMax(last axis) -> m = Max(floor) -> inverse = 127 / m
//   -> Mul(x, inverse) -> QuantizeLinear(scale 1, zero point 128)
// -- the float operations formulas.h's per_token_scale/quantize_per_token do -- with
// ai.onnx ops of opset 10 and later, so stock ONNX Runtime runs them.
class ActivationStore {
 public:
  ActivationStore(const GraphView& graph, NameAllocator& names) : graph_(graph), names_(names) {}
  // The first call for `tensor` appends the nodes that compute it to `nodes`; the rewrite
  // holding them runs before every later reader, since nodes are rewritten in graph order.
  TokenQuantizedNames per_token(const std::string& tensor, std::vector<onnx::NodeProto>& nodes);
  // Static activations: one QuantizeLinear(tensor, scale, zero point) with the constants
  // formulas.h static_uint8_params gives for the tensor's calibrated range in `ranges`, once
  // per tensor. Throws InternalError when `ranges` has no entry for it (the job calibrates
  // every activation a quantizer reads: quant::activation_inputs).
  StaticQuantizedNames per_tensor_static(const std::string& tensor, const ActivationRanges* ranges,
                                         std::vector<onnx::NodeProto>& nodes);
  std::vector<onnx::TensorProto> take_initializers() { return std::move(created_); }

 private:
  const std::string& constant(const std::string& base, onnx::TensorProto tensor);

  const GraphView& graph_;
  NameAllocator& names_;
  std::map<std::string, TokenQuantizedNames> cache_;
  std::map<std::string, StaticQuantizedNames> static_cache_;
  std::map<std::string, std::string> constants_;  // base name -> initializer name
  std::vector<onnx::TensorProto> created_;
};

}  // namespace docquant::quant
