// docquant tokenize: one JSON line of input_ids / attention_mask / token_type_ids
// per input line, as the SetFit model's tokenizer gives them (no padding).
#include <fmt/core.h>
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "commands.h"
#include "diagnostics.h"
#include "option_limits.h"
#include "docquant/error.h"
#include "docquant/tokenizer.h"
#include "text_line_reader.h"

namespace docquant::cli {

namespace {

struct TokenizeArgs {
  std::string folder;
  std::string input = "-";
  std::size_t max_length = 0;
  int threads = 0;
};

void append_array(std::string& out, const char* name, const std::vector<int64_t>& v) {
  out += '"';
  out += name;
  out += "\":[";
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    fmt::format_to(std::back_inserter(out), "{}", v[i]);
  }
  out += ']';
}

void write_batch(const Tokenizer& tok, const std::vector<std::string>& lines, int threads) {
  const auto encodings = tok.encode_batch(lines, threads);
  std::string out;
  for (const auto& e : encodings) {
    out += '{';
    append_array(out, "input_ids", e.input_ids);
    out += ',';
    append_array(out, "attention_mask", e.attention_mask);
    out += ',';
    append_array(out, "token_type_ids", e.token_type_ids);
    out += "}\n";
  }
  if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size()) throw OutputError("cannot write to standard output");
}

void run(const TokenizeArgs& args) {
  check_threads(args.threads, "--threads");
  note_threads(args.threads);
  TokenizerOptions options;
  options.padding = Padding::none;
  if (args.max_length > 0) options.max_length = args.max_length;
  const Tokenizer tok = Tokenizer::from_folder(args.folder, options);

  TextLineReader in = args.input == "-" ? TextLineReader::standard_input() : TextLineReader::open(args.input);
  constexpr std::size_t kBatch = 4096;
  std::vector<std::string> lines;
  for (in.read(lines, kBatch); lines.size() == kBatch; in.read(lines, kBatch)) {
    write_batch(tok, lines, args.threads);
    lines.clear();
  }
  if (!lines.empty()) write_batch(tok, lines, args.threads);
  if (std::fflush(stdout) != 0) throw OutputError("cannot write to standard output");
}

}  // namespace

void add_tokenize_command(CLI::App& root) {
  auto args = std::make_shared<TokenizeArgs>();
  auto* cmd = root.add_subcommand(
      "tokenize", "Print input_ids/attention_mask/token_type_ids of each input line as JSON lines");
  cmd->description(
      "Tokenizes each line of the input with the SetFit model's tokenizer (tokenizer.json, else vocab.txt), exactly\n"
      "as Hugging Face tokenizers does, truncated to the model's max length (sentence_bert_config.json\n"
      "max_seq_length, else tokenizer_config.json model_max_length) and not padded. Each line is first stripped\n"
      "(and lower-cased when sentence_bert_config.json says do_lower_case) as sentence-transformers does.\n"
      "Lines end with LF or CRLF and must be valid UTF-8; a byte-order mark is skipped.\n\n"
      "  docquant tokenize --setfit_model_folder my-setfit-model --input texts.txt > ids.jsonl\n"
      "  echo 'a great movie' | docquant tokenize --setfit_model_folder my-setfit-model");
  cmd->add_option("--setfit_model_folder", args->folder, "SetFit model folder holding the tokenizer")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--input", args->input, "Text file, one text per line; '-' reads standard input")
      ->capture_default_str();
  cmd->add_option("--max_length", args->max_length, "Truncate to this many tokens instead of the model's max length")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--threads", args->threads, "Threads to tokenize on (0: all cores)")->capture_default_str();
  cmd->callback([args] { run(*args); });
}

}  // namespace docquant::cli
