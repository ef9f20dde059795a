#pragma once
// tokenizer.json post-processors, for a single sequence (SetFit encodes one text
// at a time): they add the special tokens and set token_type_ids.
#include <memory>
#include <string>
#include <vector>

#include "pipeline.h"

namespace docquant::tokenizer {

// One element of a TemplateProcessing "single" template: a special token's ids,
// or the sequence itself (empty ids), with its type id.
struct TemplatePart {
  bool is_sequence = false;
  std::vector<int64_t> special_ids;
  int64_t type_id = 0;
};

// BertProcessing and RobertaProcessing: cls A sep.
std::unique_ptr<PostProcessor> make_cls_sep_processor(std::string name, int64_t cls_id, int64_t sep_id);
std::unique_ptr<PostProcessor> make_template_processor(std::vector<TemplatePart> single);
// ByteLevel as a post-processor only trims offsets: ids are unchanged.
std::unique_ptr<PostProcessor> make_identity_processor(std::string name);
std::unique_ptr<PostProcessor> make_sequence_processor(std::vector<std::unique_ptr<PostProcessor>> parts);

}  // namespace docquant::tokenizer
