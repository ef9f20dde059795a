#pragma once
// Which of the three forms users export a SetFit body in, read off the graph's
// inputs and outputs, so that evaluation runs the right steps after the model.
#include <onnx/onnx_pb.h>

#include <string>
#include <vector>

namespace docquant::runtime {

enum class ModelForm {
  body_last_hidden_state,  // (a) Optimum export: token embeddings; pooling + head from the SetFit folder
  head_in_graph,           // (b) SetFit's export_onnx: the head folded into the graph
  sentence_embedding,      // (c) a body that outputs the pooled sentence embedding
};
const char* to_string(ModelForm form);

struct ModelSignature {
  ModelForm form = ModelForm::body_last_hidden_state;
  // Text inputs the graph takes, among input_ids / attention_mask / token_type_ids,
  // in graph order, with their element type (int64 or int32).
  struct Input {
    std::string name;
    int elem_type = 0;
  };
  std::vector<Input> inputs;
  std::string output;        // the output docquant reads (hidden states, embedding, or probabilities/label)
  bool output_is_label = false;  // head_in_graph whose only usable output is the predicted label
  int output_elem_type = 0;      // ONNX element type of `output` (probabilities may be float or double)
  std::string describe() const;
};

// Throws InputError naming the file when the graph has no input_ids input, an input
// docquant cannot feed, or no output it can read.
ModelSignature detect_signature(const onnx::ModelProto& model, const std::string& source);

}  // namespace docquant::runtime
