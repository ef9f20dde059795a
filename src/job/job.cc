// The quantize job: load and check every input, measure fp32, search a plan with a
// strategy, write the chosen model and its record into a staged output folder.
#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>
#include <utility>

#include "agreement.h"
#include "batching.h"
#include "calibrate.h"
#include "csv.h"
#include "dataset.h"
#include "metrics.h"
#include "docquant/error.h"
#include "docquant/quantize.h"
#include "docquant/setfit.h"
#include "docquant/tokenizer.h"
#include "docquant/version.h"
#include "file_util.h"
#include "baseline_cache.h"
#include "graph_optimizer.h"
#include "int8_kernel.h"
#include "option_limits.h"
#include "model_form.h"
#include "onnx_io.h"
#include "predictor.h"
#include "probe.h"
#include "process_memory.h"
#include "quantize_pass.h"
#include "record.h"
#include "scratch_file.h"
#include "smoothing.h"
#include "staged_folder.h"
#include "strategy.h"
#include "text_rows.h"
#include "tokenizer_fit.h"
#include "trial_plan.h"
#include "trial_tally.h"

namespace docquant {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// The host's int8 kernel, and the warning a model that can saturate needs: its accuracy
// was measured with one arithmetic and may be deployed on CPUs with the other.
void describe_int8_host(QuantizeReport& report) {
  const quant::Int8Path path = quant::host_int8_path();
  report.int8_path = std::string(quant::to_string(path));
  report.int8_exact = !quant::int8_path_saturates(path);
  if (report.nodes_that_can_saturate == 0) return;
  const std::size_t n = report.nodes_that_can_saturate;
  if (report.int8_exact) {
    report.warnings.push_back(fmt::format(
        "full-range weights (--full_range): {} int8 node{} can saturate on CPUs without VNNI (AVX2-only, or "
        "AVX-512 without VNNI), where pairs of u8 x s8 products are summed into int16; the accuracy measured here "
        "({}, exact) may not hold there. Drop --full_range for a model that computes the same on every x86 CPU",
        n, n == 1 ? "" : "s", report.int8_path));
  } else {
    report.warnings.push_back(fmt::format(
        "full-range weights (--full_range): {} int8 node{} can saturate on this CPU's int8 kernel ({}: pairs of "
        "u8 x s8 products summed into int16); the accuracy measured here holds on CPUs like this one, but on CPUs "
        "with VNNI the same model.onnx does not saturate and scores differently. Drop --full_range for a model "
        "that computes the same on every x86 CPU",
        n, n == 1 ? "" : "s", report.int8_path));
  }
}

// Wall seconds per phase of the job, summed, in the order phases first ran; and the peak
// resident memory when each phase first ended (so the phase that raised it shows).
class PhaseTimes {
 public:
  // Adds the time since `t0` to `phase` and returns now (the next phase's start).
  Clock::time_point add(const std::string& phase, Clock::time_point t0) {
    const auto now = Clock::now();
    add_seconds(phase, std::chrono::duration<double>(now - t0).count());
    if (std::none_of(peaks_.begin(), peaks_.end(), [&](const auto& p) { return p.first == phase; })) {
      peaks_.emplace_back(phase, peak_rss_bytes());
    }
    return now;
  }
  const std::vector<std::pair<std::string, std::int64_t>>& peaks() const { return peaks_; }
  void add_seconds(const std::string& phase, double s) {
    auto it = std::find_if(list_.begin(), list_.end(), [&](const auto& p) { return p.first == phase; });
    if (it == list_.end()) {
      list_.emplace_back(phase, s);
    } else {
      it->second += s;
    }
  }
  const std::vector<std::pair<std::string, double>>& list() const { return list_; }

 private:
  std::vector<std::pair<std::string, double>> list_;
  std::vector<std::pair<std::string, std::int64_t>> peaks_;
};

// The calibration data tokenized and batched once, plus the sensitivity probe's sample.
struct CalibrationSet : runtime::LabelledDataset {
  std::vector<runtime::Batch> sample_batches;
  std::size_t sample_rows = 0;
};

CalibrationSet load_calibration(const QuantizeOptions& o, const TextRows& rows, const setfit::SetFitFolder& folder,
                                const Tokenizer& tokenizer, const runtime::BatchPolicy& policy) {
  CalibrationSet set;
  static_cast<runtime::LabelledDataset&>(set) = runtime::make_dataset(rows, folder, tokenizer, policy, o.threads);
  // A fixed-seed sample (Fisher-Yates on mt19937_64, whose output the standard fixes).
  std::vector<std::size_t> order(set.rows());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::mt19937_64 rng(o.seed);
  for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
  order.resize(std::min(order.size(), o.sensitivity_sample));
  std::sort(order.begin(), order.end());
  std::vector<Encoding> sample;
  for (auto i : order) sample.push_back(set.encodings[i]);
  set.sample_rows = sample.size();
  set.sample_batches = runtime::make_batches(sample, policy, tokenizer.pad_id());
  return set;
}

// Accuracy on calibration rows of a single class cannot show a quantized model drifting
// towards that class, so such data is refused before any work. (Agreement can: a flip is
// a flip whatever the class.)
void check_calibration_classes(const TextRows& rows) {
  for (const auto& label : rows.labels) {
    if (label != rows.labels.front()) return;
  }
  throw InputError(fmt::format("{}: all {} rows have the label '{}'; accuracy on one class cannot show a quantized "
                               "model drifting towards it. Calibrate on rows of every class, or tune on agreement "
                               "with fp32 (--criterion agreement)",
                               rows.source, rows.labels.size(), rows.labels.front().substr(0, 80)));
}

tune::Config uniform_config(const std::vector<std::string>& nodes, tune::NodeMode mode) {
  tune::Config c;
  for (const auto& n : nodes) c.nodes[n] = mode;
  return c;
}

// How sure fp32 was of row r's reference answer: the reference class's probability minus the
// best other class's, or for a label set (reference: its label_set_id) the nearest label's
// distance from 0.5 on the reference's side; negative where fp32's answer is not the reference.
double reference_margin(const runtime::Predictions& fp32, std::size_t reference, std::size_t r, bool label_sets) {
  if (fp32.proba.empty()) return fp32.predicted[r] == reference ? 1.0 : -1.0;
  const std::size_t C = fp32.num_classes;
  const double* p = fp32.proba.data() + r * C;
  if (label_sets) {
    double m = 1.0;
    for (std::size_t k = 0; k < C; ++k) m = std::min(m, (reference >> k) & 1 ? p[k] - 0.5 : 0.5 - p[k]);
    return m;
  }
  double other = -1.0;
  for (std::size_t c = 0; c < C; ++c) {
    if (c != reference) other = std::max(other, p[c]);
  }
  return p[reference] - other;
}

// The trials' batches, riskiest rows first: by fp32's margin for the reference answer
// (reference_margin; rows fp32 gets wrong negative; for agreement, where fp32's answer is the
// reference, how near a tie it was: near ties first). With per-token
// activations a row's result does not depend on its batch, so rows are regrouped: each
// quarter of the risk order is cut into length-sorted batches. With per-tensor activations
// the batches must stay as evaluated (their composition changes results); only their order
// changes, by their riskiest row.
std::vector<runtime::Batch> risk_ordered_batches(const CalibrationSet& cal, const runtime::Predictions& fp32,
                                                 const std::vector<std::size_t>& reference,
                                                 const runtime::BatchPolicy& policy, std::int64_t pad_id,
                                                 bool regroup) {
  const std::size_t n = cal.rows();
  std::vector<double> margin(n, 0.0);
  for (std::size_t r = 0; r < n; ++r) margin[r] = reference_margin(fp32, reference[r], r, !fp32.label_set.empty());
  if (!regroup) {
    std::vector<runtime::Batch> batches = cal.batches;
    const auto riskiest = [&](const runtime::Batch& b) {
      double m = 2.0;
      for (std::size_t r : b.rows) m = std::min(m, margin[r]);
      return m;
    };
    std::stable_sort(batches.begin(), batches.end(),
                     [&](const runtime::Batch& a, const runtime::Batch& b) { return riskiest(a) < riskiest(b); });
    return batches;
  }
  std::vector<std::size_t> order(n);
  for (std::size_t r = 0; r < n; ++r) order[r] = r;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return margin[a] < margin[b]; });
  std::vector<runtime::Batch> out;
  const std::size_t quarter = (n + 3) / 4;
  for (std::size_t start = 0; start < n; start += quarter) {
    const std::vector<std::size_t> rows(order.begin() + static_cast<std::ptrdiff_t>(start),
                                        order.begin() + static_cast<std::ptrdiff_t>(std::min(n, start + quarter)));
    std::vector<Encoding> encodings;
    for (std::size_t r : rows) encodings.push_back(cal.encodings[r]);
    for (auto& b : runtime::make_batches(encodings, policy, pad_id)) {
      for (auto& r : b.rows) r = rows[r];  // back to calibration row indices
      out.push_back(std::move(b));
    }
  }
  return out;
}

