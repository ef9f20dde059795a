// docquant bench: latency and throughput of a model folder, optionally beside a second
// model measured in the same run (interleaved, so load from elsewhere hits both alike).
#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "commands.h"
#include "diagnostics.h"
#include "option_limits.h"
#include "model_options.h"
#include "staged_file.h"
#include "csv.h"
#include "docquant/classifier.h"
#include "docquant/error.h"
#include "docquant/version.h"
#include "int8_kernel.h"
#include "json_file.h"
#include "text_line_reader.h"

namespace docquant::cli {

namespace fs = std::filesystem;

namespace {

struct BenchArgs : ModelOptions {
  std::string data, json;
  std::string text_column = "text";
  std::string batch_sizes = "1,8,32";
  std::size_t warmup = 3, repetitions = 10, max_rows = 512;
  int threads = 0;
};

struct ModelSpec {
  std::string role;  // "model" or "compare"
  fs::path folder;
  fs::path onnx_model;
};

// One batch size's timings for one model.
struct Timings {
  std::vector<double> pass_seconds;  // one per repetition: every text once
  std::vector<double> latency_ms;    // batch 1 only: one per text per repetition
};

std::vector<std::size_t> parse_batch_sizes(const std::string& text) {
  std::vector<std::size_t> sizes;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, end - start);
    std::size_t value = 0;
    const bool digits = !item.empty() && item.size() <= 6 && std::all_of(item.begin(), item.end(), [](char c) {
      return c >= '0' && c <= '9';
    });
    if (digits) value = std::stoul(item);
    if (!digits || value == 0) {
      throw UsageError(fmt::format("--batch_sizes '{}': '{}' is not a positive integer (e.g. --batch_sizes 1,8,32)",
                                   text, item));
    }
    check_batch_size(value, "each of --batch_sizes");
    if (std::find(sizes.begin(), sizes.end(), value) == sizes.end()) sizes.push_back(value);
    start = end + 1;
  }
  return sizes;
}

