// docquant quantize: the original tool's command line, INC's YAML, and a summary.
#include <fmt/core.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "option_limits.h"
#include "diagnostics.h"
#include "progress_line.h"
#include "docquant/error.h"
#include "docquant/quantize.h"
#include "inc_config.h"
#include "interrupt.h"

namespace docquant::cli {

namespace {

// The names of an enum's values, for CLI11's IsMember (the enum's to_string is their one source).
template <typename Enum, std::size_t N>
std::vector<std::string> names_of(const Enum (&values)[N]) {
  std::vector<std::string> names;
  for (Enum v : values) names.emplace_back(to_string(v));
  return names;
}

std::string mib(std::int64_t bytes) { return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1 << 20)); }

void print_summary(const QuantizeReport& r) {
  fmt::print("\ndocquant quantize: {} in {:.1f}s\n", r.output_folder.string(), r.seconds);
  fmt::print("  model form    {}\n", r.model_form);
  if (r.accuracy_checked) {
    fmt::print("  calibration   {} rows{}; {}\n", r.calibration_rows,
               r.calibration_labelled ? "" : ", unlabelled: fp32's answers are the labels", r.batching);
    fmt::print("  criterion     {}\n", r.criterion);
    if (r.accuracy_measures != "accuracy") fmt::print("  accuracy is   {}\n", r.accuracy_measures);
    fmt::print("  strategy      {}: {} trial{} ({}){}\n\n", r.strategy ? to_string(*r.strategy) : "none", r.trials.size(),
               r.trials.size() == 1 ? "" : "s", r.stop_reason,
               r.probe ? fmt::format(", {} sensitivity probe {}", to_string(*r.probe),
                                     r.probe_cached ? "from the cache" : fmt::format("{:.1f}s", r.probe_seconds))
                       : "");
    fmt::print("  {:>5}  {:<20} {:>10} {:>9} {:>9} {:>5} {:>8}\n", "trial", "phase", "fp32 nodes", "accuracy",
               "agreement", "pass", "seconds");
    bool early = false;
    for (const auto& t : r.trials) {
      const bool decided_early = t.rows_evaluated < r.calibration_rows;
      early = early || decided_early;
      const char* bound = decided_early ? "<=" : "";
      fmt::print("  {:>5}  {:<20} {:>10} {:>9} {:>9} {:>5} {:>8.1f}{}\n", t.index, t.phase, t.fp32_nodes,
                 t.accuracy ? fmt::format("{}{:.4f}", bound, *t.accuracy) : "-",
                 fmt::format("{}{:.4f}", bound, t.agreement), t.passed ? "yes" : "no", t.seconds,
                 decided_early ? fmt::format("   decided after {} of {} rows", t.rows_evaluated, r.calibration_rows)
                               : "");
    }
    if (early) fmt::print("  (<=: a fail decided early; the most the remaining rows could have given)\n");
  } else {
    fmt::print("  accuracy      NOT CHECKED (no --calibration_data): default configuration\n");
  }
  int quantized = 0, candidates = 0;
  for (const auto& n : r.nodes) {
    quantized += n.outcome == NodeOutcome::quantized;
    candidates += n.outcome != NodeOutcome::not_quantizable;
  }
  fmt::print("\n  {:<16} {:>12} {:>12}\n", "", "fp32", "int8");
  const char* unmet = r.criterion_met ? "" : "  CRITERION NOT MET (--best_effort)";
  const bool on_accuracy = r.criterion_metric == CriterionMetric::accuracy;
  if (r.accuracy_checked && r.final_accuracy && r.baseline_accuracy) {
    fmt::print("  {:<16} {:>12.4f} {:>12.4f}   ({:+.2f}% relative){}\n", "accuracy", *r.baseline_accuracy,
               *r.final_accuracy, 100.0 * (*r.final_accuracy - *r.baseline_accuracy) / *r.baseline_accuracy,
               on_accuracy ? unmet : "");
  }
  if (r.accuracy_checked && r.final_agreement) {
    std::size_t flips = 0;
    for (const auto& b : r.flips_by_margin) flips += b.flips;
    fmt::print("  {:<16} {:>12.4f} {:>12.4f}   (answers that differ from fp32's{}){}\n", "agreement", 1.0,
               *r.final_agreement,
               r.flips_by_margin.empty() ? ""
                                         : fmt::format(": {}, of which {} where fp32's top two were < {:g} apart", flips,
                                                       r.flips_by_margin.front().flips,
                                                       r.flips_by_margin.front().max_margin),
               on_accuracy ? "" : unmet);
  }
  fmt::print("  {:<16} {:>12} {:>12}   ({:.1f}% of fp32)\n", "model.onnx", mib(r.size_before), mib(r.size_after),
             100.0 * static_cast<double>(r.size_after) / static_cast<double>(r.size_before));
  fmt::print("  {:<16} {:>12} {:>12}   (of {} with a constant weight)\n", "nodes quantized", "", quantized, candidates);
  if (r.peak_rss_bytes > 0) {
    fmt::print("  {:<16} {:>12} {:>12}   ({:.1f}x the fp32 model.onnx)\n", "peak memory", "", mib(r.peak_rss_bytes),
               static_cast<double>(r.peak_rss_bytes) / static_cast<double>(r.size_before));
  }
  fmt::print("  {:<16} {:>12} {:>12}   ({})\n", "int8 arithmetic", "", r.int8_path,
             r.nodes_that_can_saturate == 0 ? "exact on every x86 CPU"
                                            : fmt::format("{} node{} can saturate without VNNI", r.nodes_that_can_saturate,
                                                          r.nodes_that_can_saturate == 1 ? "" : "s"));
  fmt::print("\n  record: {}\n", (r.output_folder / "quantization.json").string());
  // On stderr as well as in the record, even under --quiet: they change what the output means.
  for (const auto& w : r.warnings) say("docquant: warning: " + w);
}

}  // namespace