// The fp32 graph the trials quantize, and the file it was saved to for the baseline. While
// the local probe's session runs it holds every fp32 weight itself, so the proto is released
// and read back from that file when a trial next needs it (issue 19: ~416 MiB less at the
// probe's peak on MPNet, ~0.5 s to parse). The file is the proto's deterministic
// serialization, so the graph read back is the same one and so is every model.onnx.
class Fp32Graph {
 public:
  Fp32Graph(onnx::ModelProto& proto, fs::path file) : proto_(proto), file_(std::move(file)) {}
  const onnx::ModelProto& get() {
    if (released_) {
      proto_ = model::load_model(file_, /*run_checker=*/false).model;
      released_ = false;
    }
    return proto_;
  }
  void release() {
    model::free_model(proto_);
    released_ = true;
  }

 private:
  onnx::ModelProto& proto_;
  fs::path file_;
  bool released_ = false;
};

// A configuration quantized and loaded, ready to evaluate; kept after a passing trial so
// that the output is the evaluated model's file, not a second quantize pass.
struct PreparedTrial {
  tune::Config config;
  std::vector<quant::NodeDecision> decisions;
  ScratchFile file;  // the quantized model, as ONNX Runtime read it
  std::unique_ptr<runtime::Predictor> predictor;
  double pass_seconds = 0;     // quantize pass + writing the file
  double session_seconds = 0;  // ONNX Runtime session creation
};

// Touches nothing but its arguments (all read-only) and `file`, so it may run on another
// thread. The quantized model goes to `file` and its proto is freed before ONNX Runtime
// reads the file: the weights are held once, by the session, not also as a proto and as
// serialized bytes (issue 19).
PreparedTrial prepare_trial(const tune::Config& config, const onnx::ModelProto& fp32, const QuantizeOptions& o,
                            const std::shared_ptr<const quant::ActivationRanges>& ranges,
                            const runtime::ModelSignature& signature, const setfit::SetFitFolder& folder,
                            const runtime::SessionConfig& session, const std::string& model_name,
                            const fs::path& file) {
  PreparedTrial t;
  const auto t0 = Clock::now();
  t.config = config;
  {
    auto q = quant::quantize(fp32, job::plan_for(config, o, ranges));
    t.decisions = std::move(q.decisions);
    t.file = ScratchFile(file);
    model::save_model(q.model, file);
  }
  release_free_memory();
  const auto t1 = Clock::now();
  t.predictor = std::make_unique<runtime::Predictor>(
      runtime::Predictor::from_file(file, signature, folder, session, model_name));
  t.pass_seconds = std::chrono::duration<double>(t1 - t0).count();
  t.session_seconds = seconds_since(t1);
  return t;
}

// Where a trial writes its model: in the staged output folder, so that a passing trial's
// file becomes model.onnx by a rename. The first trial, prepared during the baseline, has
// its own name: the strategy may evaluate other configurations before it.
fs::path trial_file(const fs::path& dir, std::size_t index) { return dir / fmt::format("trial_{}.onnx", index); }
fs::path first_trial_file(const fs::path& dir) { return dir / "trial_first.onnx"; }

// Option values that no input can make right, refused before any work.
void check_options(const QuantizeOptions& o) {
  if (!(o.criterion >= 0) || (o.relative_criterion && o.criterion >= 1)) {
    throw UsageError(fmt::format("accuracy criterion {} is out of range", o.criterion));
  }
  if (o.max_trials < 1) throw UsageError("--max_trials must be at least 1");
  if (!(o.max_time.count() >= 0) || !std::isfinite(o.max_time.count())) {
    throw UsageError(fmt::format("--timeout must be 0 (no limit) or a positive number of seconds, not {}",
                                 o.max_time.count()));
  }
  check_batch_size(o.batch_size, "--batch_size");
  check_threads(o.threads, "--threads");
  if (o.sensitivity_sample < 1) throw UsageError("sensitivity_sample must be at least 1");
  if (!(o.min_agreement > 0 && o.min_agreement <= 1)) {
    throw UsageError(fmt::format("--min_agreement {} is out of range (0, 1]", o.min_agreement));
  }
  if (o.calibration_data && !o.calibration_texts.empty()) {
    throw UsageError("give calibration data as a file or as texts, not both");
  }
  if (!(o.smooth_alpha >= 0.0f && o.smooth_alpha <= 1.0f)) {
    throw UsageError(fmt::format("--smooth_alpha must be in [0, 1], not {}", o.smooth_alpha));
  }
  if (o.approach == QuantizeApproach::static_ && !o.calibration_data && o.calibration_texts.empty()) {
    throw UsageError("--approach static needs --calibration_data: its activation scales are calibrated on the "
                     "calibration texts");
  }
}

// What the trials are scored on: the option's, else accuracy on labelled rows and
// agreement with fp32 on unlabelled ones.
CriterionMetric criterion_metric(const QuantizeOptions& o, const std::optional<TextRows>& rows) {
  const bool labelled = rows && rows->labelled();
  if (o.criterion_metric == CriterionMetric::accuracy && rows && !labelled) {
    throw UsageError(fmt::format("{}: the calibration texts have no labels, so accuracy cannot be measured on them; "
                                 "tune on agreement with fp32 (--criterion agreement) or give a label column",
                                 rows->source));
  }
  if (o.criterion_metric) return *o.criterion_metric;
  return labelled || !rows ? CriterionMetric::accuracy : CriterionMetric::agreement;
}

