// docquant::Tokenizer: loading a folder or a tokenizer.json, encoding one text,
// and encoding batches on several threads with SetFit's padding.
#include "docquant/tokenizer.h"
#include "file_util.h"
#include "json_file.h"
#include "option_limits.h"
#include "st_prompt.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "docquant/error.h"
#include "long_text.h"
#include "tokenizer_json.h"
#include "unicode.h"

namespace docquant {

struct Tokenizer::Impl {
  tokenizer::Pipeline pipeline;
  std::size_t max_length = 0;
  std::string max_length_source;
  int64_t pad_id = 0;
  Padding padding = Padding::longest;
  bool strip_input = false;  // sentence-transformers' str.strip()
  bool lower_input = false;  // sentence-transformers' do_lower_case
  std::optional<DefaultPrompt> prompt;  // prepended to every text before strip and lower
};

namespace {

using nlohmann::json;

std::optional<json> read_optional_json(const std::filesystem::path& path) {
  if (input_path_type(path) == std::filesystem::file_type::not_found) return std::nullopt;
  return read_json_file(path);
}

// tokenizer_config.json / special_tokens_map.json write a token as "x" or {"content": "x", ...}.
std::optional<std::string> token_content(const json& config, const char* key) {
  if (!config.is_object() || !config.contains(key)) return std::nullopt;
  const json& v = config.at(key);
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v.at("content").is_string()) return v.at("content").get<std::string>();
  return std::nullopt;
}

std::optional<int64_t> id_of_token(const tokenizer::Pipeline& p, const std::string& token) {
  for (const auto& t : p.added->tokens())
    if (t.content == token) return t.id;
  if (const int64_t* id = p.model->token_to_id(token)) return *id;
  return std::nullopt;
}

void check_max_length(const Tokenizer::Impl& impl) {
  const std::size_t added = impl.pipeline.post_processor ? impl.pipeline.post_processor->added_tokens() : 0;
  if (impl.max_length <= added)
    throw InputError(impl.max_length_source + ": max length " + std::to_string(impl.max_length) +
                     " leaves no room for text after the " + std::to_string(added) + " special tokens");
}

void pad_to(Encoding& e, std::size_t length, int64_t pad_id) {
  if (e.input_ids.size() >= length) return;
  e.input_ids.resize(length, pad_id);
  e.attention_mask.resize(length, 0);
  e.token_type_ids.resize(length, 0);
}

}  // namespace

