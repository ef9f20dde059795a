#include "strategy.h"

#include <fmt/core.h>

#include <algorithm>
#include <numeric>

namespace docquant::tune {

const char* to_string(NodeMode mode) {
  switch (mode) {
    case NodeMode::fp32: return "fp32";
    case NodeMode::int8_per_tensor: return "int8 per-tensor";
    case NodeMode::int8_per_channel: return "int8 per-channel";
  }
  return "?";
}

int Config::fp32_count() const {
  return static_cast<int>(std::count_if(nodes.begin(), nodes.end(),
                                         [](const auto& kv) { return kv.second == NodeMode::fp32; }));
}

namespace {

using Clock = std::chrono::steady_clock;

// Runs trials against the budget and records them; knows nothing of search order.
class TrialLog {
 public:
  // With `stop_at_first_pass` (INC's timeout 0), the first passing trial is chosen and
  // ends the search; without it the caller chooses among passing trials with choose().
  TrialLog(const TuneRequest& request, QuantizeStrategy strategy, bool stop_at_first_pass)
      : request_(request), start_(Clock::now()), stop_at_first_pass_(stop_at_first_pass) {
    result_.strategy = strategy;
  }

  // False when the budget is spent or (stopping at the first pass) a trial has passed.
  bool can_run() {
    if (result_.chosen) return false;
    if (static_cast<int>(result_.trials.size()) >= request_.budget.max_trials) {
      result_.stop_reason = "trial budget exhausted";
      return false;
    }
    if (request_.budget.max_time.count() > 0 && Clock::now() - start_ >= request_.budget.max_time) {
      result_.stop_reason = "time budget exhausted";
      return false;
    }
    return true;
  }

  // Evaluates `config` (unless the budget forbids) and returns its score.
  std::optional<double> run(const std::string& phase, const std::string& summary, const Config& config) {
    if (!can_run()) return std::nullopt;
    Trial t;
    t.index = static_cast<int>(result_.trials.size()) + 1;
    t.phase = phase;
    t.summary = summary;
    t.config = config;
    const auto t0 = Clock::now();
    t.score = request_.objective->score(config);
    t.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    t.passed = request_.criterion.met(request_.baseline, t.score);
    const int idx = static_cast<int>(result_.trials.size());
    if (!result_.best || t.score > result_.trials[*result_.best].score) result_.best = idx;
    if (t.passed && stop_at_first_pass_) choose(idx);
    result_.trials.push_back(t);
    if (request_.on_trial) request_.on_trial(result_.trials.back());
    return t.score;
  }

  void choose(int idx) {
    result_.chosen = idx;
    result_.stop_reason = "criterion met";
  }

  TuneResult finish() {
    if (result_.stop_reason.empty()) result_.stop_reason = "search exhausted";
    return std::move(result_);
  }

  TuneResult& result() { return result_; }

