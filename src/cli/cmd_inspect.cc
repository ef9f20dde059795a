// docquant inspect: what a model file or folder holds, before anything runs.
#include <fmt/core.h>

#include <filesystem>
#include <iostream>
#include <map>

#include "commands.h"
#include "diagnostics.h"
#include "docquant/error.h"
#include "docquant/setfit.h"
#include "docquant/tokenizer.h"
#include "graph_summary.h"
#include "inspect_setfit.h"
#include "int8_kernel.h"
#include "model_form.h"
#include "onnx_io.h"
#include "quantize_pass.h"
#include "quantizer.h"

namespace docquant::cli {

namespace fs = std::filesystem;

namespace {

std::string human_bytes(std::int64_t bytes) {
  const double b = static_cast<double>(bytes);
  if (b >= 1 << 30) return fmt::format("{:.2f} GiB", b / (1 << 30));
  if (b >= 1 << 20) return fmt::format("{:.1f} MiB", b / (1 << 20));
  if (b >= 1 << 10) return fmt::format("{:.1f} KiB", b / (1 << 10));
  return fmt::format("{} B", bytes);
}

char form_letter(runtime::ModelForm form) {
  switch (form) {
    case runtime::ModelForm::body_last_hidden_state: return 'a';
    case runtime::ModelForm::head_in_graph: return 'b';
    case runtime::ModelForm::sentence_embedding: return 'c';
  }
  return '?';
}

void print_onnx_summary(const fs::path& path) {
  auto loaded = model::load_model(path);
  const auto s = model::summarize(loaded.model);
  for (const auto& note : loaded.notes) say("note: " + note);

  fmt::print("ONNX model   {} ({})\n", loaded.file.string(), human_bytes(static_cast<std::int64_t>(fs::file_size(loaded.file))));
  fmt::print("IR version   {}\n", s.ir_version);
  std::string opsets;
  for (const auto& [domain, version] : s.opsets) {
    opsets += fmt::format("{}{}={}", opsets.empty() ? "" : ", ", domain.empty() ? "ai.onnx" : domain, version);
  }
  fmt::print("opsets       {}\n", opsets);
  if (!s.producer.empty()) fmt::print("producer     {}\n", s.producer);
  // The form decides which steps run after the model (docs/quantize.md, "What it does");
  // a graph docquant cannot feed is described anyway, with the reason.
  try {
    const auto signature = runtime::detect_signature(loaded.model, loaded.file.string());
    fmt::print("form         ({}) {}\n", form_letter(signature.form), signature.describe());
  } catch (const InputError& e) {
    fmt::print("form         none docquant can run: {}\n", e.what());
  }
  fmt::print("\ninputs\n");
  for (const auto& v : s.inputs) fmt::print("  {:<28} {:<8} {}\n", v.name, v.dtype, v.shape);
  fmt::print("outputs\n");
  for (const auto& v : s.outputs) fmt::print("  {:<28} {:<8} {}\n", v.name, v.dtype, v.shape);

  fmt::print("\nparameters   {} in {}\n", s.parameter_count, human_bytes(s.parameter_bytes));
  for (const auto& [dtype, totals] : s.parameters) {
    fmt::print("  {:<10} {:>14} elements {:>12}\n", dtype, totals.elements, human_bytes(totals.bytes));
  }
  int nodes = 0;
  for (const auto& [op, count] : s.op_histogram) nodes += count;
  fmt::print("\nnodes        {} ({} op types)\n", nodes, s.op_histogram.size());
  for (const auto& [op, count] : s.op_histogram) fmt::print("  {:<32} {:>6}\n", op, count);

  const quant::Int8Path int8_path = quant::host_int8_path();
  fmt::print("\nthis CPU's int8 kernel: {} ({})\n", quant::to_string(int8_path),
             quant::int8_path_saturates(int8_path) ? "pairs of u8*s8 products saturate to int16 with full-range weights"
                                                   : "exact int32 accumulation");
  // The nodes quantize would rewrite: the quantizers' own answer, so inspect and quantize agree.
  std::map<std::string, int> quantizable;
  std::int64_t quantizable_weight_bytes = 0;
  for (const auto& c : quant::find_candidates(loaded.model)) {
    quantizable[c.op_type]++;
    quantizable_weight_bytes += c.weight_bytes;
  }
  fmt::print("\ndynamic INT8 quantization could rewrite\n");
  if (quantizable.empty()) {
    std::string ops;
    for (const quant::Quantizer* q : quant::all_quantizers()) ops += fmt::format("{}{}", ops.empty() ? "" : "/", q->op_type());
    fmt::print("  nothing: no {} node that its quantizer accepts\n", ops);
  }
  for (const auto& [op, count] : quantizable) fmt::print("  {:<32} {:>6}\n", op, count);
  if (s.parameter_bytes > 0) {
    fmt::print("  weights they hold: {} ({:.0f}% of parameter bytes)\n", human_bytes(quantizable_weight_bytes),
               100.0 * static_cast<double>(quantizable_weight_bytes) / static_cast<double>(s.parameter_bytes));
  }
}

}  // namespace

void add_inspect_command(CLI::App& root) {
  auto* cmd = root.add_subcommand("inspect",
                                  "Describe an ONNX model (IR/opset, inputs/outputs, ops, parameters, quantizable ops)\n"
                                  "or a SetFit folder (tokenizer, pooling, normalisation, head, labels)");
  cmd->footer(
      "Examples:\n"
      "  docquant inspect model.onnx\n"
      "  docquant inspect path/to/onnx_folder      (a folder holding model.onnx)\n"
      "  docquant inspect path/to/setfit_folder    (tokenizer, pooling, head, labels)\n"
      "  docquant inspect OUT                      (a docquant output folder: both)");
  auto path = std::make_shared<std::string>();
  cmd->add_option("path", *path, "An .onnx file, a folder holding model.onnx, or a SetFit folder")->required();
  cmd->callback([path] {
    const fs::path p(*path);
    std::error_code ec;
    const bool setfit = fs::is_directory(p, ec) && setfit::is_setfit_folder(p);
    if (setfit) {
      print_setfit_summary(p, std::cout, Tokenizer::from_folder(p).describe());
      std::cout << std::flush;
    }
    // A folder may hold both (docquant's own output): describe its model.onnx too.
    if (!setfit || fs::exists(p / "model.onnx", ec)) {
      if (setfit) fmt::print("\n");
      print_onnx_summary(p);
    }
  });
}

}  // namespace docquant::cli
