#include "tokenizer_json.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "docquant/error.h"
#include "models.h"
#include "normalizers.h"
#include "post_processors.h"
#include "pre_tokenizers.h"

#include "file_util.h"
#include "json_file.h"

namespace docquant::tokenizer {
namespace {

using nlohmann::json;

// Where we are in the file, for messages: "tokenizer.json: normalizer.normalizers[1]".
struct At {
  std::string file;
  std::string field;
  At operator/(const std::string& key) const { return {file, field.empty() ? key : field + "." + key}; }
  At operator[](std::size_t i) const { return {file, field + "[" + std::to_string(i) + "]"}; }
  std::string str() const { return file + ": " + field; }
  [[noreturn]] void fail(const std::string& what) const { throw InputError(str() + ": " + what); }
};

const json& member(const json& j, const char* key, const At& at) {
  if (!j.is_object()) at.fail("expected an object");
  auto it = j.find(key);
  if (it == j.end()) (at / key).fail("missing");
  return *it;
}
bool has(const json& j, const char* key) { return j.is_object() && j.contains(key) && !j.at(key).is_null(); }

bool get_bool(const json& j, const char* key, const At& at, std::optional<bool> fallback = std::nullopt) {
  if (!has(j, key)) {
    if (fallback) return *fallback;
    (at / key).fail("missing");
  }
  const json& v = j.at(key);
  if (!v.is_boolean()) (at / key).fail("expected true or false");
  return v.get<bool>();
}
std::string get_string(const json& j, const char* key, const At& at, std::optional<std::string> fallback = std::nullopt) {
  if (!has(j, key)) {
    if (fallback) return *fallback;
    (at / key).fail("missing");
  }
  const json& v = j.at(key);
  if (!v.is_string()) (at / key).fail("expected a string");
  return v.get<std::string>();
}
int64_t get_int(const json& j, const char* key, const At& at) {
  const json& v = member(j, key, at);
  if (!v.is_number_integer()) (at / key).fail("expected an integer");
  return v.get<int64_t>();
}
std::string type_of(const json& j, const At& at) { return get_string(j, "type", at); }

SplitBehavior parse_behavior(const json& j, const At& at) {
  const std::string b = get_string(j, "behavior", at, "Isolated");
  if (b == "Removed") return SplitBehavior::removed;
  if (b == "Isolated") return SplitBehavior::isolated;
  if (b == "MergedWithPrevious") return SplitBehavior::merged_with_previous;
  if (b == "MergedWithNext") return SplitBehavior::merged_with_next;
  if (b == "Contiguous") return SplitBehavior::contiguous;
  (at / "behavior").fail("split behavior '" + b + "' is not supported");
}

Regex parse_pattern(const json& j, const At& at) {
  const json& p = member(j, "pattern", at);
  const At pat = at / "pattern";
  if (has(p, "String")) return Regex::literal(get_string(p, "String", pat), pat.str());
  if (has(p, "Regex")) return Regex(get_string(p, "Regex", pat), pat.str());
  pat.fail("expected {\"String\": ...} or {\"Regex\": ...}");
}

std::string base64_decode(const std::string& in, const At& at) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t buf = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    const int v = val(c);
    if (v < 0) at.fail("not valid base64");
    buf = (buf << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buf >> bits) & 0xFF));
    }
  }
  return out;
}