// --metric micro_f1 scores the accuracy criterion on label sets.
void check_accuracy_metric(const QuantizeOptions& o, const setfit::SetFitFolder& folder, CriterionMetric metric) {
  if (o.accuracy_metric != AccuracyMetric::micro_f1) return;
  if (!folder.head.multi_label()) {
    throw UsageError(fmt::format("--metric micro_f1 scores label sets, but the head of {} gives one class per text "
                                 "(its micro-F1 would be its accuracy): use --metric accuracy",
                                 o.setfit_folder.string()));
  }
  if (metric != CriterionMetric::accuracy) {
    throw UsageError("--metric micro_f1 scores the accuracy criterion; tuning on agreement with fp32 compares "
                     "whole label sets");
  }
}

// What the accuracy figures measure, for the report and its record.
std::string accuracy_measures(const QuantizeOptions& o, const setfit::SetFitFolder& folder) {
  if (!folder.head.multi_label()) return "accuracy";
  return o.accuracy_metric == AccuracyMetric::micro_f1 ? "micro-F1 over labels"
                                                       : "exact-match accuracy (whole label set right)";
}

// The accuracy criterion's score of `p`: accuracy (exact match for label sets) or micro-F1.
double accuracy_score(const runtime::Predictions& p, const runtime::LabelledDataset& cal, AccuracyMetric metric) {
  return metric == AccuracyMetric::micro_f1 ? runtime::micro_f1(p, cal) : runtime::accuracy(p, cal.labels);
}

tune::Criterion job_criterion(const QuantizeOptions& o, CriterionMetric metric) {
  return {o.relative_criterion ? tune::Criterion::Kind::relative : tune::Criterion::Kind::absolute, o.criterion,
          o.higher_is_better, metric, o.min_agreement};
}

// Files of the SetFit folder that travel with the model: everything but body weights.
bool is_body_weight(const fs::path& p) {
  static const char* kWeights[] = {".bin", ".safetensors", ".h5", ".msgpack", ".onnx", ".ot", ".pt", ".pth"};
  const std::string ext = p.extension().string();
  return std::any_of(std::begin(kWeights), std::end(kWeights), [&](const char* w) { return ext == w; });
}

// Folders (even empty ones: sentence-transformers' 2_Normalize holds no file) and files
// of the SetFit folder that travel with the model, relative to it, in sorted order.
struct SetFitContents {
  std::vector<fs::path> folders;
  std::vector<fs::path> files;
  std::vector<fs::path> sources;  // files[i] with its links followed: what is copied
};

// A file of the SetFit folder is copied into the output, so a link in it must not reach
// outside the model: a config.json linking to ~/.ssh/id_rsa (a tar archive keeps such a
// link) would otherwise put the key in a model its user then shares. Allowed: the SetFit
// folder itself, and the folder of the real model_head.pkl when that file is a link (a
// Hugging Face cache snapshot links every file into one blobs/ folder; a folder of links to
// one trained model's files does the same) — the rule external ONNX data follows too.
std::vector<fs::path> setfit_roots(const fs::path& folder) {
  std::error_code ec;
  std::vector<fs::path> roots = {fs::canonical(folder, ec)};
  const fs::path head = folder / "model_head.pkl";
  if (fs::is_symlink(head, ec)) {
    const fs::path real_head = fs::canonical(head, ec);
    if (!ec) roots.push_back(real_head.parent_path());
  }
  return roots;
}

bool inside_any(const fs::path& real, const std::vector<fs::path>& roots) {
  return std::any_of(roots.begin(), roots.end(), [&](const fs::path& root) {
    const fs::path rel = real.lexically_relative(root);
    return !rel.empty() && *rel.begin() != ".." && *rel.begin() != ".";
  });
}

// Read before any work, so that an entry that cannot be read (a link loop, a name too
// long) is an input error at once, not an internal error after tuning.
SetFitContents setfit_contents(const fs::path& folder) {
  SetFitContents c;
  std::error_code ec;
  const auto fail = [&](const fs::path& p) {
    throw InputError(fmt::format("{}: {}", p.string(), ec.message()));
  };
  // A sub-folder may be a symlink (a folder assembled from links, as Hugging Face's cache
  // does for files): follow it, or its files would be missing from the output. Each real
  // folder is entered once, so a link back up the tree is refused, not followed forever.
  fs::recursive_directory_iterator it(folder, fs::directory_options::follow_directory_symlink, ec);
  if (ec) fail(folder);
  std::set<fs::path> entered = {fs::canonical(folder, ec)};
  if (ec) fail(folder);
  const std::vector<fs::path> roots = setfit_roots(folder);
  std::vector<std::pair<fs::path, fs::path>> files;  // relative name, real file
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) fail(folder);
    const fs::path& p = it->path();
    const std::string name = p.filename().string();
    const fs::file_type type = input_path_type(p);
    if (type == fs::file_type::directory) {
      if (name == "onnx" || name.starts_with(".")) {
        it.disable_recursion_pending();
      } else {
        const fs::path real = fs::canonical(p, ec);
        if (ec) fail(p);
        if (!entered.insert(real).second)
          throw InputError(fmt::format("{}: links to {}, a folder already read (a link loop?)", p.string(), real.string()));
        c.folders.push_back(p.lexically_relative(folder));
      }
    } else if (type == fs::file_type::regular && !is_body_weight(p)) {
      const fs::path real = fs::canonical(p, ec);
      if (ec) fail(p);
      if (!inside_any(real, roots)) {
        throw InputError(fmt::format(
            "{}: links to '{}', outside the SetFit folder; quantize copies the folder's files into the output "
            "and copies none from elsewhere (a link could carry a private file into a model you share). If "
            "the file belongs to the model, copy it into the folder in place of the link",
            p.string(), real.string()));
      }
      files.emplace_back(p.lexically_relative(folder), real);
    }
  }
  if (ec) fail(folder);
  std::sort(c.folders.begin(), c.folders.end());
  std::sort(files.begin(), files.end());
  for (auto& [rel, real] : files) {
    c.files.push_back(rel);
    c.sources.push_back(real);
  }
  return c;
}

// Everything the fp32 baseline's predictions depend on (job/baseline_cache.h).
std::string baseline_key(const QuantizeOptions& o, const SetFitContents& contents, const std::string& fp32_sha256,
                         const runtime::BatchPolicy& policy) {
  nlohmann::ordered_json k;
  k["docquant"] = fmt::format("{} {}", kVersion, kGitCommit);
  k["onnxruntime"] = kOnnxRuntimeVersion;
  k["fp32_graph_sha256"] = fp32_sha256;
  nlohmann::ordered_json files = nlohmann::ordered_json::object();
  for (const auto& rel : contents.files) files[rel.generic_string()] = sha256_file(o.setfit_folder / rel);
  k["setfit_files"] = files;
  k["calibration_sha256"] = job::calibration_sha256(o);
  k["columns"] = {o.text_column, o.label_column};
  k["batching"] = policy.describe();
  k["threads"] = o.threads;
  return k.dump();
}

