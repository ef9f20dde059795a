#include "tokenizer_fit.h"

#include <fmt/core.h>

#include <algorithm>
#include <cctype>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "docquant/error.h"

namespace docquant::runtime {

namespace {

bool has_part(std::string name, std::string_view part) {
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  return name.find(part) != std::string::npos;
}

// The first value of an integer scalar (or one-element) initializer or Constant output.
std::optional<std::int64_t> int_constant(const std::string& name,
                                         const std::unordered_map<std::string, const onnx::TensorProto*>& constants) {
  const auto it = constants.find(name);
  if (it == constants.end()) return std::nullopt;
  const onnx::TensorProto& t = *it->second;
  std::int64_t count = 1;
  for (const auto d : t.dims()) count *= d;
  if (count != 1) return std::nullopt;
  if (t.data_type() == onnx::TensorProto::INT64) {
    if (t.int64_data_size() == 1) return t.int64_data(0);
    if (t.raw_data().size() == 8) {
      std::int64_t v = 0;
      std::copy_n(t.raw_data().data(), 8, reinterpret_cast<char*>(&v));
      return v;
    }
  }
  if (t.data_type() == onnx::TensorProto::INT32) {
    if (t.int32_data_size() == 1) return t.int32_data(0);
    if (t.raw_data().size() == 4) {
      std::int32_t v = 0;
      std::copy_n(t.raw_data().data(), 4, reinterpret_cast<char*>(&v));
      return v;
    }
  }
  return std::nullopt;
}

}  // namespace

EmbeddingTables find_embedding_tables(const onnx::ModelProto& model) {
  const auto& g = model.graph();
  std::unordered_map<std::string, const onnx::TensorProto*> tables;     // 2-D initializers
  std::unordered_map<std::string, const onnx::TensorProto*> constants;  // initializers and Constant values
  for (const auto& t : g.initializer()) {
    constants[t.name()] = &t;
    if (t.dims_size() == 2) tables[t.name()] = &t;
  }
  std::unordered_map<std::string, const onnx::NodeProto*> producer;
  for (const auto& n : g.node()) {
    for (const auto& o : n.output()) producer[o] = &n;
    if (n.op_type() == "Constant" && n.output_size() == 1) {
      for (const auto& a : n.attribute()) {
        if (a.name() == "value" && a.has_t()) constants[n.output(0)] = &a.t();
      }
    }
  }
  const auto rows_of = [&](const std::string& name) -> std::int64_t {
    const auto it = tables.find(name);
    return it == tables.end() ? 0 : it->second->dims(0);
  };

  // input_ids, and what Cast makes of it (int32 exports).
  std::unordered_set<std::string> ids = {"input_ids"};
  for (const auto& n : g.node()) {
    if (n.op_type() == "Cast" && n.input_size() == 1 && ids.count(n.input(0))) ids.insert(n.output(0));
  }

  EmbeddingTables found;
  for (const auto& n : g.node()) {
    const bool gather = n.op_type() == "Gather" && n.input_size() == 2;
    const bool embed_layer_norm = (n.op_type() == "EmbedLayerNormalization" || n.op_type() == "QEmbedLayerNormalization") &&
                                  n.input_size() >= 4;
    if (gather && ids.count(n.input(1)) && rows_of(n.input(0)) > 0 && found.token_rows == 0) {
      found.token_table = n.input(0);
      found.token_rows = rows_of(n.input(0));
    }
    if (embed_layer_norm && ids.count(n.input(0))) {
      if (found.token_rows == 0 && rows_of(n.input(2)) > 0) {
        found.token_table = n.input(2);
        found.token_rows = rows_of(n.input(2));
      }
      if (found.position_rows == 0 && rows_of(n.input(3)) > 0) {
        found.position_table = n.input(3);
        found.position_rows = rows_of(n.input(3));
      }
    }
    if (gather && !ids.count(n.input(1)) && has_part(n.input(0), "position") && rows_of(n.input(0)) > 0 &&
        found.position_rows == 0) {
      found.position_table = n.input(0);
      found.position_rows = rows_of(n.input(0));
      // RoBERTa/MPNet position ids: cumsum(mask) * mask + padding_idx. Look a few nodes up
      // the indices for the CumSum and the Add of padding_idx.
      std::vector<std::string> todo = {n.input(1)};
      std::unordered_set<std::string> seen;
      bool cumsum = false;
      std::optional<std::int64_t> added;
      for (std::size_t k = 0; k < todo.size() && seen.size() < 32; ++k) {
        if (!seen.insert(todo[k]).second) continue;
        const auto p = producer.find(todo[k]);
        if (p == producer.end()) continue;
        const onnx::NodeProto& node = *p->second;
        if (node.op_type() == "CumSum") cumsum = true;
        if (node.op_type() == "Add" && node.input_size() == 2 && !added) {
          added = int_constant(node.input(0), constants);
          if (!added) added = int_constant(node.input(1), constants);
        }
        for (const auto& in : node.input()) todo.push_back(in);
      }
      if (cumsum) found.position_offset = added.value_or(1) + 1;
    }
  }
  return found;
}

void check_tokenizer_fits(const onnx::ModelProto& model, const Tokenizer& tokenizer, const std::string& model_name,
                          const std::string& tokenizer_name) {
  const EmbeddingTables t = find_embedding_tables(model);
  if (t.token_rows > 0 && tokenizer.max_id() >= t.token_rows) {
    throw InputError(fmt::format("{}: the tokenizer of '{}' gives ids up to {}, but the model's token embedding table "
                                 "'{}' has {} rows; the tokenizer and the ONNX model come from different models",
                                 model_name, tokenizer_name, tokenizer.max_id(), t.token_table, t.token_rows));
  }
  const auto length = static_cast<std::int64_t>(tokenizer.max_length());
  if (t.position_rows > 0 && length + t.position_offset > t.position_rows) {
    throw InputError(fmt::format("{}: max length {} ({}) is more than the model's {} positions (position embedding "
                                 "table '{}'); use a max length of at most {}",
                                 model_name, length, tokenizer.max_length_source(), t.position_rows - t.position_offset,
                                 t.position_table, t.position_rows - t.position_offset));
  }
}

}  // namespace docquant::runtime
