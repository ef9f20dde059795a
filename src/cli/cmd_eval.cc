// docquant eval: accuracy, per-class scores and confusion matrix of a model folder on a
// labelled CSV, optionally beside a second model (e.g. the fp32 original). For a multi-label
// head: exact-match accuracy, per-label scores, micro/macro F1 and Hamming loss.
#include <fmt/core.h>

#include <filesystem>
#include <optional>
#include <nlohmann/json.hpp>

#include "agreement.h"
#include "commands.h"
#include "diagnostics.h"
#include "option_limits.h"
#include "dataset.h"
#include "docquant/error.h"
#include "docquant/setfit.h"
#include "docquant/tokenizer.h"
#include "graph_optimizer.h"
#include "json_file.h"
#include "metrics.h"
#include "model_form.h"
#include "model_options.h"
#include "onnx_io.h"
#include "predictor.h"
#include "staged_file.h"
#include "tokenizer_fit.h"

namespace docquant::cli {

namespace fs = std::filesystem;

namespace {

struct EvalArgs : ModelOptions {
  std::string data, json;
  std::string text_column = "text", label_column = "label";
  std::size_t batch_size = 32;
  int threads = 0;
};

struct Evaluated {
  std::string name;
  std::vector<std::size_t> predicted;  // class per row; for label sets their ids (runtime::label_set_id)
  std::vector<double> margins;         // runtime::answer_margins (empty when the graph gives labels only)
  runtime::Metrics metrics;
  std::optional<runtime::MultiLabelMetrics> multilabel;  // label sets
};

// Where the two models differ, measured against the second model's confidence: flipped
// answers on near ties (a weak head's many rows near 0.5) read differently from flips on
// rows the reference was sure of (src/runtime/agreement.h, as quantize records them).
nlohmann::ordered_json print_agreement_by_margin(const Evaluated& first, const Evaluated& second) {
  nlohmann::ordered_json j = nlohmann::ordered_json::array();
  const std::vector<double>& margin = second.margins;
  if (margin.size() != first.predicted.size()) return j;
  double worst = 0;
  std::size_t differ = 0;
  for (std::size_t r = 0; r < margin.size(); ++r) {
    if (first.predicted[r] != second.predicted[r]) {
      ++differ;
      worst = std::max(worst, margin[r]);
    }
  }
  if (differ > 0) {
    fmt::print("  differing rows: {}, all where the second model's {} at most {:.4f}\n", differ,
               second.multilabel ? "nearest label was (twice its distance from 0.5)"
                                 : "top two probabilities were (their difference)",
               worst);
  }
  for (const auto& a : runtime::agreement_by_margin(first.predicted, second.predicted, margin)) {
    fmt::print("  agreement where they were >= {:<4} apart: {:.2f}% of {} rows\n", a.min_margin, 100 * a.agreement,
               a.rows);
    j.push_back({{"min_margin", a.min_margin}, {"rows", a.rows}, {"agreement", a.agreement}});
  }
  return j;
}

Evaluated evaluate(const std::string& folder_path, const std::string& onnx_override, const EvalArgs& a,
                   std::vector<std::string>& class_names, std::vector<std::size_t>& labels) {
  const auto folder = setfit::SetFitFolder::load(folder_path);
  TokenizerOptions topts;
  topts.padding = Padding::none;
  const auto tokenizer = Tokenizer::from_folder(folder_path, topts);
  auto loaded = model::load_model(onnx_override.empty() ? fs::path(folder_path) : fs::path(onnx_override));
  const auto signature = runtime::detect_signature(loaded.model, loaded.file.string());
  runtime::check_tokenizer_fits(loaded.model, tokenizer, loaded.file.string(), folder_path);
  runtime::BatchPolicy policy;
  policy.batch_size = a.batch_size;
  const auto data = runtime::load_labelled_dataset(a.data, a.text_column, a.label_column, folder, tokenizer, policy,
                                                   a.threads);
  if (!class_names.empty() && class_names != folder.class_names) {
    throw InputError(fmt::format("{}: its classes differ from the first model's; cannot compare", folder_path));
  }
  class_names = folder.class_names;
  labels = data.labels;
  runtime::SessionConfig session;
  session.intra_op_threads = a.threads;
  const std::string bytes =
      runtime::model_to_run(loaded.model, loaded.file, a.optimize_graph, session, loaded.file.string());
  runtime::Predictor predictor(bytes, signature, folder, session, loaded.file.string());
  Evaluated e;
  e.name = loaded.file.string();
  runtime::Predictions p = runtime::predict_dataset(predictor, data);
  e.margins = runtime::answer_margins(p);
  e.predicted = std::move(p.predicted);
  if (data.multi_label()) {
    e.multilabel = runtime::compute_multilabel_metrics(data.label_sets, p.label_set, folder.class_names.size());
  } else {
    e.metrics = runtime::compute_metrics(data.labels, e.predicted, folder.class_names.size());
  }
  return e;
}

void print_multilabel_report(const Evaluated& e, const std::vector<std::string>& names) {
  const auto& m = *e.multilabel;
  fmt::print("{}\n  exact-match accuracy {:.4f} (whole label set right)   Hamming loss {:.4f}\n", e.name, m.exact_match,
             m.hamming_loss);
  fmt::print("  micro precision {:.4f}  recall {:.4f}  F1 {:.4f}   macro F1 {:.4f}\n\n", m.micro_precision,
             m.micro_recall, m.micro_f1, m.macro_f1);
  fmt::print("  {:<16} {:>9} {:>9} {:>9} {:>8}\n", "label", "precision", "recall", "f1", "support");
  for (std::size_t c = 0; c < names.size(); ++c) {
    const auto& l = m.per_label[c];
    fmt::print("  {:<16} {:>9.4f} {:>9.4f} {:>9.4f} {:>8}\n", names[c], l.precision, l.recall, l.f1, l.support);
  }
  fmt::print("\n");
}

void print_report(const Evaluated& e, const std::vector<std::string>& names) {
  if (e.multilabel) return print_multilabel_report(e, names);
  fmt::print("{}\n  accuracy {:.4f}   macro F1 {:.4f}\n\n", e.name, e.metrics.accuracy, e.metrics.macro_f1);
  fmt::print("  {:<16} {:>9} {:>9} {:>9} {:>8}\n", "class", "precision", "recall", "f1", "support");
  for (std::size_t c = 0; c < names.size(); ++c) {
    const auto& m = e.metrics.per_class[c];
    fmt::print("  {:<16} {:>9.4f} {:>9.4f} {:>9.4f} {:>8}\n", names[c], m.precision, m.recall, m.f1, m.support);
  }
  fmt::print("\n  confusion matrix (rows: true, columns: predicted)\n  {:<16}", "");
  for (const auto& n : names) fmt::print(" {:>8.8}", n);
  fmt::print("\n");
  for (std::size_t r = 0; r < names.size(); ++r) {
    fmt::print("  {:<16}", names[r]);
    for (std::size_t c = 0; c < names.size(); ++c) fmt::print(" {:>8}", e.metrics.confusion[r][c]);
    fmt::print("\n");
  }
  fmt::print("\n");
}

nlohmann::ordered_json multilabel_json(const Evaluated& e, const std::vector<std::string>& names) {
  const auto& m = *e.multilabel;
  nlohmann::ordered_json labels = nlohmann::ordered_json::array();
  for (std::size_t c = 0; c < names.size(); ++c) {
    const auto& l = m.per_label[c];
    labels.push_back({{"label", names[c]}, {"precision", l.precision}, {"recall", l.recall}, {"f1", l.f1},
                      {"support", l.support}});
  }
  return {{"model", e.name},
          {"multi_label", true},
          {"exact_match_accuracy", m.exact_match},
          {"micro_precision", m.micro_precision},
          {"micro_recall", m.micro_recall},
          {"micro_f1", m.micro_f1},
          {"macro_f1", m.macro_f1},
          {"hamming_loss", m.hamming_loss},
          {"labels", labels}};
}

// The share of rows right: accuracy, or exact-match accuracy for label sets.
double accuracy_of(const Evaluated& e) { return e.multilabel ? e.multilabel->exact_match : e.metrics.accuracy; }

nlohmann::ordered_json to_json(const Evaluated& e, const std::vector<std::string>& names) {
  if (e.multilabel) return multilabel_json(e, names);
  nlohmann::ordered_json classes = nlohmann::ordered_json::array();
  for (std::size_t c = 0; c < names.size(); ++c) {
    const auto& m = e.metrics.per_class[c];
    classes.push_back({{"class", names[c]}, {"precision", m.precision}, {"recall", m.recall}, {"f1", m.f1},
                       {"support", m.support}});
  }
  return {{"model", e.name}, {"accuracy", e.metrics.accuracy}, {"macro_f1", e.metrics.macro_f1},
          {"classes", classes}, {"confusion", e.metrics.confusion}};
}

}  // namespace

void add_eval_command(CLI::App& root) {
  auto* cmd = root.add_subcommand("eval", "Accuracy, per-class precision/recall/F1 and confusion matrix on a labelled CSV "
                                          "(multi-label heads: exact-match accuracy, per-label and micro/macro F1, Hamming loss)");
  cmd->footer(
      "\nThe model folder holds model.onnx and the SetFit files (what 'docquant quantize' writes); for a SetFit\n"
      "folder whose ONNX model lives elsewhere, add --onnx_model. Batching is classify's default (length-sorted\n"
      "batches of --batch_size, padded per batch), as in quantize's evaluation.\n\n"
      "Examples:\n"
      "  docquant eval --model_folder out/ --data test.csv\n"
      "  docquant eval --model_folder out/ --data test.csv --compare fp32/setfit --compare_onnx fp32/onnx/model.onnx");
  auto a = std::make_shared<EvalArgs>();
  add_model_options(cmd, *a, "A second model folder to evaluate beside the first (e.g. fp32)");
  cmd->add_option("--data", a->data, "CSV with text and label columns")->required();
  cmd->add_option("--text_column", a->text_column, "CSV column holding the text")->capture_default_str();
  cmd->add_option("--label_column", a->label_column,
                  "CSV column holding the label; for a multi-label head the label set, names joined by ';'\n"
                  "(e.g. 'person;time'; an empty cell: no label)")
      ->capture_default_str();
  cmd->add_option("--batch_size", a->batch_size, "Texts per model call")->capture_default_str();
  cmd->add_option("--threads", a->threads, "ONNX Runtime intra-op threads (0: one per core)")->capture_default_str();
  cmd->add_option("--json", a->json, "Also write the numbers as JSON to this file");
  cmd->callback([a] {
    a->check();
    check_threads(a->threads, "--threads");
    check_batch_size(a->batch_size, "--batch_size");
    note_threads(a->threads);
    if (!a->json.empty()) StagedFile::check_target(a->json, "--json", {a->data, a->model_folder, a->onnx_model, a->compare, a->compare_onnx});
    std::vector<std::string> names;
    std::vector<std::size_t> labels;
    const Evaluated first = evaluate(a->model_folder, a->onnx_model, *a, names, labels);
    print_report(first, names);
    nlohmann::ordered_json j;
    j["data"] = a->data;
    j["rows"] = labels.size();
    j["model"] = to_json(first, names);
    if (!a->compare.empty()) {
      const Evaluated second = evaluate(a->compare, a->compare_onnx, *a, names, labels);
      if (second.multilabel.has_value() != first.multilabel.has_value()) {
        throw InputError(fmt::format("{}: one model's head is multi-label and the other's is not; cannot compare",
                                     a->compare));
      }
      print_report(second, names);
      const bool sets = first.multilabel.has_value();
      const double agree = runtime::agreement(first.predicted, second.predicted);
      fmt::print("agreement: the two models predict the same {} for {:.2f}% of {} rows\n", sets ? "label set" : "class",
                 100 * agree, labels.size());
      const nlohmann::ordered_json by_margin = print_agreement_by_margin(first, second);
      fmt::print("{}:  {:.4f} vs {:.4f} ({:+.4f})\n", sets ? "exact-match accuracy" : "accuracy", accuracy_of(first),
                 accuracy_of(second), accuracy_of(first) - accuracy_of(second));
      j["compare"] = to_json(second, names);
      j["agreement"] = agree;
      j["agreement_by_margin"] = by_margin;
    }
    if (!a->json.empty()) write_staged_file(a->json, json_text(std::move(j)));
  });
}

}  // namespace docquant::cli
