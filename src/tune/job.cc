// The quantize job: load and check every input, measure fp32, search a plan with a
// strategy, write the chosen model and its record into a staged output folder.
#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include <sys/resource.h>

#include "batching.h"
#include "csv.h"
#include "dataset.h"
#include "docquant/error.h"
#include "docquant/quantize.h"
#include "docquant/setfit.h"
#include "docquant/tokenizer.h"
#include "docquant/version.h"
#include "file_util.h"
#include "json_file.h"
#include "baseline_cache.h"
#include "graph_optimizer.h"
#include "int8_kernel.h"
#include "model_form.h"
#include "onnx_io.h"
#include "predictor.h"
#include "probe.h"
#include "quantize_pass.h"
#include "staged_folder.h"
#include "strategy.h"
#include "tokenizer_fit.h"

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

// The process's peak resident set size so far (getrusage; Linux reports KiB).
std::int64_t peak_rss_bytes() {
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) != 0) return 0;
  return static_cast<std::int64_t>(usage.ru_maxrss) * 1024;
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

CalibrationSet load_calibration(const QuantizeOptions& o, const setfit::SetFitFolder& folder,
                                const Tokenizer& tokenizer, const runtime::BatchPolicy& policy) {
  CalibrationSet set;
  static_cast<runtime::LabelledDataset&>(set) = runtime::load_labelled_dataset(
      *o.calibration_data, o.text_column, o.label_column, folder, tokenizer, policy, o.threads);
  // A fixed-seed sample (Fisher-Yates on mt19937_64, whose output the standard fixes).
  std::vector<std::size_t> order(set.labels.size());
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
// towards that class, so such data is refused before any work (reading the CSV here also
// reports its errors before the model is loaded).
void check_calibration_classes(const fs::path& csv, const QuantizeOptions& o) {
  const auto rows = read_labelled_csv(csv, o.text_column, o.label_column);
  for (const auto& r : rows) {
    if (r.label != rows.front().label) return;
  }
  throw InputError(fmt::format("{}: all {} rows have the label '{}'; accuracy on one class cannot show a quantized "
                               "model drifting towards it. Calibrate on rows of every class",
                               csv.string(), rows.size(), rows.front().label.substr(0, 80)));
}

tune::Config uniform_config(const std::vector<std::string>& nodes, tune::NodeMode mode) {
  tune::Config c;
  for (const auto& n : nodes) c.nodes[n] = mode;
  return c;
}

// The fewest correct rows of `n` that meet the criterion (n + 1 when none does): the
// criterion's own test at each count, so an early decision is the full evaluation's.
std::size_t rows_needed(const tune::Criterion& criterion, double baseline, std::size_t n) {
  for (std::size_t c = 0; c <= n; ++c) {
    if (criterion.met(baseline, static_cast<double>(c) / static_cast<double>(n))) return c;
  }
  return n + 1;
}

// The trials' batches, riskiest rows first: by fp32's margin for the true class (its
// probability minus the best other class's; wrong rows negative). With per-token
// activations a row's result does not depend on its batch, so rows are regrouped: each
// quarter of the risk order is cut into length-sorted batches. With per-tensor activations
// the batches must stay as evaluated (their composition changes results); only their order
// changes, by their riskiest row.
std::vector<runtime::Batch> risk_ordered_batches(const CalibrationSet& cal, const runtime::Predictions& fp32,
                                                 const runtime::BatchPolicy& policy, std::int64_t pad_id,
                                                 bool regroup) {
  const std::size_t n = cal.labels.size();
  std::vector<double> margin(n, 0.0);
  for (std::size_t r = 0; r < n; ++r) {
    if (fp32.proba.empty()) {
      margin[r] = fp32.predicted[r] == cal.labels[r] ? 1.0 : -1.0;
      continue;
    }
    const double* p = fp32.proba.data() + r * fp32.num_classes;
    double other = -1.0;
    for (std::size_t c = 0; c < fp32.num_classes; ++c) {
      if (c != cal.labels[r]) other = std::max(other, p[c]);
    }
    margin[r] = p[cal.labels[r]] - other;
  }
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

quant::ActivationScheme activation_scheme(const QuantizeOptions& o) {
  return o.activations == ActivationScales::per_token ? quant::ActivationScheme::per_token
                                                      : quant::ActivationScheme::per_tensor;
}

quant::QuantPlan plan_for(const tune::Config& config, const QuantizeOptions& o) {
  quant::QuantPlan plan;
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

// A configuration quantized and loaded, ready to evaluate; kept after a passing trial so
// that the output is the evaluated model's bytes, not a second quantize pass.
struct PreparedTrial {
  tune::Config config;
  std::vector<quant::NodeDecision> decisions;
  std::string bytes;  // the serialized quantized model
  std::unique_ptr<runtime::Predictor> predictor;
  double pass_seconds = 0;     // quantize pass + serialization
  double session_seconds = 0;  // ONNX Runtime session creation
};

// Touches nothing but its arguments (all read-only), so it may run on another thread.
PreparedTrial prepare_trial(const tune::Config& config, const onnx::ModelProto& fp32, const QuantizeOptions& o,
                            const runtime::ModelSignature& signature, const setfit::SetFitFolder& folder,
                            const runtime::SessionConfig& session, const std::string& model_name) {
  PreparedTrial t;
  const auto t0 = Clock::now();
  t.config = config;
  auto q = quant::quantize(fp32, plan_for(config, o));
  t.decisions = std::move(q.decisions);
  t.bytes = model::serialize_model(q.model);
  const auto t1 = Clock::now();
  t.predictor = std::make_unique<runtime::Predictor>(t.bytes, signature, folder, session, model_name);
  t.pass_seconds = std::chrono::duration<double>(t1 - t0).count();
  t.session_seconds = seconds_since(t1);
  return t;
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
};

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
      c.files.push_back(p.lexically_relative(folder));
    }
  }
  if (ec) fail(folder);
  std::sort(c.folders.begin(), c.folders.end());
  std::sort(c.files.begin(), c.files.end());
  return c;
}