 private:
  const TuneRequest& request_;
  Clock::time_point start_;
  bool stop_at_first_pass_;
  TuneResult result_;
};

Config uniform(const Objective& o, NodeMode mode) {
  Config c;
  for (const auto& n : o.nodes) c.nodes[n] = mode;
  return c;
}

// `base` with the nodes at `indices` in fp32.
Config with_fp32(const Objective& o, const Config& base, const std::vector<std::size_t>& indices) {
  Config c = base;
  for (auto i : indices) c.nodes[o.nodes[i]] = NodeMode::fp32;
  return c;
}

std::string fallback_summary(const Objective& o, const std::vector<std::size_t>& indices, NodeMode mode) {
  if (indices.size() == 1) return fmt::format("{} ({}) in fp32, rest {}", o.nodes[indices[0]], o.op_types[indices[0]], to_string(mode));
  return fmt::format("{} of {} nodes in fp32, rest {}", indices.size(), o.nodes.size(), to_string(mode));
}

}  // namespace

TuneResult tune_basic(const TuneRequest& request) {
  const Objective& o = *request.objective;
  TrialLog log(request, QuantizeStrategy::basic, /*stop_at_first_pass=*/true);
  // Op-type-wise: every node quantized, per-channel first, then per-tensor; keep the better.
  NodeMode best_mode = NodeMode::int8_per_channel;
  double best_acc = -1;
  for (NodeMode mode : {NodeMode::int8_per_channel, NodeMode::int8_per_tensor}) {
    auto acc = log.run("op-type-wise", fmt::format("all {} nodes {}", o.nodes.size(), to_string(mode)), uniform(o, mode));
    if (!acc) return log.finish();
    if (*acc > best_acc) best_acc = *acc, best_mode = mode;
  }
  const Config base = uniform(o, best_mode);
  // Single-node fallback, one at a time, from the end of the graph.
  std::vector<std::pair<double, std::size_t>> measured;
  for (std::size_t k = o.nodes.size(); k-- > 0;) {
    auto acc = log.run("fallback 1 node", fallback_summary(o, {k}, best_mode), with_fp32(o, base, {k}));
    if (!acc) return log.finish();
    measured.emplace_back(*acc, k);
  }
  // Cumulative fallback in order of the score each single fallback reached (best first;
  // ties keep the end-of-graph order in which they were measured).
  std::stable_sort(measured.begin(), measured.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<std::size_t> fallen;
  for (const auto& [acc, k] : measured) {
    fallen.push_back(k);
    if (fallen.size() < 2) continue;                  // one node alone was measured above
    if (fallen.size() == o.nodes.size()) break;       // all fp32 is no quantization at all
    if (!log.run("cumulative fallback", fallback_summary(o, fallen, best_mode), with_fp32(o, base, fallen))) break;
  }
  return log.finish();
}

TuneResult tune_sensitivity(const TuneRequest& request) {
  const Objective& o = *request.objective;
  if (!o.sensitivity) return tune_basic(request);
  // The first trial (everything quantized) ends the search if it passes; after that the
  // binary search keeps going past a pass to find the fewest fp32 nodes that pass.
  TrialLog log(request, QuantizeStrategy::sensitivity, /*stop_at_first_pass=*/false);
  const NodeMode mode = request.default_mode;
  const Config base = uniform(o, mode);
  auto first = log.run("all quantized", fmt::format("all {} nodes {}", o.nodes.size(), to_string(mode)), base);
  if (!first) return log.finish();
  if (log.result().trials.back().passed) {
    log.choose(0);
    return log.finish();
  }
  // Rank once: most sensitive first (ties: later in the graph first, as basic's order).
  const auto probe_start = Clock::now();
  const std::vector<double> error = o.sensitivity(mode);
  log.result().probe_seconds = std::chrono::duration<double>(Clock::now() - probe_start).count();
  log.result().sensitivity = error;
  std::vector<std::size_t> order(o.nodes.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return error[a] != error[b] ? error[a] > error[b] : a > b;
  });
  const auto top = [&](std::size_t k) {
    return std::vector<std::size_t>(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k));
  };

  // The smallest k whose top-k fallback passes. k = 0 failed above; k = n (everything
  // fp32) passes by definition and is never evaluated. Most models need only a few nodes
  // in fp32, so k grows 1, 2, 4, … until a pass (a gallop), then a binary search closes
  // the gap: about 2·log2(k) + 1 evaluations, 2 when one node is enough.
  std::size_t lo = 0, hi = o.nodes.size();
  std::optional<int> smallest_passing;
  const auto try_k = [&](std::size_t k, const char* phase) {
    if (!log.run(phase, fallback_summary(o, top(k), mode), with_fp32(o, base, top(k)))) return false;
    if (log.result().trials.back().passed) {
      hi = k;
      smallest_passing = static_cast<int>(log.result().trials.size()) - 1;
    } else {
      lo = k;
    }
    return true;
  };
  bool budget_left = true;
  for (std::size_t k = 1; k < hi && budget_left && !smallest_passing; k *= 2) budget_left = try_k(k, "gallop");
  while (budget_left && hi - lo > 1) budget_left = try_k(lo + (hi - lo) / 2, "binary search");
  if (smallest_passing) log.choose(*smallest_passing);
  return log.finish();
}

}  // namespace docquant::tune
