#pragma once
// The prompt sentence-transformers (>= 2.4) puts before every text it encodes:
// config_sentence_transformers.json `prompts[default_prompt_name]`. SetFit encodes through
// SentenceTransformer.encode without a prompt argument, so this default applies to every
// text of a SetFit model. Read here once for the tokenizer (which prepends it) and the SetFit
// folder (whose pooling must agree with it).
#include <filesystem>
#include <optional>
#include <string>

namespace docquant {

struct DefaultPrompt {
  std::string name;  // default_prompt_name
  std::string text;  // prompts[name], prepended to every text as it is
  std::filesystem::path file;  // the config it comes from, for messages
};

// The default prompt of a sentence-transformers folder, or nothing when
// config_sentence_transformers.json is absent or names no default_prompt_name. Throws
// InputError naming the file and field when `prompts` is not an object of strings,
// default_prompt_name is not a string, or names no entry of `prompts` (sentence-transformers
// refuses that folder too).
std::optional<DefaultPrompt> read_default_prompt(const std::filesystem::path& folder);

}  // namespace docquant