// Everything the fp32 baseline's predictions depend on (tune/baseline_cache.h).
std::string baseline_key(const QuantizeOptions& o, const SetFitContents& contents, const std::string& fp32_bytes,
                         const runtime::BatchPolicy& policy) {
  nlohmann::ordered_json k;
  k["docquant"] = fmt::format("{} {}", kVersion, kGitCommit);
  k["onnxruntime"] = kOnnxRuntimeVersion;
  k["fp32_graph_sha256"] = sha256_bytes(fp32_bytes);
  nlohmann::ordered_json files = nlohmann::ordered_json::object();
  for (const auto& rel : contents.files) files[rel.generic_string()] = sha256_file(o.setfit_folder / rel);
  k["setfit_files"] = files;
  k["calibration_sha256"] = sha256_file(*o.calibration_data);
  k["columns"] = {o.text_column, o.label_column};
  k["batching"] = policy.describe();
  k["threads"] = o.threads;
  return k.dump();
}


}  // namespace

QuantizeReport quantize(const QuantizeOptions& o) {
  const auto job_start = Clock::now();
  const auto progress = [&](const std::string& line) {
    if (o.progress) o.progress(line);
  };
  const auto check_cancel = [&] {
    if (o.cancelled && o.cancelled()) throw Error(ErrorKind::interrupted, "stopped by a signal (SIGINT/SIGTERM); no output was written");
  };
  if (o.strategy != "sensitivity" && o.strategy != "basic") {
    throw UsageError(fmt::format("unknown strategy '{}' (choose sensitivity or basic)", o.strategy));
  }
  if (o.sensitivity_probe != "local" && o.sensitivity_probe != "isolated") {
    throw UsageError(fmt::format("unknown sensitivity probe '{}' (choose local or isolated)", o.sensitivity_probe));
  }
  if (!(o.criterion >= 0) || (o.relative_criterion && o.criterion >= 1)) {
    throw UsageError(fmt::format("accuracy criterion {} is out of range", o.criterion));
  }
  if (o.max_trials < 1) throw UsageError("--max_trials must be at least 1");

  // 1. Inputs, all checked before any work.
  if (o.calibration_data) {
    require_rereadable_csv(*o.calibration_data);
    check_calibration_classes(*o.calibration_data, o);
  }
  QuantizeReport report;
  PhaseTimes phases;
  auto since = job_start;
  auto loaded = model::load_model(o.onnx_model);
  since = phases.add("load model", since);
  for (const auto& note : loaded.notes) progress("note: " + note);
  const std::string model_name = loaded.file.string();
  const auto folder = setfit::SetFitFolder::load(o.setfit_folder);
  const SetFitContents contents = setfit_contents(o.setfit_folder);
  // Unpadded encodings: make_batches pads each batch to its own longest text.
  TokenizerOptions tokenizer_options;
  tokenizer_options.padding = Padding::none;
  const auto tokenizer = Tokenizer::from_folder(o.setfit_folder, tokenizer_options);
  since = phases.add("load SetFit folder", since);
  const auto signature = runtime::detect_signature(loaded.model, model_name);
  runtime::check_tokenizer_fits(loaded.model, tokenizer, model_name, o.setfit_folder.string());
  report.model_form = runtime::to_string(signature.form);
  progress(fmt::format("model: {}", signature.describe()));

  std::vector<fs::path> inputs = {o.onnx_model, o.setfit_folder};  // as given: a folder input protects the folder
  if (o.calibration_data) inputs.push_back(*o.calibration_data);
  StagedFolder out(o.output_folder, o.overwrite, inputs);

  runtime::BatchPolicy policy;
  policy.batch_size = o.batch_size;
  report.batching = policy.describe();
  runtime::SessionConfig session;
  session.intra_op_threads = o.threads;

  onnx::ModelProto fp32 = std::move(loaded.model);  // not read again: one copy of the weights, not two
  if (o.optimize_graph) {
    // What INC quantizes too (ORT's extended level), plus docquant's fusions. The scratch
    // file sits in the staged output folder, so a full disk shows as one.
    const auto fused = runtime::optimize_graph(fp32, loaded.file, out.dir() / "fp32_ort_optimized.onnx", session,
                                               model_name);
    report.attentions_fused = fused.attentions;
    report.skip_layer_norms_fused = fused.skip_layer_norms;
    progress(fmt::format("graph optimised before quantizing: ONNX Runtime's extended level, then {} self-attention "
                         "subgraphs fused into Attention and {} residual Add + LayerNormalization into "
                         "SkipLayerNormalization",
                         report.attentions_fused, report.skip_layer_norms_fused));
  }
  report.size_before = static_cast<std::int64_t>(fs::file_size(loaded.file));
  since = phases.add("check output, optimise graph", since);

  const auto candidates = quant::find_candidates(fp32);
  tune::Objective objective;
  for (const auto& c : candidates) {
    objective.nodes.push_back(c.node);
    objective.op_types.push_back(c.op_type);
  }
  const tune::NodeMode default_mode = o.per_channel ? tune::NodeMode::int8_per_channel : tune::NodeMode::int8_per_tensor;
  tune::Config chosen;
  for (const auto& n : objective.nodes) chosen.nodes[n] = default_mode;
  std::map<std::string, double> sensitivity;  // the probe's score per node, when it ran
  std::optional<PreparedTrial> last_passing;  // the latest passing trial: the output, unless best-effort picks a failed one
  std::vector<std::size_t> rows_evaluated;    // per trial, in order: calibration rows run before its decision

  // 2. Tuning, when there is data to measure.
  tune::Criterion criterion{o.relative_criterion ? tune::Criterion::Kind::relative : tune::Criterion::Kind::absolute,
                            o.criterion, o.higher_is_better};
  report.criterion = criterion.describe();
  if (o.calibration_data) {
    report.accuracy_checked = true;
    const auto t_load = Clock::now();
    CalibrationSet cal = load_calibration(o, folder, tokenizer, policy);
    since = phases.add("read and tokenize CSV", since);
    report.calibration_rows = cal.labels.size();
    progress(fmt::format("calibration data: {} rows tokenized in {:.1f}s; {}", cal.labels.size(), seconds_since(t_load),
                         policy.describe()));

    // Trial 1 is known before the baseline is measured: every node quantized (basic's
    // first op-type-wise trial is per-channel). Its quantize pass and session creation,
    // mostly single-threaded, run on a second thread while the baseline evaluates.
    const tune::Config first_config = uniform_config(
        objective.nodes, o.strategy == "basic" ? tune::NodeMode::int8_per_channel : default_mode);
    std::future<PreparedTrial> first_trial = std::async(std::launch::async, [&] {
      return prepare_trial(first_config, fp32, o, signature, folder, session, model_name);
    });

    const std::string fp32_bytes = model::serialize_model(fp32);
    // The fp32 predictions from an earlier run on the same inputs, when there is one.
    const std::filesystem::path cache = o.baseline_cache ? *o.baseline_cache : tune::default_baseline_cache();
    const std::string key = baseline_key(o, contents, fp32_bytes, policy);
    const auto t_base = Clock::now();
    std::optional<tune::BaselineEntry> cached;
    if (o.use_baseline_cache) cached = tune::load_baseline(cache, key, cal.labels.size(), folder.class_names.size());
    std::optional<runtime::Predictor> baseline_predictor;
    runtime::Predictions baseline;
    if (cached) {
      baseline = std::move(cached->predictions);
      report.baseline_cached = true;
      since = phases.add("baseline: read from the cache", since);
    } else {
      baseline_predictor.emplace(fp32_bytes, signature, folder, session, model_name);
      since = phases.add("baseline: session", since);
      baseline = runtime::predict_dataset(*baseline_predictor, cal, check_cancel);
      baseline_predictor.reset();  // its session holds the fp32 weights, prepacked: not needed by the trials
      since = phases.add("baseline: evaluate", since);
      if (o.use_baseline_cache) tune::store_baseline(cache, key, {baseline, runtime::accuracy(baseline, cal.labels)});
    }
    report.baseline_accuracy = runtime::accuracy(baseline, cal.labels);
    // Exact early decisions (issue 19): a trial fails once so many rows are wrong that the
    // rest cannot lift it to `need` correct rows -- the decision a full evaluation makes.
    // Rows fp32 gets wrong or nearly wrong run first, so failing trials are decided soon.
    // The basic strategy orders its fallbacks by every trial's accuracy: it runs in full.
    const std::size_t need = rows_needed(criterion, report.baseline_accuracy, cal.labels.size());
    const bool early_decisions = o.strategy != "basic";
    const std::vector<runtime::Batch> trial_batches =
        risk_ordered_batches(cal, baseline, policy, tokenizer.pad_id(), o.activations == ActivationScales::per_token);
    progress(fmt::format("fp32 baseline accuracy {:.4f} ({}); criterion: {} -> need >= {:.4f}",
                         report.baseline_accuracy,
                         report.baseline_cached ? fmt::format("from the cache in {}; --no_cache evaluates it",
                                                              cache.string())
                                                : fmt::format("{:.1f}s", seconds_since(t_base)),
                         criterion.describe(), criterion.threshold(report.baseline_accuracy)));
    check_cancel();

    const auto evaluate = [&](const tune::Config& config, const std::vector<runtime::Batch>& batches,
                              std::size_t rows, const runtime::SessionConfig& config_of_session) {
      check_cancel();
      auto p = prepare_trial(config, fp32, o, signature, folder, config_of_session, model_name);
      return p.predictor->predict(batches, rows, check_cancel);
    };
    objective.accuracy = [&](const tune::Config& config) {
      check_cancel();
      PreparedTrial trial;
      auto t_trial = Clock::now();
      if (first_trial.valid() && config.nodes == first_config.nodes) {
        trial = first_trial.get();
        phases.add("trial 1: wait for its preparation", t_trial);
        phases.add_seconds("trial 1: quantize pass + session (second thread, during the baseline)",
                           trial.pass_seconds + trial.session_seconds);
      } else {
        trial = prepare_trial(config, fp32, o, signature, folder, session, model_name);
        phases.add_seconds("trials: quantize pass", trial.pass_seconds);
        phases.add_seconds("trials: session", trial.session_seconds);
      }
      t_trial = Clock::now();
      const std::size_t n = cal.labels.size();
      std::size_t correct = 0, next_batch = 0, done = 0;
      const auto decided = [&](const runtime::Predictions& p, std::size_t rows_done) {
        for (std::size_t r : trial_batches[next_batch++].rows) correct += p.predicted[r] == cal.labels[r];
        done = rows_done;
        return early_decisions && correct + (n - rows_done) < need;
      };
      runtime::predict_dataset(*trial.predictor, cal, check_cancel, &trial_batches, decided);
      // Stopped early: the best accuracy the remaining rows could have given, which misses the criterion.
      const double acc = static_cast<double>(correct + (n - done)) / static_cast<double>(n);
      rows_evaluated.push_back(done);
      phases.add("trials: evaluate", t_trial);
      if (criterion.met(report.baseline_accuracy, acc)) {
        trial.predictor.reset();
        last_passing = std::move(trial);
      }
      return acc;
    };
    if (o.sensitivity_probe == "local") {
      // One session ranks every node: each node's own output error when it alone is
      // quantized (tune/probe.h), on the sample, under the evaluation's session settings.
      objective.sensitivity = [&](tune::NodeMode mode) {
        tune::LocalProbeRequest probe;
        probe.fp32 = &fp32;
        probe.nodes = objective.nodes;
        probe.config = plan_for({}, o).defaults;
        probe.config.quantize = true;
        probe.config.granularity = mode == tune::NodeMode::int8_per_channel ? quant::WeightGranularity::per_channel
                                                                            : quant::WeightGranularity::per_tensor;
        probe.plan = plan_for({}, o);
        probe.signature = &signature;
        probe.batches = &cal.sample_batches;
        probe.session = session;
        probe.model_name = model_name;
        auto scores = tune::local_sensitivity(probe);
        progress(fmt::format("  sensitivity probe (local, one session): {} nodes on {} rows", objective.nodes.size(),
                             cal.sample_rows));
        return scores;
      };
    } else if (!signature.output_is_label) {
      // Sensitivity of node i: mean absolute change of the class probabilities on the
      // sample when node i alone is quantized (one session per node). Needs probabilities.
      objective.sensitivity = [&](tune::NodeMode mode) {
        // The probe only ranks nodes, so its sessions skip ONNX Runtime's costlier graph
        // optimisations (session creation dominates a 64-text run); the fp32 reference is
        // computed the same way so that both sides share every non-quantized rounding.
        runtime::SessionConfig probe_session = session;
        probe_session.optimization = GraphOptimizationLevel::ORT_ENABLE_BASIC;
        runtime::Predictor probe_reference(fp32_bytes, signature, folder, probe_session, model_name);
        const auto reference = probe_reference.predict(cal.sample_batches, cal.sample_rows, check_cancel);
        std::vector<double> error;
        for (std::size_t i = 0; i < objective.nodes.size(); ++i) {
          tune::Config only;
          for (std::size_t j = 0; j < objective.nodes.size(); ++j) only.nodes[objective.nodes[j]] = i == j ? mode : tune::NodeMode::fp32;
          const auto p = evaluate(only, cal.sample_batches, cal.sample_rows, probe_session);
          double sum = 0;
          for (std::size_t k = 0; k < p.proba.size(); ++k) sum += std::abs(p.proba[k] - reference.proba[k]);
          error.push_back(sum / static_cast<double>(std::max<std::size_t>(1, p.proba.size())));
          if ((i + 1) % 10 == 0 || i + 1 == objective.nodes.size()) {
            progress(fmt::format("  sensitivity probe: {}/{} nodes", i + 1, objective.nodes.size()));
          }
        }
        return error;
      };
    }

    tune::TuneRequest request;
    request.objective = &objective;
    request.criterion = criterion;
    request.baseline = report.baseline_accuracy;
    request.budget.max_trials = o.max_trials;
    request.budget.max_time = o.max_time;
    request.default_mode = default_mode;
    request.on_trial = [&](const tune::Trial& t) {
      const std::size_t rows = static_cast<std::size_t>(t.index - 1) < rows_evaluated.size()
                                   ? rows_evaluated[static_cast<std::size_t>(t.index - 1)]
                                   : cal.labels.size();
      const std::string outcome = rows < cal.labels.size()
                                      ? fmt::format("fail (decided after {} of {} rows)", rows, cal.labels.size())
                                      : (t.passed ? "pass" : "fail");
      progress(fmt::format("trial {:>3}  {:<20} acc {}{:.4f} {}  {:5.1f}s  {}", t.index, t.phase,
                           rows < cal.labels.size() ? "<= " : "", t.accuracy, outcome, t.seconds, t.summary));
    };
    since = Clock::now();
    const tune::TuneResult result = o.strategy == "basic" ? tune::tune_basic(request) : tune::tune_sensitivity(request);
    since = phases.add("tuning (all)", since);
    report.strategy = result.strategy;
    report.stop_reason = result.stop_reason;
    report.probe_seconds = result.probe_seconds;
    if (!result.sensitivity.empty()) {
      report.probe = o.sensitivity_probe;
      for (std::size_t i = 0; i < objective.nodes.size(); ++i) sensitivity[objective.nodes[i]] = result.sensitivity[i];
    }
    for (const auto& t : result.trials) {
      const std::size_t rows = static_cast<std::size_t>(t.index - 1) < rows_evaluated.size()
                                   ? rows_evaluated[static_cast<std::size_t>(t.index - 1)]
                                   : cal.labels.size();
      report.trials.push_back(
          {t.index, t.phase, t.summary, t.config.fp32_count(), t.accuracy, t.seconds, t.passed, rows});
    }
    if (result.chosen) {
      chosen = result.trials[*result.chosen].config;
      report.final_accuracy = result.trials[*result.chosen].accuracy;
      report.criterion_met = true;
    } else if (o.best_effort && result.best) {
      chosen = result.trials[*result.best].config;
      report.final_accuracy = result.trials[*result.best].accuracy;
      progress("no trial met the criterion; writing the most accurate one (--best_effort)");
    } else {
      std::string best;
      if (result.best) {
        const auto& b = result.trials[*result.best];
        best = fmt::format("; the best trial (#{}: {}) reached {:.4f}", b.index, b.summary, b.accuracy);
      }
      throw CriterionNotMetError(fmt::format(
          "no configuration met the criterion ({}: need >= {:.4f} against fp32 {:.4f}) in {} trials ({}){}; no output "
          "was written. Relax the criterion (--relative/--absolute), allow more trials (--max_trials), or pass "
          "--best_effort to keep the best trial",
          criterion.describe(), criterion.threshold(report.baseline_accuracy), report.baseline_accuracy,
          result.trials.size(), result.stop_reason, best));
    }
  } else {
    report.strategy = "none";
    report.stop_reason = "no calibration data: default configuration, accuracy not checked";
    progress("no --calibration_data: quantizing with the default configuration; accuracy was NOT checked");
  }
  check_cancel();

  // 3. The output folder: the chosen trial's bytes as evaluated, or one more quantize
  // pass (no calibration data, or a best-effort trial that failed).
  since = Clock::now();
  std::vector<quant::NodeDecision> decisions;
  std::string model_bytes;
  if (last_passing && last_passing->config.nodes == chosen.nodes) {
    decisions = std::move(last_passing->decisions);
    model_bytes = std::move(last_passing->bytes);
  } else {
    auto final_q = quant::quantize(fp32, plan_for(chosen, o));
    decisions = std::move(final_q.decisions);
    model_bytes = model::serialize_model(final_q.model);
    since = phases.add("output: quantize pass", since);
  }
  write_file_checked(out.dir() / "model.onnx", model_bytes);
  since = phases.add("output: write model.onnx", since);
  report.size_after = static_cast<std::int64_t>(fs::file_size(out.dir() / "model.onnx"));
  for (const auto& d : decisions) {
    auto it = chosen.nodes.find(d.node);
    std::string decision = d.action;
    if (d.action == "quantized") {
      decision = fmt::format("{} {}{}{}", d.weight_type, d.granularity == quant::WeightGranularity::per_channel ? "per-channel" : "per-tensor",
                             d.reduce_range ? " reduce_range" : "",
                             d.activations == quant::ActivationScheme::per_token ? ", per-token activations" : "");
    } else if (it != chosen.nodes.end() && it->second == tune::NodeMode::fp32) {
      decision = "fp32 (tuning)";
    }
    auto score = sensitivity.find(d.node);
    const bool can_saturate = d.action == "quantized" && quant::pairwise_can_saturate(d.max_pair_magnitude);
    report.nodes.push_back({d.node, d.op_type, decision,
                            score == sensitivity.end() ? std::nullopt : std::optional<double>(score->second),
                            can_saturate});
    if (can_saturate) ++report.nodes_that_can_saturate;
  }
  describe_int8_host(report);
  for (const auto& rel : contents.folders) {
    std::error_code ec;
    fs::create_directories(out.dir() / rel, ec);
    if (ec) throw OutputError(fmt::format("{}: cannot create the folder: {}", (out.dir() / rel).string(), ec.message()));
  }
  for (const auto& rel : contents.files) copy_file_checked(o.setfit_folder / rel, out.dir() / rel);

  nlohmann::ordered_json j;
  j["format_version"] = 1;
  j["docquant_version"] = kVersion;
  j["git_commit"] = kGitCommit;
  j["onnxruntime_version"] = kOnnxRuntimeVersion;
  nlohmann::ordered_json in;
  in["onnx_model"] = {{"path", loaded.file.string()}, {"sha256", sha256_file(loaded.file)}};
  nlohmann::ordered_json sf = nlohmann::ordered_json::object();
  for (const auto& rel : contents.files) sf[rel.string()] = sha256_file(o.setfit_folder / rel);
  in["setfit_folder"] = {{"path", o.setfit_folder.string()}, {"files_sha256", sf}};
  if (o.calibration_data) {
    in["calibration_data"] = {{"path", o.calibration_data->string()}, {"sha256", sha256_file(*o.calibration_data)},
                              {"rows", report.calibration_rows}};
  }
  j["inputs"] = in;
  j["host"] = {{"cpu", quant::host_cpu_model()},
               {"int8_path", report.int8_path},
               {"int8_exact", report.int8_exact},
               {"threads", o.threads}};
  j["seed"] = o.seed;
  j["model_form"] = report.model_form;
  j["criterion"] = {{"kind", o.relative_criterion ? "relative" : "absolute"}, {"value", o.criterion},
                    {"higher_is_better", o.higher_is_better}, {"text", report.criterion}};
  j["recipe"] = {{"approach", "post_training_dynamic_quant"},
                 {"weights", "int8 symmetric"},
                 {"activations", o.activations == ActivationScales::per_token
                                     ? "uint8 symmetric (zero point 128), dynamic per token"
                                     : "uint8 asymmetric, dynamic per tensor"},
                 {"activation_scales", quant::to_string(activation_scheme(o))},
                 {"start_granularity", o.per_channel ? "per_channel" : "per_tensor"},
                 {"reduce_range", o.reduce_range},
                 {"quantize_embeddings", o.quantize_embeddings},
                 {"fused_matmul", o.fused_matmul},
                 {"optimize_graph", o.optimize_graph},
                 {"attention_fused", report.attentions_fused},
                 {"skip_layer_normalization_fused", report.skip_layer_norms_fused},
                 {"nodes_that_can_saturate", report.nodes_that_can_saturate},
                 {"exact_on_every_x86_cpu", report.nodes_that_can_saturate == 0}};
  j["strategy"] = {{"name", report.strategy}, {"max_trials", o.max_trials}, {"max_seconds", o.max_time.count()},
                   {"stop_reason", report.stop_reason}, {"probe", report.probe}, {"probe_seconds", report.probe_seconds}};
  j["batching"] = {{"batch_size", policy.batch_size}, {"sort_by_length", policy.sort_by_length},
                   {"text", report.batching}};
  j["accuracy_checked"] = report.accuracy_checked;
  if (report.accuracy_checked) {
    j["baseline_accuracy"] = report.baseline_accuracy;
    j["baseline_from_cache"] = report.baseline_cached;
    j["final_accuracy"] = *report.final_accuracy;
    j["criterion_met"] = report.criterion_met;
  }
  auto trials = nlohmann::ordered_json::array();
  for (const auto& t : report.trials) {
    trials.push_back({{"index", t.index}, {"phase", t.phase}, {"configuration", t.summary}, {"fp32_nodes", t.fp32_nodes},
                      {"accuracy", t.accuracy}, {"seconds", t.seconds}, {"passed", t.passed},
                      {"rows_evaluated", t.rows_evaluated}});
  }
  j["trials"] = trials;
  auto nodes = nlohmann::ordered_json::array();
  for (const auto& n : report.nodes) {
    nlohmann::ordered_json node = {{"node", n.node}, {"op_type", n.op_type}, {"decision", n.decision}};
    if (n.sensitivity) node["sensitivity"] = *n.sensitivity;
    if (n.can_saturate) node["can_saturate"] = true;
    nodes.push_back(std::move(node));
  }
  j["nodes"] = nodes;
  j["warnings"] = report.warnings;
  j["sizes"] = {{"model_onnx_before", report.size_before}, {"model_onnx_after", report.size_after}};
  phases.add("output: copy SetFit files, hashes, record", since);
  report.phase_seconds = phases.list();
  report.seconds = seconds_since(job_start);
  report.peak_rss_bytes = peak_rss_bytes();
  j["seconds"] = report.seconds;
  nlohmann::ordered_json phase_json = nlohmann::ordered_json::object();
  for (const auto& [phase, s] : report.phase_seconds) phase_json[phase] = s;
  j["phase_seconds"] = phase_json;
  j["peak_rss_bytes"] = report.peak_rss_bytes;
  nlohmann::ordered_json rss_json = nlohmann::ordered_json::object();
  for (const auto& [phase, bytes] : phases.peaks()) rss_json[phase] = bytes;
  j["peak_rss_bytes_after_phase"] = rss_json;
  write_file_checked(out.dir() / "quantization.json", json_text(std::move(j)));
  check_cancel();
  out.commit();
  report.output_folder = out.target();
  return report;
}

}  // namespace docquant