// The first max_rows texts of a CSV (--text_column) or a .txt file (one per line,
// src/common/text_line_reader.h).
std::vector<std::string> read_texts(const fs::path& path, const std::string& column, std::size_t max_rows) {
  std::vector<std::string> texts;
  if (path.extension() == ".txt") {
    TextLineReader::open(path).read(texts, max_rows);
  } else {
    auto reader = CsvReader::open(path);
    const std::size_t col = reader.column(column);
    CsvRecord record;
    while (texts.size() < max_rows && reader.next(record)) texts.push_back(std::move(record.fields[col]));
  }
  if (texts.empty()) throw InputError(fmt::format("{}: no texts to measure", path.string()));
  return texts;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// One pass over the texts: at batch 1 each text alone (latency per text recorded), else
// every text through the classifier's own batching (length-sorted batches of batch_size).
double run_pass(const Classifier& classifier, const std::vector<std::string>& texts, std::size_t batch_size,
                std::vector<double>* latency_ms) {
  const auto pass_start = std::chrono::steady_clock::now();
  if (batch_size == 1) {
    for (const auto& text : texts) {
      const auto start = std::chrono::steady_clock::now();
      const auto result = classifier.classify(std::span<const std::string>(&text, 1));
      if (latency_ms) latency_ms->push_back(1e3 * seconds_since(start));
      if (result.label.size() != 1) throw InternalError("bench: the classifier returned no label for a text");
    }
  } else {
    const auto result = classifier.classify(texts);
    if (result.label.size() != texts.size()) throw InternalError("bench: the classifier returned too few labels");
  }
  return seconds_since(pass_start);
}

// Nearest-rank percentile: the sample at ceil(q/100 * n) in sorted order.
double percentile(std::vector<double> samples, double q) {
  std::sort(samples.begin(), samples.end());
  const auto rank = static_cast<std::size_t>(std::ceil(q / 100.0 * static_cast<double>(samples.size())));
  return samples[std::min(samples.size() - 1, rank == 0 ? 0 : rank - 1)];
}

double median(std::vector<double> samples) { return percentile(std::move(samples), 50); }

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

nlohmann::ordered_json result_json(std::size_t batch_size, const Timings& t, std::size_t rows) {
  std::vector<double> throughput;
  for (double s : t.pass_seconds) throughput.push_back(static_cast<double>(rows) / s);
  nlohmann::ordered_json j;
  j["batch_size"] = batch_size;
  j["throughput_texts_per_s"] = median(throughput);
  j["throughput_samples"] = throughput;
  if (!t.latency_ms.empty()) {
    j["latency_ms"] = {{"p50", percentile(t.latency_ms, 50)},
                       {"p95", percentile(t.latency_ms, 95)},
                       {"p99", percentile(t.latency_ms, 99)},
                       {"samples", t.latency_ms.size()}};
  }
  return j;
}

void run_bench(const BenchArgs& a) {
  const auto batch_sizes = parse_batch_sizes(a.batch_sizes);
  if (a.repetitions == 0) throw UsageError("--repetitions must be at least 1");
  if (a.max_rows == 0) throw UsageError("--max_rows must be at least 1");
  check_threads(a.threads, "--threads");
  note_threads(a.threads);
  a.check();
  const auto texts = read_texts(a.data, a.text_column, a.max_rows);

  std::vector<ModelSpec> specs{{"model", a.model_folder, a.onnx_model}};
  if (!a.compare.empty()) specs.push_back({"compare", a.compare, a.compare_onnx});
  std::vector<std::vector<Timings>> timings(specs.size(), std::vector<Timings>(batch_sizes.size()));
  std::vector<std::string> classes;

  for (std::size_t b = 0; b < batch_sizes.size(); ++b) {
    // One Classifier per model and batch size, both alive while this batch size runs.
    std::vector<std::unique_ptr<Classifier>> classifiers;
    for (const auto& spec : specs) {
      ClassifierOptions options;
      options.onnx_model = spec.onnx_model;
      options.threads = a.threads;
      options.optimize_graph = a.optimize_graph;
      options.batch_size = batch_sizes[b];
      classifiers.push_back(std::make_unique<Classifier>(spec.folder, options));
      if (classes.empty()) classes = classifiers.back()->classes();
      if (classifiers.back()->classes() != classes) {
        throw InputError(fmt::format("{}: its classes differ from {}'s; cannot compare", spec.folder.string(),
                                     specs.front().folder.string()));
      }
    }
    for (std::size_t w = 0; w < a.warmup; ++w) {
      for (const auto& c : classifiers) run_pass(*c, texts, batch_sizes[b], nullptr);
    }
    // Interleaved: each repetition runs every model once, alternating which goes first.
    for (std::size_t r = 0; r < a.repetitions; ++r) {
      for (std::size_t k = 0; k < specs.size(); ++k) {
        const std::size_t m = (r % 2 == 0) ? k : specs.size() - 1 - k;
        auto& t = timings[m][b];
        t.pass_seconds.push_back(run_pass(*classifiers[m], texts, batch_sizes[b], &t.latency_ms));
      }
    }
  }

  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const std::string cpu = quant::host_cpu_model();
  const quant::Int8Path int8_path = quant::host_int8_path();
  fmt::print("docquant bench  {} texts from {}, warm-up {}, repetitions {}\n", texts.size(), a.data, a.warmup,
             a.repetitions);
  fmt::print("  {}, {} logical cores; ONNX Runtime {} intra-op threads {}; docquant {} ({})\n", cpu, cores,
             kOnnxRuntimeVersion, a.threads == 0 ? fmt::format("0 (one per core: {})", cores) : std::to_string(a.threads),
             kVersion, kGitCommit);
  fmt::print("  int8 kernel: {} ({})\n", quant::to_string(int8_path),
             quant::int8_path_saturates(int8_path)
                 ? "pairs of u8*s8 products saturate to int16; full-range weights compute differently than on VNNI CPUs"
                 : "exact int32 accumulation");
  for (const auto& spec : specs) {
    fmt::print("  {:<8} {}{}\n", spec.role, spec.folder.string(),
               spec.onnx_model.empty() ? "" : fmt::format(" (onnx {})", spec.onnx_model.string()));
  }
  const bool compare = specs.size() == 2;
  fmt::print("\n  {:>5}  {:<14} {:>12}{}\n", "batch", "metric", "model", compare ? fmt::format(" {:>12} {:>14}", "compare", "model faster") : "");
  auto row = [&](std::size_t batch, const std::string& metric, double first, double second, bool lower_is_better) {
    fmt::print("  {:>5}  {:<14} {:>12.2f}", batch, metric, first);
    if (compare) fmt::print(" {:>12.2f} {:>13.2f}x", second, lower_is_better ? second / first : first / second);
    fmt::print("\n");
  };
  nlohmann::ordered_json results = nlohmann::ordered_json::array();
  nlohmann::ordered_json ratios = nlohmann::ordered_json::array();
  std::vector<nlohmann::ordered_json> per_model(specs.size(), nlohmann::ordered_json::array());
  for (std::size_t b = 0; b < batch_sizes.size(); ++b) {
    std::vector<nlohmann::ordered_json> r;
    for (std::size_t m = 0; m < specs.size(); ++m) {
      r.push_back(result_json(batch_sizes[b], timings[m][b], texts.size()));
      per_model[m].push_back(r.back());
    }
    const auto value = [&](std::size_t m, const char* key, const char* sub) {
      return sub ? r[m][key][sub].get<double>() : r[m][key].get<double>();
    };
    const std::size_t other = compare ? 1 : 0;
    if (batch_sizes[b] == 1) {
      for (const char* p : {"p50", "p95", "p99"}) {
        row(1, fmt::format("latency {} ms", p), value(0, "latency_ms", p), value(other, "latency_ms", p), true);
      }
    }
    row(batch_sizes[b], "texts/s", value(0, "throughput_texts_per_s", nullptr),
        value(other, "throughput_texts_per_s", nullptr), false);
    if (compare) {
      nlohmann::ordered_json ratio;
      ratio["batch_size"] = batch_sizes[b];
      ratio["throughput_model_over_compare"] =
          value(0, "throughput_texts_per_s", nullptr) / value(1, "throughput_texts_per_s", nullptr);
      if (batch_sizes[b] == 1) {
        ratio["latency_p50_compare_over_model"] = value(1, "latency_ms", "p50") / value(0, "latency_ms", "p50");
      }
      ratios.push_back(ratio);
    }
  }
  if (compare) fmt::print("\n  'model faster': throughput model/compare; latency compare/model (> 1: model is faster)\n");

  if (a.json.empty()) return;
  nlohmann::ordered_json j;
  j["docquant_version"] = kVersion;
  j["git_commit"] = kGitCommit;
  j["onnxruntime_version"] = kOnnxRuntimeVersion;
  j["date_utc"] = utc_now();
  j["machine"] = {{"cpu_model", cpu},
                  {"logical_cores", cores},
                  {"int8_path", quant::to_string(int8_path)},
                  {"int8_exact", !quant::int8_path_saturates(int8_path)}};
  j["settings"] = {{"threads", a.threads},
                   {"threads_effective", a.threads == 0 ? static_cast<int>(cores) : a.threads},
                   {"batch_sizes", batch_sizes},
                   {"warmup", a.warmup},
                   {"repetitions", a.repetitions},
                   {"latency", "batch 1: each text alone, end to end (tokenize + model + pooling + head)"},
                   {"throughput", "texts / wall time of one pass over all texts (median of repetitions)"}};
  j["data"] = {{"path", a.data}, {"text_column", a.text_column}, {"rows", texts.size()}};
  j["classes"] = classes;
  nlohmann::ordered_json models = nlohmann::ordered_json::array();
  for (std::size_t m = 0; m < specs.size(); ++m) {
    models.push_back({{"role", specs[m].role},
                      {"model_folder", specs[m].folder.string()},
                      {"onnx_model", specs[m].onnx_model.empty() ? (specs[m].folder / "model.onnx").string()
                                                                 : specs[m].onnx_model.string()},
                      {"results", per_model[m]}});
  }
  j["models"] = models;
  if (compare) j["ratios"] = ratios;
  write_staged_file(a.json, json_text(std::move(j)));
}

}  // namespace