// The local probe's scores depend on the baseline's inputs (its key) and on the probe's own
// sample (seed, size) and on how it quantizes each node's twin.
std::string probe_key(const std::string& baseline_key, const job::LocalProbeRequest& probe, const QuantizeOptions& o,
                      std::size_t sample_rows) {
  nlohmann::ordered_json k;
  k["baseline"] = baseline_key;
  k["probe"] = "local";
  k["nodes"] = probe.nodes;
  k["sample"] = {{"seed", o.seed}, {"size", o.sensitivity_sample}, {"rows", sample_rows}};
  const quant::NodeConfig& c = probe.config;
  k["node_config"] = {{"quantize", c.quantize},
                      {"granularity", static_cast<int>(c.granularity)},
                      {"reduce_range", c.reduce_range},
                      {"activations", static_cast<int>(c.activations)}};
  k["plan"] = {{"fused_matmul", probe.plan.fused_matmul},
               {"quantize_embeddings", probe.plan.quantize_embeddings},
               {"activation_matmul", probe.plan.activation_matmul},
               {"per_node", probe.plan.per_node.size()}};
  return k.dump();
}

// What the trial loop reads: loaded, optimised and measured before tuning starts.
struct TrialInputs {
  const QuantizeOptions& o;
  Fp32Graph& fp32;
  const runtime::ModelSignature& signature;
  const setfit::SetFitFolder& folder;
  const runtime::SessionConfig& session;
  const std::string& model_name;
  const fs::path& scratch_dir;  // the staged output folder, where trials write their models
  const CalibrationSet& cal;
  const tune::Criterion& criterion;
  const job::TrialReferences& references;            // the labels and fp32's answers per row
  double baseline_score;                             // fp32's: its accuracy, or 1 for agreement
  std::size_t need;                                  // rows matching the criterion's reference (rows_needed)
  bool early_decisions;                              // a trial stops once it cannot reach `need`
  const std::vector<runtime::Batch>& trial_batches;  // riskiest rows first (risk_ordered_batches)
  const std::function<void(const std::string&)>& progress;
  const std::function<void(const std::string&, std::size_t, std::size_t)>& rows_progress;  // live rows done
  const std::function<void()>& check_cancel;
  const fs::path& cache;            // the baseline cache folder (probe scores go there too)
  const std::string& baseline_key;  // its key material for this run; empty: caching is off
  const std::shared_ptr<const quant::ActivationRanges>& ranges;  // static approach's calibration, else null
};

// Trial 1, prepared on a second thread while the baseline was measured.
struct FirstTrial {
  const tune::Config& config;
  std::future<PreparedTrial>& prepared;
};

struct TuningOutcome {
  std::shared_ptr<const quant::ActivationRanges> ranges;  // static approach's calibration, else null
  tune::Config chosen;                        // the configuration to write
  std::optional<PreparedTrial> last_passing;  // the latest passing trial: the output, unless best-effort picks a failed one
  std::map<std::string, double> sensitivity;  // the probe's score per node, when it ran
  std::vector<std::size_t> chosen_predicted;  // the chosen trial's class per calibration row
};

// What the trial loop keeps of each evaluated trial, in order.
struct TrialRecord {
  job::TrialScores scores;
  std::vector<std::size_t> predicted;  // every row's class, when every row ran
};

// The report's trials, and the configuration to write: the chosen trial's, or with
// --best_effort the best-scoring one's. Throws CriterionNotMetError otherwise, with the
// figure the best trial reached.
void choose_trial(const tune::TuneResult& result, std::vector<TrialRecord>& evaluated, const TrialInputs& in,
                  QuantizeReport& report, TuningOutcome& out) {
  for (const auto& t : result.trials) {
    const job::TrialScores& s = evaluated.at(static_cast<std::size_t>(t.index - 1)).scores;
    report.trials.push_back(
        {t.index, t.phase, t.summary, t.config.fp32_count(), s.accuracy, s.agreement, t.seconds, t.passed, s.rows_run});
  }
  std::optional<int> pick = result.chosen;
  if (!pick && in.o.best_effort && result.best) {
    pick = result.best;
    in.progress(fmt::format("no trial met the criterion; writing the best one by {} (--best_effort)",
                            to_string(in.criterion.metric)));
  }
  if (pick) {
    const tune::Trial& t = result.trials[static_cast<std::size_t>(*pick)];
    TrialRecord& chosen = evaluated.at(static_cast<std::size_t>(t.index - 1));
    out.chosen = t.config;
    out.chosen_predicted = std::move(chosen.predicted);
    report.final_accuracy = chosen.scores.accuracy;
    report.final_agreement = chosen.scores.agreement;
    report.criterion_met = result.chosen.has_value();
    return;
  }
  const tune::Criterion& criterion = in.criterion;
  std::string best;
  if (result.best) {
    const auto& b = result.trials[static_cast<std::size_t>(*result.best)];
    const std::size_t run = evaluated.at(static_cast<std::size_t>(b.index - 1)).scores.rows_run;
    const std::size_t n = in.cal.rows();
    best = fmt::format("; the best trial (#{}: {}) reached {} {}{:.4f}", b.index, b.summary,
                       to_string(criterion.metric),
                       run < n ? fmt::format("at most (decided after {} of {} rows) ", run, n) : "", b.score);
  }
  const bool agreement = criterion.metric == CriterionMetric::agreement;
  throw CriterionNotMetError(fmt::format(
      "no configuration met the criterion ({}: need >= {:.4f}{}) in {} trials ({}){}; no output was written. Relax "
      "the criterion ({}), allow more trials (--max_trials), or pass --best_effort to keep the best trial",
      criterion.describe(), criterion.threshold(in.baseline_score),
      agreement ? "" : fmt::format(" against fp32 {:.4f}", in.baseline_score), result.trials.size(),
      result.stop_reason, best, agreement ? "--min_agreement" : "--relative/--absolute"));
}