void add_quantize_command(CLI::App& root) {
  auto* cmd = root.add_subcommand(
      "quantize", "Quantize a SetFit model's ONNX body to INT8, keeping accuracy within a criterion of fp32");
  cmd->description(
      "Post-training dynamic INT8 quantization (weights int8 ahead of time, activations uint8 per token), tuned on\n"
      "your calibration texts so that accuracy stays within the criterion (default: relative loss <= 1%, as Intel\n"
      "Neural Compressor's onnxrt_integerops recipe), or so that at least --min_agreement of the texts keep fp32's\n"
      "answer (--criterion agreement; the criterion of unlabelled texts). The output folder holds the quantized\n"
      "model.onnx, the tokenizer, head and configs, and quantization.json (every trial's accuracy and agreement,\n"
      "every node's decision, sizes, input hashes).");
  cmd->footer(
      "\nExamples:\n"
      "  docquant quantize --onnx_model_folder onnx/ --setfit_model_folder setfit/ \\\n"
      "                    --calibration_data dev.csv --output_folder out/\n"
      "  docquant quantize ... --config conf.yaml          (the original INC 1.x YAML)\n"
      "  docquant quantize ... --absolute 0.005 --strategy basic\n"
      "  docquant quantize ... --calibration_data texts.txt      (unlabelled: agreement with fp32 >= 99%)\n"
      "  docquant quantize ... --criterion agreement --min_agreement 0.995\n"
      "\nExit codes: 0 done, 2 usage, 3 bad input, 4 output not writable, 5 criterion not met,\n130/143 interrupted by SIGINT/SIGTERM.");

  auto o = std::make_shared<QuantizeOptions>();
  auto onnx = std::make_shared<std::string>();
  auto setfit = std::make_shared<std::string>();
  auto data = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto config = std::make_shared<std::string>();
  auto relative = std::make_shared<double>(0.01);
  auto absolute = std::make_shared<double>(0.0);
  auto timeout = std::make_shared<double>(0.0);
  auto per_tensor = std::make_shared<bool>(false);
  auto keep_embeddings = std::make_shared<bool>(false);
  auto unfused = std::make_shared<bool>(false);
  auto quiet = std::make_shared<bool>(false);

  cmd->add_option("--onnx_model_folder", *onnx, "Folder holding model.onnx, or an .onnx file")->required();
  cmd->add_option("--setfit_model_folder", *setfit, "SetFit folder: tokenizer, model_head.pkl, pooling and label configs")
      ->required();
  cmd->add_option("--calibration_data", *data,
                  "Texts to tune on: a CSV with 'text' and 'label' columns, a CSV with only a 'text' column, or a\n"
                  ".txt file of one text per line (blank lines skipped). Without labels the run is unlabelled:\n"
                  "fp32's answers are the labels and the criterion is agreement. Without this option the default\n"
                  "configuration is written and nothing is measured");
  cmd->add_option("--output_folder", *out, "Where to write the quantized model folder (must not exist or be empty)")
      ->required();
  cmd->add_option("--config", *config, "INC 1.x YAML (model/device/quantization/tuning); flags given here override it");
  cmd->add_option("--text_column", o->text_column, "CSV column holding the text")->capture_default_str();
  cmd->add_option("--label_column", o->label_column,
                  "CSV column holding the label; every row needs one. '' ignores labels: an unlabelled run.\n"
                  "For a multi-label head the label set, names joined by ';' (e.g. 'person;time'; empty: no label)")
      ->capture_default_str();
  auto accuracy_metric = std::make_shared<std::string>(to_string(o->accuracy_metric));
  cmd->add_option("--metric", *accuracy_metric,
                  "How the accuracy criterion scores a multi-label head: accuracy (the whole label set right,\n"
                  "exact-match accuracy; for one class per text, plain accuracy) or micro_f1 (F1 over every\n"
                  "text's labels)")
      ->check(CLI::IsMember(names_of(kAccuracyMetrics)))
      ->capture_default_str();
  auto metric = std::make_shared<std::string>();
  auto* crit = cmd->add_option("--criterion", *metric,
                               "What a trial is scored on. accuracy: against the CSV's labels, within --relative or\n"
                               "--absolute of fp32's (the default with labels, INC's); agreement: the share of texts\n"
                               "whose answer is fp32's, at least --min_agreement (the default without labels; any\n"
                               "labels still give the accuracy beside it). Both are reported for every trial")
                   ->check(CLI::IsMember(names_of(kCriterionMetrics)));
  auto* min_agree = cmd->add_option("--min_agreement", o->min_agreement,
                                    "Share of calibration texts whose answer must be fp32's (--criterion agreement;\n"
                                    "giving it chooses that criterion)")
                        ->capture_default_str();
  auto* rel = cmd->add_option("--relative", *relative, "Relative accuracy loss allowed (0.01 = 1%)")->capture_default_str();
  auto* abs = cmd->add_option("--absolute", *absolute, "Absolute accuracy loss allowed instead (0.005 = half a point)");
  rel->excludes(abs);
  min_agree->excludes(rel)->excludes(abs);
  auto strategy = std::make_shared<std::string>(to_string(o->strategy));
  cmd->add_option("--strategy", *strategy,
                  "sensitivity: rank nodes once, binary-search how many stay fp32 (few evaluations)\n"
                  "basic: INC 1.x's order (op-type-wise, single fallbacks from the end, cumulative)")
      ->check(CLI::IsMember(names_of(kQuantizeStrategies)))
      ->capture_default_str();
  auto probe = std::make_shared<std::string>(to_string(o->sensitivity_probe));
  cmd->add_option("--sensitivity_probe", *probe,
                  "How the sensitivity strategy ranks nodes: local (one session: each node's own output error)\n"
                  "or isolated (one session per node: change of the class probabilities; slow)")
      ->check(CLI::IsMember(names_of(kSensitivityProbes)))
      ->capture_default_str();
  cmd->add_option("--max_trials", o->max_trials, "At most this many full evaluations")->capture_default_str();
  cmd->add_option("--timeout", *timeout, "Stop tuning after this many seconds (0: no limit; the first passing trial\n"
                                         "always ends tuning, as INC's timeout 0)");
  cmd->add_option("--seed", o->seed, "Seed for the sensitivity sample (INC's random_seed)")->capture_default_str();
  cmd->add_flag("--per_tensor", *per_tensor, "Quantize weights per tensor instead of per output channel");
  auto full_range = std::make_shared<bool>(false);
  cmd->add_flag("--full_range", *full_range,
                "8-bit weights instead of the default 7-bit (reduce_range): one more bit of precision, but\n"
                "pairs of u8*s8 products may saturate in int16 on CPUs without VNNI (AVX2-only), so the same\n"
                "model scores differently there than on VNNI CPUs; quantize warns when the output can");
  auto approach = std::make_shared<std::string>(to_string(o->approach));
  cmd->add_option("--approach", *approach,
                  "dynamic: activation scales computed from each input when the model runs (--activations)\n"
                  "static: one scale per tensor, calibrated on the --calibration_data texts before tuning and\n"
                  "  stored in the model: nothing computed at run time, a text's answer depends on the text\n"
                  "  alone (INC's post_training_static_quant; docs/quantize.md, \"Static activations\")")
      ->check(CLI::IsMember(names_of(kQuantizeApproaches)))
      ->capture_default_str();
  cmd->add_option("--smooth_alpha", o->smooth_alpha,
                  "--approach static: SmoothQuant's alpha, how much of each GEMM input's outlier channels moves\n"
                  "into the weights' rows before its one scale is calibrated (one Mul per input; 0: off;\n"
                  "  docs/quantize.md has what it did to agreement with fp32)")
      ->check(CLI::Range(0.0f, 1.0f))
      ->capture_default_str();
  auto activations = std::make_shared<std::string>("per_token");
  cmd->add_option("--activations", *activations,
                  "How each MatMul's input is quantized at run time:\n"
                  "per_token: one scale per token of each text, so a text's answer depends on the text alone,\n"
                  "  however it is batched or padded, and the reported accuracy is what any caller gets\n"
                  "per_tensor: one scale over the whole batch (ONNX Runtime's dynamic quantization): faster\n"
                  "  (~1.2-1.4x on MiniLM), but 2-3.5% of labels change with the batching (docs/quantize.md)")
      ->check(CLI::IsMember({"per_tensor", "per_token"}))
      ->capture_default_str();
  cmd->add_flag("--keep_embeddings_fp32", *keep_embeddings, "Do not quantize embedding tables (Gather)");
  cmd->add_flag("--unfused", *unfused, "Emit DynamicQuantizeLinear+MatMulInteger+Mul instead of DynamicQuantizeMatMul");
  cmd->add_flag("--optimize_graph,!--no_optimize_graph", o->optimize_graph,
                "Before quantizing (default: on): ONNX Runtime's extended graph optimisations, then\n"
                "self-attention (BERT, DistilBERT, MPNet with its relative position bias) fused into\n"
                "Attention (quantized to one int8 QKV GEMM + MultiHeadAttention, or QAttention) and\n"
                "residual Add + LayerNormalization into SkipLayerNormalization: ~1.25x faster in ONNX\n"
                "Runtime on MiniLM.\n"
                "--no_optimize_graph keeps the exported graph's ops (plain ai.onnx where possible)");
  cmd->add_option("--batch_size", o->batch_size, "Texts per model call while evaluating")->capture_default_str();
  cmd->add_option("--threads", o->threads, "ONNX Runtime intra-op threads (0: one per core)")->capture_default_str();
  cmd->add_flag("--overwrite", o->overwrite, "Replace an existing non-empty output folder");
  cmd->add_flag("!--no_cache", o->use_baseline_cache,
                "Evaluate the fp32 baseline (and run the sensitivity probe) even when an earlier run on the same\n"
                "model, SetFit folder, CSV, batching and threads left their results in $DOCQUANT_CACHE/baselines\n"
                "(~/.cache/docquant/baselines)");
  cmd->add_flag("--best_effort", o->best_effort, "Write the most accurate trial even if it misses the criterion");
  cmd->add_flag("--quiet", *quiet, "No progress on stderr");

  cmd->callback([=] {
    // IsMember above admits only names that parse.
    o->strategy = *parse_quantize_strategy(*strategy);
    o->sensitivity_probe = *parse_sensitivity_probe(*probe);
    QuantizeOptions opts = *o;
    if (!config->empty()) {
      tune::apply_inc_yaml(*config, opts);
      // Flags given on the command line win over the YAML.
      if (cmd->count("--strategy")) opts.strategy = o->strategy;
      if (cmd->count("--max_trials")) opts.max_trials = o->max_trials;
      if (cmd->count("--seed")) opts.seed = o->seed;
    }
    if (cmd->count("--approach")) opts.approach = *parse_quantize_approach(*approach);
    if (opts.approach == QuantizeApproach::static_ && cmd->count("--activations")) {
      throw UsageError("--activations applies to --approach dynamic; static activations are calibrated per tensor");
    }
    opts.onnx_model = *onnx;
    opts.setfit_folder = *setfit;
    if (!data->empty()) opts.calibration_data = std::filesystem::path(*data);
    opts.output_folder = *out;
    if (cmd->count("--relative")) {
      opts.relative_criterion = true;
      opts.criterion = *relative;
    }
    if (cmd->count("--absolute")) {
      opts.relative_criterion = false;
      opts.criterion = *absolute;
    }
    if (cmd->count("--timeout")) opts.max_time = std::chrono::duration<double>(*timeout);
    if (crit->count()) opts.criterion_metric = *parse_criterion_metric(*metric);
    opts.accuracy_metric = *parse_accuracy_metric(*accuracy_metric);
    if (min_agree->count()) {
      if (opts.criterion_metric == CriterionMetric::accuracy) {
        throw UsageError("--min_agreement is the agreement criterion's; it does not go with --criterion accuracy");
      }
      opts.criterion_metric = CriterionMetric::agreement;
    }
    if (opts.criterion_metric == CriterionMetric::agreement && (cmd->count("--relative") || cmd->count("--absolute"))) {
      throw UsageError("--relative and --absolute are the accuracy criterion's; --criterion agreement passes on "
                       "--min_agreement");
    }
    opts.per_channel = !*per_tensor;
    opts.reduce_range = !*full_range;
    opts.activations = *activations == "per_token" ? ActivationScales::per_token : ActivationScales::per_tensor;
    opts.quantize_embeddings = !*keep_embeddings;
    opts.fused_matmul = !*unfused;
    // One line per phase; on a terminal also a live rows/ETA counter during each evaluation.
    const auto status = std::make_shared<ProgressLine>(stderr, ProgressLine::stderr_is_terminal());
    if (!*quiet) {
      opts.progress = [status](const std::string& line) { status->line(line); };
      opts.row_progress = [status](const std::string& phase, std::size_t done, std::size_t total) {
        status->rows(phase, done, total);
      };
    }
    install_interrupt_handlers();
    opts.cancelled = [] { return interrupt_signal() != 0; };
    note_threads(opts.threads);
    const QuantizeReport report = quantize(opts);
    print_summary(report);
  });
}

}  // namespace docquant::cli