void add_bench_command(CLI::App& root) {
  auto* cmd = root.add_subcommand("bench", "Latency and throughput of a model folder, optionally beside another");
  cmd->footer(
      "\nBatch 1: latency per text, end to end (tokenize + model + pooling + head), p50/p95/p99 over every\n"
      "text of the set in every repetition. Larger batches: throughput in texts/s of one pass over the set\n"
      "through the classifier's batching (length-sorted batches of that size), median of repetitions.\n"
      "The set is the first --max_rows texts of --data (a CSV, or a .txt with one text per line).\n"
      "With --compare, both models run in the same process, interleaved within each repetition, and the\n"
      "table gives the ratios.\n\n"
      "Examples:\n"
      "  docquant bench --model_folder out/ --data test.csv\n"
      "  docquant bench --model_folder out/ --compare fp32/setfit --compare_onnx fp32/onnx/model.onnx \\\n"
      "                 --data test.csv --threads 2 --json bench.json\n"
      "  docquant bench --model_folder out/ --data texts.txt --batch_sizes 1,64 --warmup 1 --repetitions 3");
  auto a = std::make_shared<BenchArgs>();
  add_model_options(cmd, *a, "A second model folder measured in the same run (e.g. fp32)");
  cmd->add_option("--data", a->data, "Texts to measure on: CSV (see --text_column) or .txt")->required();
  cmd->add_option("--text_column", a->text_column, "CSV column holding the text")->capture_default_str();
  cmd->add_option("--batch_sizes", a->batch_sizes, "Comma-separated batch sizes; 1 gives latency")
      ->capture_default_str();
  cmd->add_option("--warmup", a->warmup, "Untimed passes per model and batch size")->capture_default_str();
  cmd->add_option("--repetitions", a->repetitions, "Timed passes per model and batch size")->capture_default_str();
  cmd->add_option("--threads", a->threads, "ONNX Runtime intra-op threads (0: one per core)")->capture_default_str();
  cmd->add_option("--max_rows", a->max_rows, "Use the first N texts of --data")->capture_default_str();
  cmd->add_option("--json", a->json, "Also write every number, the machine and the commit as JSON to this file");
  cmd->callback([a] {
    if (!a->json.empty()) StagedFile::check_target(a->json, "--json", {a->data, a->model_folder, a->onnx_model, a->compare, a->compare_onnx});
    run_bench(*a);
  });
}

}  // namespace docquant::cli
