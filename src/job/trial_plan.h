#pragma once
// How a tuning configuration (one mode per node) and the job's options become the plan the
// quantize pass applies: the one place the job's recipe meets quant's plan.
#include <memory>

#include "docquant/quantize.h"
#include "plan.h"
#include "strategy.h"

namespace docquant::job {

quant::ActivationScheme activation_scheme(const QuantizeOptions& o);

// Every node `config` names is configured (fp32 nodes with quantize = false); other nodes
// stay fp32. The plan-level switches (fused MatMul, embeddings) come from `o`; `ranges` are
// the calibrated activation ranges a static approach quantizes with (null for dynamic).
quant::QuantPlan plan_for(const tune::Config& config, const QuantizeOptions& o,
                          std::shared_ptr<const quant::ActivationRanges> ranges);

}  // namespace docquant::job
