#include "model_form.h"

#include <fmt/core.h>

#include <algorithm>
#include <unordered_set>

#include "docquant/error.h"

namespace docquant::runtime {

const char* to_string(ModelForm form) {
  switch (form) {
    case ModelForm::body_last_hidden_state: return "body with last_hidden_state output (pooling and head from the SetFit folder)";
    case ModelForm::head_in_graph: return "SetFit export with the head in the graph";
    case ModelForm::sentence_embedding: return "body with a sentence-embedding output (head from the SetFit folder)";
  }
  return "?";
}

std::string ModelSignature::describe() const {
  std::string names;
  for (const auto& in : inputs) names += (names.empty() ? "" : ", ") + in.name;
  return fmt::format("{}; inputs {}; reads output '{}'", to_string(form), names, output);
}

namespace {

int rank_of(const onnx::ValueInfoProto& v) {
  if (!v.type().has_tensor_type() || !v.type().tensor_type().has_shape()) return -1;
  return v.type().tensor_type().shape().dim_size();
}
int elem_of(const onnx::ValueInfoProto& v) {
  return v.type().has_tensor_type() ? v.type().tensor_type().elem_type() : 0;
}
bool name_has(const std::string& name, const char* part) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  return lower.find(part) != std::string::npos;
}

}  // namespace

ModelSignature detect_signature(const onnx::ModelProto& model, const std::string& source) {
  const auto& g = model.graph();
  std::unordered_set<std::string> initializers;
  for (const auto& t : g.initializer()) initializers.insert(t.name());

  ModelSignature sig;
  static const std::unordered_set<std::string> kKnown = {"input_ids", "attention_mask", "token_type_ids"};
  for (const auto& in : g.input()) {
    if (initializers.count(in.name())) continue;
    if (!kKnown.count(in.name())) {
      throw InputError(fmt::format("{}: input '{}' is not one docquant can feed (it feeds input_ids, attention_mask "
                                   "and token_type_ids); is this a text model exported from a SetFit body?",
                                   source, in.name()));
    }
    const int t = elem_of(in);
    if (t != onnx::TensorProto::INT64 && t != onnx::TensorProto::INT32) {
      throw InputError(fmt::format("{}: input '{}' has element type {}, expected int64 or int32", source, in.name(), t));
    }
    sig.inputs.push_back({in.name(), t});
  }
  if (std::none_of(sig.inputs.begin(), sig.inputs.end(), [](const auto& i) { return i.name == "input_ids"; })) {
    throw InputError(fmt::format("{}: the model has no 'input_ids' input, so it does not take text; docquant "
                                 "quantizes sentence-transformer bodies exported to ONNX",
                                 source));
  }

  const onnx::ValueInfoProto* hidden = nullptr;
  const onnx::ValueInfoProto* embedding = nullptr;
  const onnx::ValueInfoProto* probabilities = nullptr;
  const onnx::ValueInfoProto* label = nullptr;
  for (const auto& out : g.output()) {
    const int r = rank_of(out);
    const int t = elem_of(out);
    const bool is_float = t == onnx::TensorProto::FLOAT;
    if (is_float && r == 3 && (!hidden || out.name() == "last_hidden_state")) hidden = &out;
    const bool probability_name =
        name_has(out.name(), "prob") || name_has(out.name(), "logit") || name_has(out.name(), "score");
    // skl2onnx (SetFit's export_onnx) writes probabilities as double.
    if ((is_float || t == onnx::TensorProto::DOUBLE) && r == 2 && probability_name && !probabilities) {
      probabilities = &out;
    } else if (is_float && r == 2 && !probability_name && !embedding) {
      embedding = &out;
    }
    if ((t == onnx::TensorProto::INT64 || t == onnx::TensorProto::STRING) && r == 1 && !label) label = &out;
  }
  if (probabilities || label) {
    sig.form = ModelForm::head_in_graph;
    const onnx::ValueInfoProto* read = probabilities ? probabilities : label;
    sig.output = read->name();
    sig.output_elem_type = elem_of(*read);
    sig.output_is_label = !probabilities;
  } else if (hidden) {
    sig.form = ModelForm::body_last_hidden_state;
    sig.output = hidden->name();
    sig.output_elem_type = elem_of(*hidden);
  } else if (embedding) {
    sig.form = ModelForm::sentence_embedding;
    sig.output = embedding->name();
    sig.output_elem_type = elem_of(*embedding);
  } else {
    throw InputError(fmt::format("{}: no output docquant can read: expected last_hidden_state [batch, sequence, "
                                 "hidden], a sentence embedding [batch, hidden], or a head's probabilities/label",
                                 source));
  }
  return sig;
}

}  // namespace docquant::runtime
