#pragma once
// tokenizer.json pre-tokenizers.
#include <memory>
#include <string>
#include <vector>

#include "pipeline.h"
#include "onig_regex.h"

namespace docquant::tokenizer {

enum class PrependScheme { always, first, never };

std::unique_ptr<PreTokenizer> make_bert_pre_tokenizer();
std::unique_ptr<PreTokenizer> make_whitespace_pre_tokenizer();
std::unique_ptr<PreTokenizer> make_whitespace_split_pre_tokenizer();
std::unique_ptr<PreTokenizer> make_punctuation_pre_tokenizer(SplitBehavior behavior);
std::unique_ptr<PreTokenizer> make_digits_pre_tokenizer(bool individual_digits);
std::unique_ptr<PreTokenizer> make_metaspace_pre_tokenizer(std::string replacement, PrependScheme scheme, bool split);
std::unique_ptr<PreTokenizer> make_byte_level_pre_tokenizer(bool add_prefix_space, bool use_regex);
std::unique_ptr<PreTokenizer> make_split_pre_tokenizer(Regex pattern, SplitBehavior behavior, bool invert);
std::unique_ptr<PreTokenizer> make_sequence_pre_tokenizer(std::vector<std::unique_ptr<PreTokenizer>> parts);

// GPT-2's byte-to-character table that ByteLevel maps every byte through.
const std::string& byte_level_char(unsigned char byte);

}  // namespace docquant::tokenizer
