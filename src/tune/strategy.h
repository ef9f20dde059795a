#pragma once
// Criterion-driven tuning: which quantizable nodes to keep in fp32, and in which
// granularity to quantize the rest, so that the score (accuracy, or agreement with fp32)
// meets the criterion.
//
// Strategies see the model only through an Objective (node names + a function that
// measures a configuration), so they are pure search logic, testable on their own.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "criterion.h"
#include "docquant/quantize.h"

namespace docquant::tune {

enum class NodeMode { fp32, int8_per_tensor, int8_per_channel };
const char* to_string(NodeMode mode);

// One mode per quantizable node, by node name.
struct Config {
  std::map<std::string, NodeMode> nodes;
  int fp32_count() const;
};

struct Objective {
  std::vector<std::string> nodes;     // quantizable nodes in graph order
  std::vector<std::string> op_types;  // their op types, same order
  // Full evaluation of a configuration: its score on the calibration data, as the
  // criterion defines it (higher is better for the search's "best").
  std::function<double(const Config&)> score;
  // Optional cheap probe (sensitivity strategy): for each node, the output error on a
  // sample when that node alone is quantized (others fp32). Higher = more sensitive.
  std::function<std::vector<double>(NodeMode)> sensitivity;
};

struct Budget {
  int max_trials = 100;                       // full evaluations, baseline excluded (INC's max_trials)
  std::chrono::duration<double> max_time{0};  // 0: no time limit
};

struct Trial {
  int index = 0;        // 1-based
  std::string phase;    // e.g. "op-type-wise", "fallback 1 node", "binary search"
  std::string summary;  // readable description of the configuration
  Config config;
  double score = 0;  // the criterion's: accuracy or agreement
  double seconds = 0;
  bool passed = false;
};

struct TuneResult {
  QuantizeStrategy strategy = QuantizeStrategy::sensitivity;  // the one that ran (sensitivity falls back to basic)
  std::vector<Trial> trials;
  std::optional<int> chosen;  // index into trials of the configuration that met the criterion
  std::optional<int> best;    // index of the best-scoring trial (for best-effort output)
  double probe_seconds = 0;   // time spent in sensitivity probes, outside full evaluations
  std::vector<double> sensitivity;  // the probe's score per Objective node, when it ran
  std::string stop_reason;    // "criterion met", "trial budget exhausted", "time budget exhausted", "search exhausted"
};

// Called after each trial (progress reporting); must not throw.
using TrialCallback = std::function<void(const Trial&)>;

struct TuneRequest {
  const Objective* objective = nullptr;
  Criterion criterion;
  double baseline = 0;
  Budget budget;
  NodeMode default_mode = NodeMode::int8_per_channel;
  TrialCallback on_trial;
};

// INC 1.x "basic": op-type-wise configurations first (per-channel, then per-tensor),
// then each node alone in fp32 from the end of the graph, then cumulative fallback in
// order of the score each single fallback reached. First passing configuration wins.
TuneResult tune_basic(const TuneRequest& request);

// docquant's default: all nodes quantized; if that fails, rank nodes once by the
// sensitivity probe, then search how many of the most sensitive to keep in fp32: k = 1, 2,
// 4, … until one passes, then a binary search below it (the fewest k that passes).
// Falls back to tune_basic's order when no sensitivity probe is available.
TuneResult tune_sensitivity(const TuneRequest& request);

}  // namespace docquant::tune
