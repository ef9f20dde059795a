#pragma once
// tokenizer.json normalizers. Each works on whole UTF-8 strings; offsets are
// not tracked because docquant only needs ids.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pipeline.h"
#include "onig_regex.h"

namespace docquant::tokenizer {

struct BertNormalizerConfig {
  bool clean_text = true;
  bool handle_chinese_chars = true;
  std::optional<bool> strip_accents;
  bool lowercase = true;
};

std::unique_ptr<Normalizer> make_bert_normalizer(BertNormalizerConfig config);
std::unique_ptr<Normalizer> make_unicode_normalizer(NormalForm form);
std::unique_ptr<Normalizer> make_lowercase_normalizer();
std::unique_ptr<Normalizer> make_strip_accents_normalizer();
std::unique_ptr<Normalizer> make_strip_normalizer(bool left, bool right);
std::unique_ptr<Normalizer> make_replace_normalizer(Regex pattern, std::string content);
std::unique_ptr<Normalizer> make_prepend_normalizer(std::string prepend);
std::unique_ptr<Normalizer> make_sequence_normalizer(std::vector<std::unique_ptr<Normalizer>> parts);
// SentencePiece's precompiled charsmap (XLM-R, T5); `where` names it in errors.
std::unique_ptr<Normalizer> make_precompiled_normalizer(std::string charsmap, const std::string& where);

}  // namespace docquant::tokenizer