std::unique_ptr<Normalizer> parse_normalizer(const json& j, const At& at) {
  const std::string t = type_of(j, at);
  if (t == "BertNormalizer") {
    BertNormalizerConfig c;
    c.clean_text = get_bool(j, "clean_text", at, true);
    c.handle_chinese_chars = get_bool(j, "handle_chinese_chars", at, true);
    if (has(j, "strip_accents")) c.strip_accents = get_bool(j, "strip_accents", at);
    c.lowercase = get_bool(j, "lowercase", at, true);
    return make_bert_normalizer(c);
  }
  if (t == "NFC") return make_unicode_normalizer(NormalForm::nfc);
  if (t == "NFD") return make_unicode_normalizer(NormalForm::nfd);
  if (t == "NFKC") return make_unicode_normalizer(NormalForm::nfkc);
  if (t == "NFKD") return make_unicode_normalizer(NormalForm::nfkd);
  if (t == "Lowercase") return make_lowercase_normalizer();
  if (t == "StripAccents") return make_strip_accents_normalizer();
  if (t == "Strip") return make_strip_normalizer(get_bool(j, "strip_left", at, true), get_bool(j, "strip_right", at, true));
  if (t == "Replace") return make_replace_normalizer(parse_pattern(j, at), get_string(j, "content", at));
  if (t == "Prepend") return make_prepend_normalizer(get_string(j, "prepend", at));
  if (t == "Precompiled") {
    const json& cm = member(j, "precompiled_charsmap", at);
    if (cm.is_null()) return make_sequence_normalizer({});  // an empty charsmap changes nothing
    if (!cm.is_string()) (at / "precompiled_charsmap").fail("expected a base64 string");
    const At where = at / "precompiled_charsmap";
    return make_precompiled_normalizer(base64_decode(cm.get<std::string>(), where), where.str());
  }
  if (t == "Sequence") {
    const json& list = member(j, "normalizers", at);
    if (!list.is_array()) (at / "normalizers").fail("expected an array");
    std::vector<std::unique_ptr<Normalizer>> parts;
    for (std::size_t i = 0; i < list.size(); ++i) parts.push_back(parse_normalizer(list[i], (at / "normalizers")[i]));
    return make_sequence_normalizer(std::move(parts));
  }
  (at / "type").fail("normalizer type '" + t + "' is not supported");
}

std::unique_ptr<PreTokenizer> parse_pre_tokenizer(const json& j, const At& at) {
  const std::string t = type_of(j, at);
  if (t == "BertPreTokenizer") return make_bert_pre_tokenizer();
  if (t == "Whitespace") return make_whitespace_pre_tokenizer();
  if (t == "WhitespaceSplit") return make_whitespace_split_pre_tokenizer();
  if (t == "Punctuation") return make_punctuation_pre_tokenizer(parse_behavior(j, at));
  if (t == "Digits") return make_digits_pre_tokenizer(get_bool(j, "individual_digits", at, false));
  if (t == "Metaspace") {
    PrependScheme scheme = PrependScheme::always;
    if (has(j, "prepend_scheme")) {
      const std::string s = get_string(j, "prepend_scheme", at);
      if (s == "always") scheme = PrependScheme::always;
      else if (s == "first") scheme = PrependScheme::first;
      else if (s == "never") scheme = PrependScheme::never;
      else (at / "prepend_scheme").fail("prepend scheme '" + s + "' is not supported");
    } else if (has(j, "add_prefix_space")) {
      scheme = get_bool(j, "add_prefix_space", at) ? PrependScheme::always : PrependScheme::never;
    }
    std::string rep = get_string(j, "replacement", at, "\xE2\x96\x81");
    if (rep.empty() || utf8_length(static_cast<unsigned char>(rep[0])) != rep.size())
      (at / "replacement").fail("expected one character");
    return make_metaspace_pre_tokenizer(rep, scheme, get_bool(j, "split", at, true));
  }
  if (t == "ByteLevel")
    return make_byte_level_pre_tokenizer(get_bool(j, "add_prefix_space", at, true), get_bool(j, "use_regex", at, true));
  if (t == "Split") return make_split_pre_tokenizer(parse_pattern(j, at), parse_behavior(j, at), get_bool(j, "invert", at, false));
  if (t == "Sequence") {
    const json& list = member(j, "pretokenizers", at);
    if (!list.is_array()) (at / "pretokenizers").fail("expected an array");
    std::vector<std::unique_ptr<PreTokenizer>> parts;
    for (std::size_t i = 0; i < list.size(); ++i)
      parts.push_back(parse_pre_tokenizer(list[i], (at / "pretokenizers")[i]));
    return make_sequence_pre_tokenizer(std::move(parts));
  }
  (at / "type").fail("pre-tokenizer type '" + t + "' is not supported");
}

Vocab parse_vocab_map(const json& j, const At& at) {
  const json& v = member(j, "vocab", at);
  if (!v.is_object()) (at / "vocab").fail("expected an object of token -> id");
  Vocab vocab;
  vocab.reserve(v.size());
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0)
      (at / "vocab").fail("id of '" + it.key() + "' is not a non-negative integer");
    vocab[it.key()] = it.value().get<int64_t>();
  }
  return vocab;
}