// The trial loop: the strategy's search over `objective`'s nodes, each configuration
// evaluated on the calibration data (the probes rank nodes on its sample). Fills the
// report's strategy, trials and final scores. Throws CriterionNotMetError when no trial
// meets the criterion and --best_effort is off.
TuningOutcome run_trials(const TrialInputs& in, tune::Objective objective, tune::NodeMode default_mode,
                         FirstTrial first, PhaseTimes& phases, QuantizeReport& report) {
  const QuantizeOptions& o = in.o;
  Fp32Graph& fp32 = in.fp32;
  const runtime::ModelSignature& signature = in.signature;
  const setfit::SetFitFolder& folder = in.folder;
  const runtime::SessionConfig& session = in.session;
  const std::string& model_name = in.model_name;
  const CalibrationSet& cal = in.cal;
  const tune::Criterion& criterion = in.criterion;
  const auto& progress = in.progress;
  const auto& check_cancel = in.check_cancel;
  const auto& trial_batches = in.trial_batches;
  const auto& first_config = first.config;
  auto& first_trial = first.prepared;
  const std::size_t need = in.need;
  const bool early_decisions = in.early_decisions;
  TuningOutcome out;
  std::vector<TrialRecord> evaluated;  // per trial, in order

  objective.score = [&](const tune::Config& config) {
    check_cancel();
    PreparedTrial trial;
    auto t_trial = Clock::now();
    if (first_trial.valid() && config.nodes == first_config.nodes) {
      trial = first_trial.get();
      phases.add("trial 1: wait for its preparation", t_trial);
      phases.add_seconds("trial 1: quantize pass + session (second thread, during the baseline)",
                         trial.pass_seconds + trial.session_seconds);
    } else {
      trial = prepare_trial(config, fp32.get(), o, in.ranges, signature, folder, session, model_name,
                            trial_file(in.scratch_dir, evaluated.size() + 1));
      phases.add_seconds("trials: quantize pass", trial.pass_seconds);
      phases.add_seconds("trials: session", trial.session_seconds);
    }
    t_trial = Clock::now();
    const std::size_t n = cal.rows();
    std::size_t next_batch = 0;
    job::TrialTally tally(in.references, need, early_decisions);
    const auto decided = [&](const runtime::Predictions& p, std::size_t rows_done) {
      in.rows_progress(fmt::format("trial {}", evaluated.size() + 1), rows_done, n);
      return tally.add(trial_batches[next_batch++].rows, p.predicted, rows_done);
    };
    runtime::Predictions p = runtime::predict_dataset(*trial.predictor, cal, check_cancel, &trial_batches, decided);
    // Stopped early: the best scores the remaining rows could have given, which miss the criterion.
    job::TrialScores scores = tally.scores();
    if (o.accuracy_metric == AccuracyMetric::micro_f1) {  // not a count of rows: never decided early
      scores.accuracy = scores.criterion = accuracy_score(p, cal, o.accuracy_metric);
    }
    evaluated.push_back({scores, scores.rows_run == n ? std::move(p.predicted) : std::vector<std::size_t>{}});
    phases.add("trials: evaluate", t_trial);
    trial.predictor.reset();
    if (criterion.met(in.baseline_score, scores.criterion)) out.last_passing = std::move(trial);  // a failing trial's file goes
    trial = PreparedTrial{};
    release_free_memory();
    return scores.criterion;
  };
  if (o.sensitivity_probe == SensitivityProbe::local) {
    // One session ranks every node: each node's own output error when it alone is
    // quantized (job/probe.h), on the sample, under the evaluation's session settings.
    objective.sensitivity = [&](tune::NodeMode mode) {
      job::LocalProbeRequest probe;
      probe.fp32 = &fp32.get();
      // Trial 1's pass, on the second thread, reads the proto until its preparation is taken.
      probe.release_inputs = [&] {
        if (!first_trial.valid()) fp32.release();
      };
      probe.nodes = objective.nodes;
      probe.config = job::plan_for({}, o, in.ranges).defaults;
      probe.config.quantize = true;
      probe.config.granularity = mode == tune::NodeMode::int8_per_channel ? quant::WeightGranularity::per_channel
                                                                          : quant::WeightGranularity::per_tensor;
      probe.plan = job::plan_for({}, o, in.ranges);
      probe.signature = &signature;
      probe.batches = &cal.sample_batches;
      probe.session = session;
      probe.model_name = model_name;
      probe.scratch_file = in.scratch_dir / "sensitivity_probe.onnx";
      const std::string key = in.baseline_key.empty() ? "" : probe_key(in.baseline_key, probe, o, cal.sample_rows);
      if (!key.empty()) {
        if (auto cached = job::load_probe_scores(in.cache, key, probe.nodes.size())) {
          report.probe_cached = true;
          progress(fmt::format("  sensitivity probe: {} nodes' scores from the cache in {}", probe.nodes.size(),
                               in.cache.string()));
          return std::move(*cached);
        }
      }
      auto scores = job::local_sensitivity(probe);
      release_free_memory();  // the probe's graph and session
      if (!key.empty()) job::store_probe_scores(in.cache, key, scores);
      progress(fmt::format("  sensitivity probe (local, one session): {} nodes on {} rows", objective.nodes.size(),
                           cal.sample_rows));
      return scores;
    };
  } else if (!signature.output_is_label) {
    // Sensitivity of node i: mean absolute change of the class probabilities on the
    // sample when node i alone is quantized (one session per node). Needs probabilities.
    objective.sensitivity = [&](tune::NodeMode mode) {
      job::IsolatedProbeRequest probe;
      const std::string fp32_bytes = model::serialize_model(fp32.get());  // the baseline read a file: made here
      probe.fp32_bytes = &fp32_bytes;
      probe.nodes = objective.nodes.size();
      probe.quantized_alone = [&](std::size_t i) {
        tune::Config only;
        for (std::size_t j = 0; j < objective.nodes.size(); ++j) only.nodes[objective.nodes[j]] = i == j ? mode : tune::NodeMode::fp32;
        return model::serialize_model(quant::quantize(fp32.get(), job::plan_for(only, o, in.ranges)).model);
      };
      probe.signature = &signature;
      probe.folder = &folder;
      probe.batches = &cal.sample_batches;
      probe.rows = cal.sample_rows;
      probe.session = session;
      probe.model_name = model_name;
      probe.check_cancel = check_cancel;
      probe.progress = progress;
      return job::isolated_sensitivity(probe);
    };
  }

  tune::TuneRequest request;
  request.objective = &objective;
  request.criterion = criterion;
  request.baseline = in.baseline_score;
  request.budget.max_trials = o.max_trials;
  request.budget.max_time = o.max_time;
  request.default_mode = default_mode;
  const std::size_t n = cal.rows();
  request.on_trial = [&](const tune::Trial& t) {
    const job::TrialScores& s = evaluated.at(static_cast<std::size_t>(t.index - 1)).scores;
    const bool early = s.rows_run < n;
    const std::string outcome = early ? fmt::format("fail (decided after {} of {} rows)", s.rows_run, n)
                                      : (t.passed ? "pass" : "fail");
    const char* bound = early ? "<= " : "";
    const std::string acc = s.accuracy ? fmt::format("acc {}{:.4f}  ", bound, *s.accuracy) : "";
    progress(fmt::format("trial {:>3}  {:<20} {}agree {}{:.4f} {}  {:5.1f}s  {}", t.index, t.phase, acc, bound,
                         s.agreement, outcome, t.seconds, t.summary));
  };
  auto since = Clock::now();
  const tune::TuneResult result =
      o.strategy == QuantizeStrategy::basic ? tune::tune_basic(request) : tune::tune_sensitivity(request);
  phases.add("tuning (all)", since);
  report.strategy = result.strategy;
  report.stop_reason = result.stop_reason;
  report.probe_seconds = result.probe_seconds;
  if (!result.sensitivity.empty()) {
    report.probe = o.sensitivity_probe;
    for (std::size_t i = 0; i < objective.nodes.size(); ++i) out.sensitivity[objective.nodes[i]] = result.sensitivity[i];
  }
  choose_trial(result, evaluated, in, report, out);
  return out;
}

