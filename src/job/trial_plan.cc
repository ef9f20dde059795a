#include "trial_plan.h"

namespace docquant::job {

quant::ActivationScheme activation_scheme(const QuantizeOptions& o) {
  if (o.approach == QuantizeApproach::static_) return quant::ActivationScheme::static_per_tensor;
  return o.activations == ActivationScales::per_token ? quant::ActivationScheme::per_token
                                                      : quant::ActivationScheme::per_tensor;
}

quant::QuantPlan plan_for(const tune::Config& config, const QuantizeOptions& o,
                          std::shared_ptr<const quant::ActivationRanges> ranges) {
  quant::QuantPlan plan;
  plan.activation_ranges = std::move(ranges);
  plan.defaults.quantize = false;  // every candidate is named in the config
  plan.defaults.reduce_range = o.reduce_range;
  plan.defaults.activations = activation_scheme(o);
  plan.fused_matmul = o.fused_matmul;
  plan.quantize_embeddings = o.quantize_embeddings;
  for (const auto& [node, mode] : config.nodes) {
    quant::NodeConfig nc;
    nc.quantize = mode != tune::NodeMode::fp32;
    nc.granularity = mode == tune::NodeMode::int8_per_channel ? quant::WeightGranularity::per_channel
                                                              : quant::WeightGranularity::per_tensor;
    nc.reduce_range = o.reduce_range;
    nc.activations = activation_scheme(o);
    plan.per_node[node] = nc;
  }
  return plan;
}

}  // namespace docquant::job
