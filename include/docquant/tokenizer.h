#pragma once
// Text -> input_ids / attention_mask / token_type_ids, exactly as Hugging Face
// `tokenizers` produces them for a SetFit (sentence-transformers) body.
//
// Promise: for every supported tokenizer.json, encode(text) gives the ids that
// `tokenizers` gives for `text` decoded from UTF-8 with Python's 'replace' error
// handler, with truncation to max_length() and no padding (docs/tokenizer.md).
// Anything in tokenizer.json that docquant does not implement is refused with an
// InputError naming the component ("normalizer type X is not supported"); it is
// never approximated.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace docquant {

// One encoded text; the three vectors always have the same length.
struct Encoding {
  std::vector<int64_t> input_ids;
  std::vector<int64_t> attention_mask;
  std::vector<int64_t> token_type_ids;
};

enum class Padding {
  none,        // encode_batch returns each encoding at its own length
  longest,     // pad every encoding of a batch to the longest one (sentence-transformers' default)
  max_length,  // pad every encoding to max_length()
};

struct TokenizerOptions {
  // Overrides the truncation length found in the folder (sentence_bert_config.json
  // max_seq_length, else tokenizer_config.json model_max_length). Required by
  // from_json_file when no folder is known.
  std::optional<std::size_t> max_length;
  Padding padding = Padding::longest;  // used by encode_batch only
  // from_folder only: prepare each text as sentence-transformers does before its
  // tokenizer sees it: the default prompt of config_sentence_transformers.json
  // (prompts[default_prompt_name]) prepended, then Python's str.strip(), then str.lower()
  // when sentence_bert_config.json says do_lower_case (docs/tokenizer.md).
  bool sentence_transformers_input = true;
};

class Tokenizer {
 public:
  // Loads a SetFit / sentence-transformers folder: tokenizer.json if present, else
  // vocab.txt with tokenizer_config.json (BERT WordPiece). Throws InputError for a
  // missing, malformed or unsupported tokenizer, naming the file and field.
  static Tokenizer from_folder(const std::filesystem::path& setfit_folder, TokenizerOptions options = {});
  // Loads one tokenizer.json; options.max_length must be set.
  static Tokenizer from_json_file(const std::filesystem::path& tokenizer_json, TokenizerOptions options);

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  // Encodes one text (UTF-8; invalid sequences become U+FFFD), truncated to
  // max_length() including special tokens, unpadded. Thread-safe. A folder's
  // tokenizer first strips (and maybe lower-cases) the text as sentence-transformers does.
  Encoding encode(std::string_view text) const;
  // Encodes texts on `threads` threads (0: hardware concurrency) and pads them
  // as options.padding says. Output order matches input order. Thread-safe.
  std::vector<Encoding> encode_batch(std::span<const std::string> texts, int threads = 0) const;

  std::size_t max_length() const;
  // Where max_length() comes from: "sentence_bert_config.json max_seq_length", "the max
  // length option", …
  const std::string& max_length_source() const;
  int64_t pad_id() const;
  // The largest id encode() or encode_batch() can give (model vocabulary, added tokens,
  // special tokens, padding): a model's embedding table needs more rows than this.
  int64_t max_id() const;
  // One line for 'docquant inspect', e.g.
  // "tokenizer.json: WordPiece (BertNormalizer, BertPreTokenizer, TemplateProcessing), max length 256".
  std::string describe() const;

  struct Impl;

 private:
  explicit Tokenizer(std::unique_ptr<const Impl> impl);
  std::unique_ptr<const Impl> impl_;
};

}  // namespace docquant