// The callbacks the job reports through, with absent ones made no-ops.
struct JobEvents {
  std::function<void(const std::string&)> progress;
  std::function<void(const std::string&, std::size_t, std::size_t)> rows_progress;
  std::function<void()> check_cancel;
};

JobEvents job_events(const QuantizeOptions& o) {
  JobEvents e;
  e.progress = [&o](const std::string& line) {
    if (o.progress) o.progress(line);
  };
  e.rows_progress = [&o](const std::string& phase, std::size_t done, std::size_t total) {
    if (o.row_progress) o.row_progress(phase, done, total);
  };
  e.check_cancel = [&o] {
    if (o.cancelled && o.cancelled()) {
      throw Error(ErrorKind::interrupted, "stopped by a signal (SIGINT/SIGTERM); no output was written");
    }
  };
  return e;
}

// Every input, read and checked before any work.
struct JobInputs {
  model::LoadResult loaded;  // its model is moved out by optimise_fp32; `file` stays
  std::string model_name;
  setfit::SetFitFolder folder;
  SetFitContents contents;
  Tokenizer tokenizer;
  runtime::ModelSignature signature;
  std::optional<TextRows> calibration;  // none: no calibration data
  CriterionMetric metric = CriterionMetric::accuracy;
};

// The calibration rows, read and checked before the model is loaded: a file (CSV or .txt)
// or the texts given in memory.
// `label_sets`: the head is multi-label, so an empty label is the empty set.
std::optional<TextRows> read_calibration(const QuantizeOptions& o, bool label_sets) {
  if (!o.calibration_texts.empty()) return text_rows_from_memory(o.calibration_texts, "calibration_texts");
  if (!o.calibration_data) return std::nullopt;
  require_rereadable_csv(*o.calibration_data);
  return read_text_rows(*o.calibration_data, o.text_column, o.label_column, label_sets);
}

JobInputs load_inputs(const QuantizeOptions& o, const JobEvents& events, PhaseTimes& phases, QuantizeReport& report) {
  auto since = Clock::now();
  // The SetFit folder first (small): whether the labels are label sets depends on its head.
  auto folder = setfit::SetFitFolder::load(o.setfit_folder);
  std::optional<TextRows> calibration = read_calibration(o, folder.head.multi_label());
  const CriterionMetric metric = criterion_metric(o, calibration);
  check_accuracy_metric(o, folder, metric);
  report.accuracy_measures = accuracy_measures(o, folder);
  if (calibration && metric == CriterionMetric::accuracy) check_calibration_classes(*calibration);
  auto loaded = model::load_model(o.onnx_model);
  since = phases.add("load model", since);
  for (const auto& note : loaded.notes) events.progress("note: " + note);
  const std::string model_name = loaded.file.string();
  SetFitContents contents = setfit_contents(o.setfit_folder);
  // Unpadded encodings: make_batches pads each batch to its own longest text.
  TokenizerOptions tokenizer_options;
  tokenizer_options.padding = Padding::none;
  auto tokenizer = Tokenizer::from_folder(o.setfit_folder, tokenizer_options);
  phases.add("load SetFit folder", since);
  auto signature = runtime::detect_signature(loaded.model, model_name);
  runtime::check_tokenizer_fits(loaded.model, tokenizer, model_name, o.setfit_folder.string());
  report.model_form = runtime::to_string(signature.form);
  events.progress(fmt::format("model: {}", signature.describe()));
  return {std::move(loaded),    model_name,           std::move(folder),      std::move(contents),
          std::move(tokenizer), std::move(signature), std::move(calibration), metric};
}

// The fp32 graph the trials quantize: the model as loaded, optimised for ONNX Runtime
// unless --no_optimize_graph. Moved out of `in`: one copy of the weights, not two.
onnx::ModelProto optimise_fp32(JobInputs& in, const QuantizeOptions& o, const runtime::SessionConfig& session,
                               const StagedFolder& out, const JobEvents& events, QuantizeReport& report) {
  onnx::ModelProto fp32 = std::move(in.loaded.model);
  if (o.optimize_graph) {
    // What INC quantizes too (ORT's extended level), plus docquant's fusions. The scratch
    // file sits in the staged output folder, so a full disk shows as one.
    const auto fused = runtime::optimize_graph(fp32, in.loaded.file, out.dir() / "fp32_ort_optimized.onnx", session,
                                               in.model_name);
    report.attentions_fused = fused.attentions;
    report.skip_layer_norms_fused = fused.skip_layer_norms;
    events.progress(fmt::format("graph optimised before quantizing: ONNX Runtime's extended level, then {} "
                                "self-attention subgraphs fused into Attention and {} residual Add + "
                                "LayerNormalization into SkipLayerNormalization",
                                report.attentions_fused, report.skip_layer_norms_fused));
  }
  report.size_before = static_cast<std::int64_t>(fs::file_size(in.loaded.file));
  return fp32;
}

// The progress line that says what fp32 scored and what a trial needs; `timing` says how
// the baseline was had.
std::string describe_baseline(const QuantizeReport& report, const tune::Criterion& criterion, std::size_t need,
                              const std::string& timing) {
  const std::string fp32 = report.baseline_accuracy
                               ? fmt::format("fp32 baseline {} {:.4f}", report.accuracy_measures, *report.baseline_accuracy)
                               : std::string("fp32 baseline on unlabelled rows (its answers are the labels)");
  if (criterion.metric == CriterionMetric::agreement) {
    return fmt::format("{} ({}); criterion: {} -> need >= {} of {} rows with fp32's class", fp32, timing,
                       criterion.describe(), need, report.calibration_rows);
  }
  return fmt::format("{} ({}); criterion: {} -> need >= {:.4f}", fp32, timing, criterion.describe(),
                     criterion.threshold(*report.baseline_accuracy));
}

// The fp32 predictions on the calibration rows: from the cache when an earlier run had
// the same inputs, else measured (and stored). `fp32_file` is the graph ONNX Runtime reads;
// the baseline's phases count from `since`.
runtime::Predictions measure_baseline(const QuantizeOptions& o, const JobInputs& in, const CalibrationSet& cal,
                                      const fs::path& fp32_file, const fs::path& cache, const std::string& key,
                                      const runtime::SessionConfig& session, const JobEvents& events,
                                      Clock::time_point since, PhaseTimes& phases, QuantizeReport& report) {
  std::optional<job::BaselineEntry> cached;
  if (o.use_baseline_cache) cached = job::load_baseline(cache, key, cal.rows(), in.folder.class_names.size());
  if (cached) {
    report.baseline_cached = true;
    phases.add("baseline: read from the cache", since);
    return std::move(cached->predictions);
  }
  runtime::Predictions baseline;
  {
    auto predictor = runtime::Predictor::from_file(fp32_file, in.signature, in.folder, session, in.model_name);
    since = phases.add("baseline: session", since);
    baseline = runtime::predict_dataset(predictor, cal, events.check_cancel, nullptr,
                                        [&](const runtime::Predictions&, std::size_t rows_done) {
                                          events.rows_progress("baseline", rows_done, cal.rows());
                                          return false;
                                        });
  }  // its session holds the fp32 weights, prepacked: not needed by the trials
  release_free_memory();
  phases.add("baseline: evaluate", since);
  if (o.use_baseline_cache) {
    job::store_baseline(cache, key, {baseline, cal.labels.empty() ? 0.0 : runtime::accuracy(baseline, cal.labels)});
  }
  return baseline;
}

