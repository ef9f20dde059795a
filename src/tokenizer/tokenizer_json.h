#pragma once
// Reads tokenizer.json (and, for folders without one, vocab.txt) into a
// pipeline. Every refusal is one InputError naming the file and the field.
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "added_vocabulary.h"
#include "pipeline.h"

namespace docquant::tokenizer {

struct Pipeline {
  std::unique_ptr<Normalizer> normalizer;
  std::unique_ptr<PreTokenizer> pre_tokenizer;
  std::unique_ptr<Model> model;
  std::unique_ptr<PostProcessor> post_processor;
  std::unique_ptr<AddedVocabulary> added;
  std::optional<int64_t> pad_id;  // tokenizer.json padding.pad_id, when present
  std::string source;             // file name for describe()
};

Pipeline load_tokenizer_json(const std::filesystem::path& path);

// A BERT WordPiece pipeline from vocab.txt and tokenizer_config.json's flags
// (do_lower_case, tokenize_chinese_chars, strip_accents), as transformers'
// BertTokenizerFast builds it.
Pipeline load_bert_vocab(const std::filesystem::path& vocab_txt, const std::filesystem::path& tokenizer_config);

}  // namespace docquant::tokenizer