Tokenizer::Tokenizer(std::unique_ptr<const Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::from_json_file(const std::filesystem::path& tokenizer_json, TokenizerOptions options) {
  if (!options.max_length)
    throw UsageError(tokenizer_json.string() + ": a max length is needed to load a tokenizer.json outside a SetFit folder");
  auto impl = std::make_unique<Impl>();
  impl->pipeline = tokenizer::load_tokenizer_json(tokenizer_json);
  impl->max_length = *options.max_length;
  impl->max_length_source = "the max length option";
  impl->pad_id = impl->pipeline.pad_id.value_or(0);
  impl->padding = options.padding;
  check_max_length(*impl);
  return Tokenizer(std::move(impl));
}

Tokenizer Tokenizer::from_folder(const std::filesystem::path& folder, TokenizerOptions options) {
  if (input_path_type(folder) != std::filesystem::file_type::directory) {
    throw InputError(folder.string() + ": not a folder");
  }
  const auto present = [](const std::filesystem::path& p) {
    return input_path_type(p) != std::filesystem::file_type::not_found;
  };
  auto impl = std::make_unique<Impl>();
  const auto tokenizer_json = folder / "tokenizer.json";
  const auto tokenizer_config_path = folder / "tokenizer_config.json";
  if (present(tokenizer_json)) {
    impl->pipeline = tokenizer::load_tokenizer_json(tokenizer_json);
  } else if (present(folder / "vocab.txt")) {
    impl->pipeline = tokenizer::load_bert_vocab(folder / "vocab.txt", tokenizer_config_path);
  } else if (present(folder / "sentencepiece.bpe.model") || present(folder / "spiece.model")) {
    throw InputError(folder.string() +
                     ": has a SentencePiece model but no tokenizer.json; docquant does not support SentencePiece-only "
                     "folders yet (save the tokenizer with transformers to write tokenizer.json)");
  } else {
    throw InputError(folder.string() + ": no tokenizer.json or vocab.txt");
  }

  const auto tokenizer_config = read_optional_json(tokenizer_config_path);
  const auto st_path = folder / "sentence_bert_config.json";
  const auto st = read_optional_json(st_path);
  if (options.sentence_transformers_input) {
    impl->strip_input = true;
    impl->prompt = read_default_prompt(folder);
    if (st && st->is_object() && st->contains("do_lower_case") && !st->at("do_lower_case").is_null()) {
      if (!st->at("do_lower_case").is_boolean()) throw InputError(st_path.string() + ": do_lower_case: expected true or false");
      impl->lower_input = st->at("do_lower_case").get<bool>();
    }
  }
  if (options.max_length) {
    impl->max_length = *options.max_length;
    impl->max_length_source = "the max length option";
  } else {
    if (st && st->is_object() && st->contains("max_seq_length") && !st->at("max_seq_length").is_null()) {
      const json& v = st->at("max_seq_length");
      if (!v.is_number_integer() || v.get<int64_t>() <= 0)
        throw InputError(st_path.string() + ": max_seq_length: expected a positive integer");
      impl->max_length = static_cast<std::size_t>(v.get<int64_t>());
      impl->max_length_source = st_path.filename().string() + " max_seq_length";
    } else if (tokenizer_config && tokenizer_config->is_object() && tokenizer_config->contains("model_max_length") &&
               tokenizer_config->at("model_max_length").is_number()) {
      // transformers writes 1e30 when a model has no limit: that is no limit we can use.
      const double m = tokenizer_config->at("model_max_length").get<double>();
      if (m <= 0 || m > 1e6)
        throw InputError(tokenizer_config_path.string() + ": model_max_length " + std::to_string(m) +
                         " is not a usable max length and sentence_bert_config.json has no max_seq_length");
      impl->max_length = static_cast<std::size_t>(m);
      impl->max_length_source = tokenizer_config_path.filename().string() + " model_max_length";
    } else {
      throw InputError(folder.string() +
                       ": no max length: neither sentence_bert_config.json max_seq_length nor tokenizer_config.json "
                       "model_max_length is set");
    }
  }

  // The pad id transformers uses: the pad_token of tokenizer_config.json or
  // special_tokens_map.json, else tokenizer.json's padding.pad_id.
  std::optional<std::string> pad_token;
  if (tokenizer_config) pad_token = token_content(*tokenizer_config, "pad_token");
  if (!pad_token) {
    if (const auto stm = read_optional_json(folder / "special_tokens_map.json")) pad_token = token_content(*stm, "pad_token");
  }
  std::optional<int64_t> pad_id;
  if (pad_token) pad_id = id_of_token(impl->pipeline, *pad_token);
  impl->pad_id = pad_id.value_or(impl->pipeline.pad_id.value_or(0));
  impl->padding = options.padding;
  check_max_length(*impl);
  return Tokenizer(std::move(impl));
}

Encoding Tokenizer::encode(std::string_view text) const {
  const auto& p = impl_->pipeline;
  // Truncation leaves room for the special tokens the post-processor adds (HF post_process).
  const std::size_t added = p.post_processor ? p.post_processor->added_tokens() : 0;
  const std::size_t room = impl_->max_length - added;
  Encoding e;
  // A long text is tokenized slice by slice until `room` ids exist (long_text.h): the same
  // ids, in memory bounded by the slice length rather than by the text's.
  std::optional<std::vector<int64_t>> sliced;
  if (text.size() >= 2 * tokenizer::slice_bytes()) {
    const tokenizer::TextPreparation prep{impl_->prompt ? &impl_->prompt->text : nullptr, impl_->strip_input,
                                          impl_->lower_input};
    sliced = tokenizer::encode_sliced(p, prep, text, room);
  }
  if (sliced) {
    e.input_ids = std::move(*sliced);
  } else {
    std::string clean = tokenizer::sanitize_utf8(text);
    // sentence-transformers' encode: prompt + text, and only then Transformer.tokenize's strip.
    if (impl_->prompt) clean.insert(0, impl_->prompt->text);
    if (impl_->strip_input) clean = tokenizer::python_strip(clean);
    if (impl_->lower_input) clean = tokenizer::python_lower(clean);
    tokenizer::Pieces pieces = p.added->extract_and_normalize(clean, p.normalizer.get());
    if (p.pre_tokenizer) p.pre_tokenizer->pre_tokenize(pieces);
    for (const auto& piece : pieces) {
      if (piece.id >= 0)
        e.input_ids.push_back(piece.id);
      else
        p.model->tokenize(piece.text, e.input_ids);
    }
  }
  if (e.input_ids.size() > room) e.input_ids.resize(room);
  e.token_type_ids.assign(e.input_ids.size(), 0);
  if (p.post_processor) p.post_processor->process(e.input_ids, e.token_type_ids);
  e.attention_mask.assign(e.input_ids.size(), 1);
  return e;
}

std::vector<Encoding> Tokenizer::encode_batch(std::span<const std::string> texts, int threads) const {
  check_threads(threads, "threads");
  std::vector<Encoding> out(texts.size());
  std::size_t n_threads = threads > 0 ? static_cast<std::size_t>(threads) : std::max(1u, std::thread::hardware_concurrency());
  n_threads = std::min(n_threads, std::max<std::size_t>(1, texts.size() / 8));
  if (n_threads <= 1) {
    for (std::size_t i = 0; i < texts.size(); ++i) out[i] = encode(texts[i]);
  } else {
    std::atomic<std::size_t> next{0};
    std::vector<std::exception_ptr> errors(n_threads);
    constexpr std::size_t kChunk = 32;
    auto work = [&](std::size_t worker) {
      try {
        for (;;) {
          const std::size_t begin = next.fetch_add(kChunk);
          if (begin >= texts.size()) break;
          const std::size_t end = std::min(texts.size(), begin + kChunk);
          for (std::size_t i = begin; i < end; ++i) out[i] = encode(texts[i]);
        }
      } catch (...) {
        errors[worker] = std::current_exception();
        next = texts.size();
      }
    };
    std::vector<std::thread> pool;
    pool.reserve(n_threads - 1);
    for (std::size_t w = 1; w < n_threads; ++w) pool.emplace_back(work, w);
    work(0);
    for (auto& t : pool) t.join();
    for (auto& err : errors)
      if (err) std::rethrow_exception(err);
  }
  std::size_t target = 0;
  if (impl_->padding == Padding::longest)
    for (const auto& e : out) target = std::max(target, e.input_ids.size());
  else if (impl_->padding == Padding::max_length)
    target = impl_->max_length;
  for (auto& e : out) pad_to(e, target, impl_->pad_id);
  return out;
}

std::size_t Tokenizer::max_length() const { return impl_->max_length; }
const std::string& Tokenizer::max_length_source() const { return impl_->max_length_source; }

int64_t Tokenizer::max_id() const {
  const auto& p = impl_->pipeline;
  int64_t m = std::max(p.model->max_id(), impl_->pad_id);
  for (const auto& t : p.added->tokens()) m = std::max(m, t.id);
  if (p.post_processor) m = std::max(m, p.post_processor->max_special_id());
  return m;
}
int64_t Tokenizer::pad_id() const { return impl_->pad_id; }

std::string Tokenizer::describe() const {
  const auto& p = impl_->pipeline;
  std::string s = p.source + ": " + p.model->name() + " model";
  s += ", normalizer " + (p.normalizer ? p.normalizer->name() : std::string("none"));
  s += ", pre-tokenizer " + (p.pre_tokenizer ? p.pre_tokenizer->name() : std::string("none"));
  s += ", post-processor " + (p.post_processor ? p.post_processor->name() : std::string("none"));
  s += ", " + std::to_string(p.added->tokens().size()) + " added tokens";
  s += ", max length " + std::to_string(impl_->max_length) + " (" + impl_->max_length_source + ")";
  s += ", pad id " + std::to_string(impl_->pad_id);
  if (impl_->prompt) s += ", prompt '" + impl_->prompt->name + "' prepended";
  if (impl_->strip_input) s += impl_->lower_input ? ", input stripped and lower-cased" : ", input stripped";
  return s;
}

}  // namespace docquant
