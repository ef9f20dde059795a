#include "probe.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "batch_feed.h"
#include "docquant/error.h"
#include "error_probe.h"
#include "onnx_io.h"
#include "predictor.h"
#include "process_memory.h"
#include "scratch_file.h"

namespace docquant::job {

std::vector<double> local_sensitivity(const LocalProbeRequest& r) {
  quant::ProbeModel probe = quant::build_error_probe(*r.fp32, r.nodes, r.config, r.plan);
  // The graph holds every fp32 weight and its quantized twin: it goes to a file and its
  // proto is freed before ONNX Runtime reads the file, so that those weights are held once,
  // by the session, not also as a proto and as serialized bytes (issue 19).
  const ScratchFile file(r.scratch_file);
  model::save_model(probe.model, r.scratch_file);
  model::free_model(probe.model);
  if (r.release_inputs) r.release_inputs();
  release_free_memory();
  Ort::Session session = runtime::make_session_from_file(r.scratch_file, r.session,
                                                         r.model_name + " (sensitivity probe graph)");
  std::vector<const char*> output_names;
  for (const auto& o : probe.outputs) {
    output_names.push_back(o.squared_error.c_str());
    output_names.push_back(o.squared_norm.c_str());
  }
  // Per node, per channel: sums over all batches.
  std::vector<std::vector<double>> error(probe.outputs.size()), norm(probe.outputs.size());
  const auto accumulate = [&](std::vector<double>& sum, const Ort::Value& v, const std::string& name) {
    const std::size_t n = v.GetTensorTypeAndShapeInfo().GetElementCount();
    if (sum.empty()) sum.assign(n, 0.0);
    if (sum.size() != n) {
      throw InternalError(fmt::format("sensitivity probe output '{}' changed size between batches", name));
    }
    const float* p = v.GetTensorData<float>();
    for (std::size_t c = 0; c < n; ++c) sum[c] += static_cast<double>(p[c]);
  };
  for (const auto& batch : *r.batches) {
    Feed f = feed_batch(*r.signature, batch);
    std::vector<Ort::Value> out;
    try {
      out = session.Run(Ort::RunOptions{nullptr}, f.names.data(), f.values.data(), f.values.size(),
                        output_names.data(), output_names.size());
    } catch (const Ort::Exception& e) {
      throw InputError(fmt::format("{}: ONNX Runtime failed to run the sensitivity probe graph: {}", r.model_name,
                                   e.what()));
    }
    for (std::size_t i = 0; i < probe.outputs.size(); ++i) {
      accumulate(error[i], out[2 * i], probe.outputs[i].squared_error);
      accumulate(norm[i], out[2 * i + 1], probe.outputs[i].squared_norm);
    }
  }
  // The score: the median over output channels of each channel's relative error. Per
  // channel, so that a few channels of very large magnitude (transformers have them) do
  // not hide the error in all the others; the median, so that channels whose values are
  // all near 0 (where any rounding is a large relative error) do not dominate either.
  std::map<std::string, double> by_node;
  for (std::size_t i = 0; i < probe.outputs.size(); ++i) {
    std::vector<double> ratios;
    for (std::size_t c = 0; c < error[i].size(); ++c) {
      if (norm[i][c] > 0) ratios.push_back(std::sqrt(error[i][c] / norm[i][c]));
    }
    double median = 0;
    if (!ratios.empty()) {
      auto mid = ratios.begin() + static_cast<std::ptrdiff_t>(ratios.size() / 2);
      std::nth_element(ratios.begin(), mid, ratios.end());
      median = *mid;
    }
    by_node[probe.outputs[i].node] = median;
  }
  std::vector<double> scores;
  for (const auto& n : r.nodes) {
    auto it = by_node.find(n);
    scores.push_back(it == by_node.end() ? 0.0 : it->second);
  }
  return scores;
}

std::vector<double> isolated_sensitivity(const IsolatedProbeRequest& request) {
  // The probe only ranks nodes, so its sessions skip ONNX Runtime's costlier graph
  // optimisations (session creation dominates a 64-text run); the fp32 reference is
  // computed the same way so that both sides share every non-quantized rounding.
  runtime::SessionConfig session = request.session;
  session.optimization = GraphOptimizationLevel::ORT_ENABLE_BASIC;
  const runtime::Predictor reference_predictor(*request.fp32_bytes, *request.signature, *request.folder, session,
                                               request.model_name);
  const auto reference = reference_predictor.predict(*request.batches, request.rows, request.check_cancel);
  std::vector<double> error;
  for (std::size_t i = 0; i < request.nodes; ++i) {
    request.check_cancel();
    const runtime::Predictor quantized(request.quantized_alone(i), *request.signature, *request.folder, session,
                                       request.model_name);
    const auto p = quantized.predict(*request.batches, request.rows, request.check_cancel);
    double sum = 0;
    for (std::size_t k = 0; k < p.proba.size(); ++k) sum += std::abs(p.proba[k] - reference.proba[k]);
    error.push_back(sum / static_cast<double>(std::max<std::size_t>(1, p.proba.size())));
    if ((i + 1) % 10 == 0 || i + 1 == request.nodes) {
      request.progress(fmt::format("  sensitivity probe: {}/{} nodes", i + 1, request.nodes));
    }
  }
  return error;
}

}  // namespace docquant::job