// Static approach: every activation a quantizer reads, calibrated over the calibration rows
// on the fp32 graph (one evaluation's worth of ONNX Runtime time), then smoothed (SmoothQuant,
// --smooth_alpha): `fp32` is rewritten, with the same fp32 outputs. Null for dynamic.
std::shared_ptr<const quant::ActivationRanges> calibrate_activations(const QuantizeOptions& o, const JobInputs& in,
                                                                     onnx::ModelProto& fp32, const CalibrationSet& cal,
                                                                     const runtime::SessionConfig& session,
                                                                     const StagedFolder& out, const JobEvents& events,
                                                                     PhaseTimes& phases, QuantizeReport& report) {
  if (o.approach != QuantizeApproach::static_) return nullptr;
  const auto since = Clock::now();
  job::CalibrationRequest request;
  request.fp32 = &fp32;
  std::set<std::string> seen;
  for (const auto& c : quant::find_candidates(fp32)) {
    if (!c.activation.empty() && seen.insert(c.activation).second) request.tensors.push_back(c.activation);
  }
  request.signature = &in.signature;
  request.batches = &cal.batches;
  request.session = session;
  request.model_name = in.model_name;
  request.scratch_file = out.dir() / "fp32_calibration.onnx";
  request.check_cancel = events.check_cancel;
  const auto channels = job::calibrate_activation_ranges(request);
  quant::SmoothingResult smoothed = quant::smooth_activations(fp32, channels, o.smooth_alpha);
  report.tensors_smoothed = smoothed.tensors_smoothed;
  phases.add("static activations: calibrate", since);
  events.progress(fmt::format("static activations: {} tensors calibrated on {} rows in {:.1f}s; {} smoothed "
                              "(alpha {})",
                              channels.size(), cal.rows(), seconds_since(since), smoothed.tensors_smoothed,
                              o.smooth_alpha));
  return std::make_shared<const quant::ActivationRanges>(std::move(smoothed.ranges));
}

// Tuning on the calibration data: the baseline, then the strategy's trials. Trial 1 is
// known before the baseline is measured (every node quantized; basic's first op-type-wise
// trial is per-channel), so its quantize pass and session creation, mostly single-threaded,
// run on a second thread while the baseline evaluates.
TuningOutcome tune_on_calibration(const QuantizeOptions& o, const JobInputs& in, onnx::ModelProto& fp32,
                                const tune::Objective& objective, tune::NodeMode default_mode,
                                const runtime::SessionConfig& session, const runtime::BatchPolicy& policy,
                                const StagedFolder& out, const JobEvents& events, PhaseTimes& phases,
                                QuantizeReport& report) {
  const tune::Criterion criterion = job_criterion(o, in.metric);
  report.accuracy_checked = true;
  auto since = Clock::now();
  const CalibrationSet cal = load_calibration(o, *in.calibration, in.folder, in.tokenizer, policy);
  const auto t_load = since;
  since = phases.add("read and tokenize CSV", since);
  report.calibration_rows = cal.rows();
  report.calibration_labelled = in.calibration->labelled();
  events.progress(fmt::format("calibration data: {} {}rows tokenized in {:.1f}s; {}", cal.rows(),
                              report.calibration_labelled ? "" : "unlabelled ", seconds_since(t_load),
                              policy.describe()));
  const auto ranges = calibrate_activations(o, in, fp32, cal, session, out, events, phases, report);

  const tune::Config first_config = uniform_config(
      objective.nodes, o.strategy == QuantizeStrategy::basic ? tune::NodeMode::int8_per_channel : default_mode);
  std::future<PreparedTrial> first_trial = std::async(std::launch::async, [&] {
    return prepare_trial(first_config, fp32, o, ranges, in.signature, in.folder, session, in.model_name,
                         first_trial_file(out.dir()));
  });

  // The fp32 graph goes to a scratch file in the staged output, which ONNX Runtime reads
  // itself: its bytes are never held in memory beside the proto and ONNX Runtime's copy
  // (issue 19: 436 MB less at the peak on MPNet). It stays until tuning ends: the local
  // probe may release the proto and read it back from there (Fp32Graph).
  const fs::path fp32_file = out.dir() / "fp32_baseline.onnx";
  ScratchFile fp32_scratch(fp32_file);
  model::save_model(fp32, fp32_file);
  const fs::path cache = o.baseline_cache ? *o.baseline_cache : job::default_baseline_cache();
  const std::string key = baseline_key(o, in.contents, sha256_file(fp32_file), policy);
  const std::string no_key;
  const auto t_base = Clock::now();
  const runtime::Predictions baseline =
      measure_baseline(o, in, cal, fp32_file, cache, key, session, events, since, phases, report);
  // Unlabelled rows: fp32's answers are the reference; accuracy is not measured.
  const job::TrialReferences references{report.calibration_labelled ? &cal.labels : nullptr, &baseline.predicted,
                                        in.metric};
  if (report.calibration_labelled) report.baseline_accuracy = accuracy_score(baseline, cal, o.accuracy_metric);
  const double baseline_score = in.metric == CriterionMetric::agreement ? 1.0 : *report.baseline_accuracy;
  // Exact early decisions (issue 19): a trial fails once so many rows miss the reference
  // (the label, or fp32's class) that the rest cannot lift it to `need` -- the decision a
  // full evaluation makes. Rows fp32 gets wrong or nearly wrong run first, so failing
  // trials are decided soon. The basic strategy orders its fallbacks by every trial's
  // score, and --best_effort may write a failing trial and report its scores: both run
  // every trial in full. So does micro-F1, which is no count of rows. A label set counts as
  // one answer (label_set_id): a row is right when its whole set is.
  const std::size_t need = job::rows_needed(criterion, baseline_score, cal.rows());
  const bool early_decisions = o.strategy != QuantizeStrategy::basic && !o.best_effort &&
                               o.accuracy_metric == AccuracyMetric::exact_match;
  // Static and per-token activations are batch-invariant: their rows may be regrouped.
  const std::vector<runtime::Batch> trial_batches =
      risk_ordered_batches(cal, baseline, references.criterion(), policy, in.tokenizer.pad_id(),
                           o.approach == QuantizeApproach::static_ || o.activations == ActivationScales::per_token);
  events.progress(describe_baseline(report, criterion, need,
                                    report.baseline_cached
                                        ? fmt::format("from the cache in {}; --no_cache evaluates it", cache.string())
                                        : fmt::format("{:.1f}s", seconds_since(t_base))));
  events.check_cancel();

  Fp32Graph fp32_graph(fp32, fp32_file);
  const TrialInputs trial_inputs{o,
                                 fp32_graph,
                                 in.signature,
                                 in.folder,
                                 session,
                                 in.model_name,
                                 out.dir(),
                                 cal,
                                 criterion,
                                 references,
                                 baseline_score,
                                 need,
                                 early_decisions,
                                 trial_batches,
                                 events.progress,
                                 events.rows_progress,
                                 events.check_cancel,
                                 cache,
                                 o.use_baseline_cache ? key : no_key,
                                 ranges};
  TuningOutcome tuned = run_trials(trial_inputs, objective, default_mode, {first_config, first_trial}, phases, report);
  report.flips_by_margin = runtime::flips_by_margin(tuned.chosen_predicted, baseline.predicted,
                                                    runtime::answer_margins(baseline));
  tuned.ranges = ranges;
  // The output takes a second quantize pass unless the chosen trial's file is kept.
  if (!(tuned.last_passing && tuned.last_passing->config.nodes == tuned.chosen.nodes)) fp32_graph.get();
  fp32_scratch.remove();
  return tuned;
}

