#include "smoothing.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "docquant/error.h"
#include "quantizer.h"

namespace docquant::quant {

namespace {

// One integer-GEMM reader of a tensor: the node, its weight and the weight's axis that runs
// along the tensor's channels (the other one is output channels).
struct Reader {
  int node = 0;
  std::string weight;
  int input_axis = 0;
};

// A tensor to smooth: its readers and s per channel.
struct Smoothing {
  std::string tensor;
  std::vector<Reader> readers;
  std::vector<float> scale;
  int first_reader = 0;
};

// The readers of `tensor` that smoothing can rewrite, or nothing when one of its quantized
// readers cannot take a scaled weight (then the tensor stays as it is).
std::optional<std::vector<Reader>> gemm_readers(const std::string& tensor, std::size_t channels, const GraphView& graph) {
  const QuantPlan plan;
  std::vector<Reader> out;
  for (int i : graph.consumers(tensor)) {
    const onnx::NodeProto& node = graph.node(i);
    const Quantizer* q = find_quantizer(node);
    if (q == nullptr || q->refusal(node, plan, graph)) continue;  // not an integer GEMM: reads x as it was
    const auto a = q->activation_input(node, plan, graph);
    const auto spec = q->weight_spec(node, plan, graph);
    if (!a || !spec) continue;
    if (*a != 0 || node.input(0) != tensor) return std::nullopt;
    const std::string& weight = node.input(spec->input);
    if (graph.consumers(weight).size() != 1) return std::nullopt;  // a shared weight would change elsewhere
    const onnx::TensorProto* w = graph.constant(weight);
    const int input_axis = 1 - spec->channel_axis;
    if (w == nullptr || w->dims_size() != 2 || w->dims(input_axis) != static_cast<std::int64_t>(channels)) {
      return std::nullopt;
    }
    out.push_back({i, weight, input_axis});
  }
  return out;
}

// max_c |W| along the input axis, over every reader's weight.
std::vector<float> weight_row_absmax(const std::vector<Reader>& readers, std::size_t channels, const GraphView& graph) {
  std::vector<float> m(channels, 0.0f);
  for (const Reader& r : readers) {
    const onnx::TensorProto& w = *graph.constant(r.weight);
    const std::vector<float> v = float_values(w);
    const auto cols = static_cast<std::size_t>(w.dims(1));
    for (std::size_t i = 0; i < v.size(); ++i) {
      const std::size_t c = r.input_axis == 0 ? i / cols : i % cols;
      m[c] = std::max(m[c], std::fabs(v[i]));
    }
  }
  return m;
}

ActivationRange whole_range(const ChannelRanges& c, const std::vector<float>* inverse) {
  ActivationRange r{0.0f, 0.0f};
  for (std::size_t i = 0; i < c.min.size(); ++i) {
    // The same float multiply ONNX Runtime's Mul does; 1/s > 0 keeps each channel's order.
    const float lo = inverse ? c.min[i] * (*inverse)[i] : c.min[i];
    const float hi = inverse ? c.max[i] * (*inverse)[i] : c.max[i];
    r.min = i == 0 ? lo : std::min(r.min, lo);
    r.max = i == 0 ? hi : std::max(r.max, hi);
  }
  return r;
}

}  // namespace

SmoothingResult smooth_activations(onnx::ModelProto& model, const std::map<std::string, ChannelRanges>& channels,
                                   float alpha) {
  SmoothingResult result;
  std::vector<Smoothing> plan;
  {
    const GraphView graph(model);
    for (const auto& [tensor, c] : channels) {
      if (c.min.size() != c.max.size()) throw InternalError(fmt::format("channel ranges of '{}' differ in size", tensor));
      std::optional<std::vector<Reader>> readers;
      if (alpha > 0.0f && !c.min.empty()) readers = gemm_readers(tensor, c.min.size(), graph);
      if (!readers || readers->empty()) {
        result.ranges[tensor] = whole_range(c, nullptr);
        continue;
      }
      const std::vector<float> w = weight_row_absmax(*readers, c.min.size(), graph);
      Smoothing s{tensor, *readers, std::vector<float>(c.min.size(), 1.0f), readers->front().node};
      for (std::size_t i = 0; i < c.min.size(); ++i) {
        const float x = std::max(std::fabs(c.min[i]), std::fabs(c.max[i]));
        if (x > 0.0f && w[i] > 0.0f) s.scale[i] = std::pow(x, alpha) / std::pow(w[i], 1.0f - alpha);
      }
      std::vector<float> sorted = s.scale;
      const auto low = sorted.begin() + static_cast<std::ptrdiff_t>(kSmoothScaleLowQuantile * (sorted.size() - 1));
      std::nth_element(sorted.begin(), low, sorted.end());
      const float floor = std::min(*low, kSmoothScaleMax);
      for (float& v : s.scale) v = std::clamp(v, floor, kSmoothScaleMax);
      plan.push_back(std::move(s));
    }
  }
  if (plan.empty()) return result;

  NameAllocator names(model);
  onnx::GraphProto& g = *model.mutable_graph();
  std::map<std::string, onnx::TensorProto*> initializers;
  for (auto& t : *g.mutable_initializer()) initializers[t.name()] = &t;
  std::map<int, std::vector<onnx::NodeProto>> inserted;  // Mul nodes, placed before their first reader
  for (const Smoothing& s : plan) {
    std::vector<float> inverse(s.scale.size());
    for (std::size_t i = 0; i < s.scale.size(); ++i) inverse[i] = 1.0f / s.scale[i];
    const std::string smoothed = names.unique(s.tensor + "_smoothed");
    const std::string inverse_name = names.unique(s.tensor + "_smooth_inverse_scale");
    *g.add_initializer() = make_float_tensor(inverse_name, {static_cast<std::int64_t>(inverse.size())}, inverse);
    inserted[s.first_reader].push_back(
        make_node("Mul", {s.tensor, inverse_name}, {smoothed}, names.unique(s.tensor + "_smooth_Mul")));
    for (const Reader& r : s.readers) {
      g.mutable_node(r.node)->set_input(0, smoothed);
      onnx::TensorProto& w = *initializers.at(r.weight);
      std::vector<float> v = float_values(w);
      const auto cols = static_cast<std::size_t>(w.dims(1));
      for (std::size_t i = 0; i < v.size(); ++i) v[i] *= s.scale[r.input_axis == 0 ? i / cols : i % cols];
      w = make_float_tensor(w.name(), {w.dims().begin(), w.dims().end()}, v);
    }
    result.ranges[smoothed] = whole_range(channels.at(s.tensor), &inverse);
    ++result.tensors_smoothed;
  }
  // initializers pointed into g, whose node list is rebuilt below; they are not used again.
  initializers.clear();
  google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
  nodes.Swap(g.mutable_node());
  for (int i = 0; i < nodes.size(); ++i) {
    if (auto it = inserted.find(i); it != inserted.end()) {
      for (auto& n : it->second) *g.add_node() = std::move(n);
    }
    *g.add_node() = std::move(*nodes.Mutable(i));
  }
  return result;
}

}  // namespace docquant::quant