std::unique_ptr<Model> parse_model(const json& j, const At& at) {
  std::string t;
  if (has(j, "type")) {
    t = type_of(j, at);
  } else if (j.is_object()) {  // old files leave the type out; HF tells them apart by their fields
    if (j.contains("merges")) t = "BPE";
    else if (j.contains("continuing_subword_prefix") && j.contains("max_input_chars_per_word")) t = "WordPiece";
    else if (j.contains("vocab") && j.at("vocab").is_array()) t = "Unigram";
    else at.fail("model has no type and is not recognisable as WordPiece, BPE or Unigram");
  } else {
    at.fail("expected an object");
  }
  if (t == "WordPiece") {
    WordPieceConfig c;
    c.vocab = parse_vocab_map(j, at);
    c.unk_token = get_string(j, "unk_token", at, "[UNK]");
    c.continuing_subword_prefix = get_string(j, "continuing_subword_prefix", at, "##");
    if (has(j, "max_input_chars_per_word")) {
      const int64_t m = get_int(j, "max_input_chars_per_word", at);
      if (m < 0) (at / "max_input_chars_per_word").fail("must not be negative");
      c.max_input_chars_per_word = static_cast<std::size_t>(m);
    }
    return make_word_piece(std::move(c), at.str());
  }
  if (t == "BPE") {
    BpeConfig c;
    c.vocab = parse_vocab_map(j, at);
    if (has(j, "dropout") && j.at("dropout").get<double>() != 0.0)
      (at / "dropout").fail("BPE dropout is random; docquant only supports dropout null or 0");
    c.unk_token = get_string(j, "unk_token", at, "");
    c.continuing_subword_prefix = get_string(j, "continuing_subword_prefix", at, "");
    c.end_of_word_suffix = get_string(j, "end_of_word_suffix", at, "");
    c.fuse_unk = get_bool(j, "fuse_unk", at, false);
    c.byte_fallback = get_bool(j, "byte_fallback", at, false);
    c.ignore_merges = get_bool(j, "ignore_merges", at, false);
    const json& merges = member(j, "merges", at);
    if (!merges.is_array()) (at / "merges").fail("expected an array");
    c.merges.reserve(merges.size());
    for (std::size_t i = 0; i < merges.size(); ++i) {
      const json& m = merges[i];
      if (m.is_string()) {
        const std::string s = m.get<std::string>();
        const auto space = s.find(' ');
        if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos)
          ((at / "merges")[i]).fail("expected two tokens separated by one space");
        c.merges.emplace_back(s.substr(0, space), s.substr(space + 1));
      } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
        c.merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
      } else {
        ((at / "merges")[i]).fail("expected \"a b\" or [\"a\", \"b\"]");
      }
    }
    return make_bpe(std::move(c), at.str());
  }
  if (t == "Unigram") {
    UnigramConfig c;
    const json& v = member(j, "vocab", at);
    if (!v.is_array()) (at / "vocab").fail("expected an array of [piece, score]");
    c.vocab.reserve(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) {
      const json& e = v[i];
      if (!e.is_array() || e.size() != 2 || !e[0].is_string() || !e[1].is_number())
        ((at / "vocab")[i]).fail("expected [piece, score]");
      c.vocab.emplace_back(e[0].get<std::string>(), e[1].get<double>());
    }
    if (has(j, "unk_id")) {
      const int64_t u = get_int(j, "unk_id", at);
      if (u < 0) (at / "unk_id").fail("must not be negative");
      c.unk_id = static_cast<std::size_t>(u);
    }
    c.byte_fallback = get_bool(j, "byte_fallback", at, false);
    return make_unigram(std::move(c), at.str());
  }
  (at / "type").fail("model type '" + t + "' is not supported");
}

int64_t token_pair_id(const json& j, const char* key, const At& at) {
  const json& v = member(j, key, at);
  if (!v.is_array() || v.size() != 2 || !v[0].is_string() || !v[1].is_number_integer())
    (at / key).fail("expected [token, id]");
  return v[1].get<int64_t>();
}