// Writes OUT/model.onnx: the chosen trial's file as evaluated, or one more quantize pass
// (no calibration data, or a best-effort trial that failed). Returns each node's decision.
std::vector<quant::NodeDecision> write_model(TuningOutcome& d, const onnx::ModelProto& fp32, const QuantizeOptions& o,
                                             const StagedFolder& out, PhaseTimes& phases, QuantizeReport& report) {
  auto since = Clock::now();
  std::vector<quant::NodeDecision> decisions;
  if (d.last_passing && d.last_passing->config.nodes == d.chosen.nodes) {
    decisions = std::move(d.last_passing->decisions);
    d.last_passing->file.rename_to(out.dir() / "model.onnx");
  } else {
    auto final_q = quant::quantize(fp32, job::plan_for(d.chosen, o, d.ranges));
    decisions = std::move(final_q.decisions);
    since = phases.add("output: quantize pass", since);
    model::save_model(final_q.model, out.dir() / "model.onnx");
  }
  phases.add("output: write model.onnx", since);
  report.size_after = static_cast<std::int64_t>(fs::file_size(out.dir() / "model.onnx"));
  return decisions;
}

// The report's line per node: what the pass did with it, why, and its probe score.
void record_nodes(const std::vector<quant::NodeDecision>& decisions, const TuningOutcome& d, QuantizeReport& report) {
  for (const auto& n : decisions) {
    QuantizeNode node{n.node, n.op_type, NodeOutcome::quantized, quant::describe(n), std::nullopt, false};
    auto it = d.chosen.nodes.find(n.node);
    if (n.action == quant::NodeAction::quantized) {
      node.decision = fmt::format("{} {}{}{}", n.weight_type,
                                  n.granularity == quant::WeightGranularity::per_channel ? "per-channel" : "per-tensor",
                                  n.reduce_range ? " reduce_range" : "",
                                  n.activations == quant::ActivationScheme::per_token           ? ", per-token activations"
                                  : n.activations == quant::ActivationScheme::static_per_tensor ? ", static activations"
                                                                                                : "");
      node.can_saturate = quant::pairwise_can_saturate(n.max_pair_magnitude);
    } else if (it != d.chosen.nodes.end() && it->second == tune::NodeMode::fp32) {
      node.outcome = NodeOutcome::fp32_by_tuning;
      node.decision = "fp32 (tuning)";
    } else {
      node.outcome = n.action == quant::NodeAction::not_quantizable ? NodeOutcome::not_quantizable : NodeOutcome::fp32_by_plan;
    }
    if (auto score = d.sensitivity.find(n.node); score != d.sensitivity.end()) node.sensitivity = score->second;
    if (node.can_saturate) ++report.nodes_that_can_saturate;
    report.nodes.push_back(std::move(node));
  }
  describe_int8_host(report);
}

// The SetFit folder's files that travel with the model (tokenizer, head, configs).
void copy_setfit_files(const SetFitContents& contents, const fs::path& dir) {
  for (const auto& rel : contents.folders) {
    std::error_code ec;
    fs::create_directories(dir / rel, ec);
    if (ec) throw OutputError(fmt::format("{}: cannot create the folder: {}", (dir / rel).string(), ec.message()));
  }
  for (std::size_t i = 0; i < contents.files.size(); ++i) copy_file_checked(contents.sources[i], dir / contents.files[i]);
}

}  // namespace

QuantizeReport quantize(const QuantizeOptions& o) {
  const auto job_start = Clock::now();
  const JobEvents events = job_events(o);
  check_options(o);
  QuantizeReport report;
  PhaseTimes phases;

  // 1. Inputs, all checked before any work; then the staged output and the fp32 graph.
  JobInputs in = load_inputs(o, events, phases, report);
  auto since = Clock::now();
  std::vector<fs::path> inputs = {o.onnx_model, o.setfit_folder};  // as given: a folder input protects the folder
  if (o.calibration_data) inputs.push_back(*o.calibration_data);
  StagedFolder out(o.output_folder, o.overwrite, inputs);
  runtime::BatchPolicy policy;
  policy.batch_size = o.batch_size;
  report.batching = policy.describe();
  runtime::SessionConfig session;
  session.intra_op_threads = o.threads;
  onnx::ModelProto fp32 = optimise_fp32(in, o, session, out, events, report);
  phases.add("check output, optimise graph", since);

  // 2. Tuning, when there is data to measure; else every candidate node quantized.
  tune::Objective objective;
  for (const auto& c : quant::find_candidates(fp32)) {
    objective.nodes.push_back(c.node);
    objective.op_types.push_back(c.op_type);
  }
  const tune::NodeMode default_mode = o.per_channel ? tune::NodeMode::int8_per_channel : tune::NodeMode::int8_per_tensor;
  report.criterion_metric = in.metric;
  report.criterion = job_criterion(o, in.metric).describe();
  TuningOutcome decision;
  if (in.calibration) {
    decision = tune_on_calibration(o, in, fp32, objective, default_mode, session, policy, out, events, phases, report);
  } else {
    decision.chosen = uniform_config(objective.nodes, default_mode);
    report.stop_reason = "no calibration data: default configuration, accuracy not checked";
    events.progress("no --calibration_data: quantizing with the default configuration; accuracy was NOT checked");
  }
  events.check_cancel();

  // 3. The output folder: model.onnx, the report's nodes, the SetFit files, the record.
  const auto decisions = write_model(decision, fp32, o, out, phases, report);
  since = Clock::now();
  record_nodes(decisions, decision, report);
  copy_setfit_files(in.contents, out.dir());
  const job::RecordedInputs recorded = job::hash_inputs(o, in.loaded.file, in.contents.files);
  phases.add("output: copy SetFit files, hashes, record", since);
  report.phase_seconds = phases.list();
  report.seconds = seconds_since(job_start);
  report.peak_rss_bytes = peak_rss_bytes();
  job::write_record(out.dir() / "quantization.json", o, recorded, policy, report, phases.peaks());
  events.check_cancel();
  out.commit();
  report.output_folder = out.target();
  return report;
}

}  // namespace docquant