std::unique_ptr<PostProcessor> parse_post_processor(const json& j, const At& at) {
  const std::string t = type_of(j, at);
  if (t == "BertProcessing" || t == "RobertaProcessing")
    return make_cls_sep_processor(t, token_pair_id(j, "cls", at), token_pair_id(j, "sep", at));
  if (t == "ByteLevel") return make_identity_processor("ByteLevel");
  if (t == "TemplateProcessing") {
    const json& specials = member(j, "special_tokens", at);
    const json& single = member(j, "single", at);
    if (!single.is_array()) (at / "single").fail("expected an array");
    std::vector<TemplatePart> parts;
    for (std::size_t i = 0; i < single.size(); ++i) {
      const At pat = (at / "single")[i];
      const json& piece = single[i];
      TemplatePart part;
      if (has(piece, "Sequence")) {
        const json& s = piece.at("Sequence");
        if (get_string(s, "id", pat / "Sequence") != "A")
          (pat / "Sequence" / "id").fail("a single-sequence template may only use sequence A");
        part.is_sequence = true;
        part.type_id = get_int(s, "type_id", pat / "Sequence");
      } else if (has(piece, "SpecialToken")) {
        const json& s = piece.at("SpecialToken");
        const std::string name = get_string(s, "id", pat / "SpecialToken");
        part.type_id = get_int(s, "type_id", pat / "SpecialToken");
        if (!has(specials, name.c_str())) (at / "special_tokens").fail("no entry for '" + name + "'");
        const json& ids = member(specials.at(name), "ids", at / "special_tokens" / name);
        if (!ids.is_array()) (at / "special_tokens" / name / "ids").fail("expected an array");
        for (const auto& id : ids) {
          if (!id.is_number_integer()) (at / "special_tokens" / name / "ids").fail("expected integers");
          part.special_ids.push_back(id.get<int64_t>());
        }
      } else {
        pat.fail("expected {\"Sequence\": ...} or {\"SpecialToken\": ...}");
      }
      parts.push_back(std::move(part));
    }
    return make_template_processor(std::move(parts));
  }
  if (t == "Sequence") {
    const json& list = member(j, "processors", at);
    if (!list.is_array()) (at / "processors").fail("expected an array");
    std::vector<std::unique_ptr<PostProcessor>> parts;
    for (std::size_t i = 0; i < list.size(); ++i) parts.push_back(parse_post_processor(list[i], (at / "processors")[i]));
    return make_sequence_processor(std::move(parts));
  }
  (at / "type").fail("post-processor type '" + t + "' is not supported");
}

// Ids as HF AddedVocabulary::add_tokens assigns them: the model's id when the
// content is in its vocabulary, else the next id after the vocabulary.
std::vector<AddedToken> parse_added_tokens(const json& root, const Model& model, const At& at) {
  std::vector<AddedToken> out;
  if (!has(root, "added_tokens")) return out;
  const json& list = root.at("added_tokens");
  if (!list.is_array()) (at / "added_tokens").fail("expected an array");
  int64_t next_id = static_cast<int64_t>(model.vocab_size());
  for (std::size_t i = 0; i < list.size(); ++i) {
    const At a = (at / "added_tokens")[i];
    const json& t = list[i];
    AddedToken tok;
    // Every field is required, as tokenizers' AddedToken deserializer requires them.
    get_int(t, "id", a);
    tok.content = get_string(t, "content", a);
    tok.single_word = get_bool(t, "single_word", a);
    tok.lstrip = get_bool(t, "lstrip", a);
    tok.rstrip = get_bool(t, "rstrip", a);
    tok.special = get_bool(t, "special", a);
    tok.normalized = get_bool(t, "normalized", a);
    if (tok.content.empty()) continue;
    const AddedToken* earlier = nullptr;
    for (const auto& e : out)
      if (e.content == tok.content) earlier = &e;
    if (earlier) {
      tok.id = earlier->id;
    } else if (const int64_t* id = model.token_to_id(tok.content)) {
      tok.id = *id;
    } else {
      tok.id = next_id++;
    }
    out.push_back(std::move(tok));
  }
  return out;
}


}  // namespace

Pipeline load_tokenizer_json(const std::filesystem::path& path) {
  const json root = read_json_file(path);
  const At at{path.string(), ""};
  if (!root.is_object()) throw InputError(path.string() + ": expected a JSON object at the top level");
  Pipeline p;
  p.source = path.filename().string();
  if (!has(root, "model")) (at / "model").fail("missing");
  p.model = parse_model(root.at("model"), at / "model");
  if (has(root, "normalizer")) p.normalizer = parse_normalizer(root.at("normalizer"), at / "normalizer");
  if (has(root, "pre_tokenizer")) p.pre_tokenizer = parse_pre_tokenizer(root.at("pre_tokenizer"), at / "pre_tokenizer");
  if (has(root, "post_processor"))
    p.post_processor = parse_post_processor(root.at("post_processor"), at / "post_processor");
  p.added = std::make_unique<AddedVocabulary>(parse_added_tokens(root, *p.model, at), p.normalizer.get());
  if (has(root, "padding") && has(root.at("padding"), "pad_id"))
    p.pad_id = get_int(root.at("padding"), "pad_id", at / "padding");
  return p;
}

Pipeline load_bert_vocab(const std::filesystem::path& vocab_txt, const std::filesystem::path& tokenizer_config) {
  json config = json::object();
  if (input_path_type(tokenizer_config) != std::filesystem::file_type::not_found) {
    config = read_json_file(tokenizer_config);
  }
  const At at{tokenizer_config.string(), ""};
  if (!config.is_object()) throw InputError(tokenizer_config.string() + ": expected a JSON object");
  const std::string cls = get_string(config, "tokenizer_class", at, "BertTokenizer");
  if (cls != "BertTokenizer" && cls != "BertTokenizerFast")
    (at / "tokenizer_class").fail("'" + cls + "' without tokenizer.json is not supported (only BertTokenizer with vocab.txt)");

  std::istringstream in(read_regular_file(vocab_txt, kMaxConfigBytes, "a vocabulary"));
  WordPieceConfig wp;
  std::string line;
  int64_t id = 0;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    // transformers strips only the line end of each line: other whitespace belongs to the token.
    wp.vocab[line] = id++;  // a repeated line keeps its last index, as transformers load_vocab does
  }
  wp.unk_token = get_string(config, "unk_token", at, "[UNK]");
  const std::string cls_token = get_string(config, "cls_token", at, "[CLS]");
  const std::string sep_token = get_string(config, "sep_token", at, "[SEP]");
  const std::string pad_token = get_string(config, "pad_token", at, "[PAD]");
  auto id_of = [&](const std::string& t, const char* field) {
    auto it = wp.vocab.find(t);
    if (it == wp.vocab.end()) (at / field).fail("'" + t + "' is not in " + vocab_txt.filename().string());
    return it->second;
  };
  const int64_t cls_id = id_of(cls_token, "cls_token");
  const int64_t sep_id = id_of(sep_token, "sep_token");
  const int64_t pad_id = id_of(pad_token, "pad_token");

  BertNormalizerConfig nc;
  nc.lowercase = get_bool(config, "do_lower_case", at, true);
  nc.handle_chinese_chars = get_bool(config, "tokenize_chinese_chars", at, true);
  if (has(config, "strip_accents")) nc.strip_accents = get_bool(config, "strip_accents", at);

  Pipeline p;
  p.source = vocab_txt.filename().string();
  p.normalizer = make_bert_normalizer(nc);
  p.pre_tokenizer = make_bert_pre_tokenizer();
  std::vector<AddedToken> specials;
  for (const auto& [t, field] : {std::pair{wp.unk_token, "unk_token"}, {sep_token, "sep_token"}, {pad_token, "pad_token"},
                                 {cls_token, "cls_token"}, {get_string(config, "mask_token", at, "[MASK]"), "mask_token"}}) {
    auto it = wp.vocab.find(t);
    if (it == wp.vocab.end()) continue;
    AddedToken a;
    a.id = it->second;
    a.content = t;
    a.special = true;
    a.normalized = false;
    specials.push_back(a);
  }
  p.model = make_word_piece(std::move(wp), vocab_txt.string());
  p.post_processor = make_cls_sep_processor("BertProcessing", cls_id, sep_id);
  p.added = std::make_unique<AddedVocabulary>(std::move(specials), p.normalizer.get());
  p.pad_id = pad_id;
  return p;
}

}  // namespace docquant::tokenizer
