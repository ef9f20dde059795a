// docquant classify: labels and class probabilities for texts from a model folder,
// streamed chunk by chunk so that memory stays constant on any input size.
#include <fmt/core.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>

#include "commands.h"
#include "diagnostics.h"
#include "model_options.h"
#include "csv.h"
#include "docquant/classifier.h"
#include "docquant/error.h"
#include "interrupt.h"
#include "option_limits.h"
#include "staged_file.h"
#include "text_line_reader.h"

namespace docquant::cli {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kChunkTexts = 4096;           // texts tokenized and length-sorted together
constexpr double kProgressSeconds = 2.0;

// Checked once per chunk, on both threads of the stream (src/common/interrupt.h).
void check_interrupted() {
  if (interrupt_signal() != 0) {
    throw Error(ErrorKind::interrupted, "stopped by a signal (SIGINT/SIGTERM); no output file was written");
  }
}

struct ClassifyArgs {
  std::string model_folder, onnx_model, input, output, format = "auto", text_column = "text";
  std::size_t batch_size = 32, max_length = 0;
  int threads = 0;
  bool quiet = false;
  bool optimize_graph = true;
};

// ---- input ----------------------------------------------------------------------------

// Where texts come from; `read` appends up to `max` texts, none at the end.
class TextInput {
 public:
  virtual ~TextInput() = default;
  virtual void read(std::vector<std::string>& out, std::size_t max) = 0;
};

// The text column of a CSV (other columns ignored).
class CsvInput : public TextInput {
 public:
  CsvInput(CsvReader reader, const std::string& column) : reader_(std::move(reader)), column_(reader_.column(column)) {}
  void read(std::vector<std::string>& out, std::size_t max) override {
    while (out.size() < max && reader_.next(record_)) out.push_back(std::move(record_.fields[column_]));
  }

 private:
  CsvReader reader_;
  std::size_t column_;
  CsvRecord record_;
};

// One text per line (src/common/text_line_reader.h).
class LineInput : public TextInput {
 public:
  explicit LineInput(TextLineReader reader) : reader_(std::move(reader)) {}
  void read(std::vector<std::string>& out, std::size_t max) override { reader_.read(out, max); }

 private:
  TextLineReader reader_;
};

bool is_csv(const ClassifyArgs& a) {
  if (a.format == "csv") return true;
  if (a.format == "txt") return false;
  std::string ext = fs::path(a.input).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return a.input != "-" && ext == ".csv";
}

std::unique_ptr<TextInput> open_input(const ClassifyArgs& a) {
  const bool stdin_input = a.input == "-";
  if (is_csv(a)) {
    if (stdin_input) return std::make_unique<CsvInput>(CsvReader(std::cin, "<stdin>"), a.text_column);
    return std::make_unique<CsvInput>(CsvReader::open(a.input), a.text_column);
  }
  return std::make_unique<LineInput>(stdin_input ? TextLineReader::standard_input() : TextLineReader::open(a.input));
}

// Reads a regular input file through once, throwing its first error (bad UTF-8, a
// ragged CSV row, no rows), for a stream output: rows written to a stream cannot be taken
// back, so its input is checked whole before the first byte goes out. Pipes and stdin
// cannot be read twice; for them only the first chunk is checked first.
void check_whole_input(const ClassifyArgs& a) {
  struct stat st {};
  if (a.input == "-" || ::stat(a.input.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return;
  const auto input = open_input(a);
  std::vector<std::string> texts;
  std::size_t rows = 0;
  do {
    check_interrupted();
    texts.clear();
    input->read(texts, kChunkTexts);
    rows += texts.size();
  } while (!texts.empty());
  if (rows == 0) throw InputError(fmt::format("{}: no texts to classify (the input has no rows)", a.input));
}

// ---- output ---------------------------------------------------------------------------

// The predictions file appears whole or not at all (src/common/staged_file.h): rows go to a
// temporary file beside it, renamed over it by commit(). "-", a FIFO or a device is
// written as a stream.
std::unique_ptr<StagedFile> open_output(const std::string& output, const std::string& input) {
  if (output == "-") {
    if (standard_output_was_closed()) throw OutputError("--output -: standard output is closed; name a file instead");
    return std::make_unique<StagedFile>();
  }
  StagedFile::check_target(output, "--output", {input == "-" ? fs::path() : fs::path(input)});
  return std::make_unique<StagedFile>(output);
}

// The same regular file on both sides through stdin or stdout, which check_target cannot
// see by name: `--input - --output in.txt < in.txt` replaced the texts with the predictions
// (issue 29), and `--input in.txt --output - >> in.txt` would read its own output.
void check_stdio_is_not_the_input(const ClassifyArgs& a) {
  // Two names are open_output's to compare (check_target); two streams cannot be one file.
  if ((a.input == "-") == (a.output == "-")) return;
  struct stat in {}, out {};
  const bool in_ok = a.input == "-" ? ::fstat(STDIN_FILENO, &in) == 0 : ::stat(a.input.c_str(), &in) == 0;
  const bool out_ok = a.output == "-" ? ::fstat(STDOUT_FILENO, &out) == 0 : ::stat(a.output.c_str(), &out) == 0;
  if (!in_ok || !out_ok || !S_ISREG(in.st_mode) || in.st_dev != out.st_dev || in.st_ino != out.st_ino) return;
  if (a.input == "-") {
    throw OutputError(fmt::format("{}: --output is the file standard input reads (--input -); the predictions would "
                                  "replace the texts. Write them to another file",
                                  a.output));
  }
  throw OutputError(fmt::format("<stdout>: standard output is the file --input reads ({}); the predictions would be "
                                "written into the texts. Redirect stdout to another file",
                                a.input));
}

// A CSV field, quoted when it holds a comma, quote or line break (RFC 4180).
void append_field(fmt::memory_buffer& b, std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) {
    b.append(s);
    return;
  }
  b.push_back('"');
  for (char c : s) {
    if (c == '"') b.push_back('"');
    b.push_back(c);
  }
  b.push_back('"');
}

// Single-label heads: label,proba_<class>,… . Multi-label heads: one 0/1 column per label,
// label_<name>,…, then proba_<name>,… (each label's own probability).
fmt::memory_buffer header(const Classifier& c) {
  fmt::memory_buffer b;
  if (c.multi_label()) {
    for (std::size_t k = 0; k < c.classes().size(); ++k) {
      if (k > 0) b.push_back(',');
      append_field(b, "label_" + c.classes()[k]);
    }
  } else {
    b.append(std::string_view("label"));
  }
  if (c.has_probabilities()) {
    for (const auto& name : c.classes()) {
      b.push_back(',');
      append_field(b, "proba_" + name);
    }
  }
  b.push_back('\n');
  return b;
}

// Rows in input order: the class name, then each probability in its shortest form
// that parses back to the same double.
void append_rows(fmt::memory_buffer& b, const Classifier& c, const Classification& r) {
  const bool multi_label = !r.label_set.empty();
  for (std::size_t i = 0; i < r.label.size(); ++i) {
    if (multi_label) {
      for (std::size_t k = 0; k < r.num_classes; ++k) {
        if (k > 0) b.push_back(',');
        b.push_back(r.label_set[i * r.num_classes + k] != 0 ? '1' : '0');
      }
    } else {
      append_field(b, c.classes()[r.label[i]]);
    }
    for (std::size_t k = 0; k < r.num_classes && !r.proba.empty(); ++k) {
      fmt::format_to(std::back_inserter(b), ",{}", r.proba[i * r.num_classes + k]);
    }
    b.push_back('\n');
  }
}

// ---- the command ----------------------------------------------------------------------

void run_classify(const ClassifyArgs& a, bool text_column_given) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  if (a.format != "auto" && a.format != "csv" && a.format != "txt") {
    throw UsageError(fmt::format("--format must be auto, csv or txt, not '{}'", a.format));
  }
  check_batch_size(a.batch_size, "--batch_size");
  if (text_column_given && !is_csv(a)) {
    throw UsageError("--text_column applies to CSV input only (a .csv file, or --format csv)");
  }
  std::ios::sync_with_stdio(false);  // stdin is read through std::cin's own buffer
  install_interrupt_handlers();

  check_threads(a.threads, "--threads");
  note_threads(a.threads);
  // Inputs and output are checked before the model is loaded: mistakes fail fast.
  check_stdio_is_not_the_input(a);
  auto input = open_input(a);
  const auto out = open_output(a.output, a.input);
  if (out->is_stream()) check_whole_input(a);
  ClassifierOptions options;
  if (!a.onnx_model.empty()) options.onnx_model = a.onnx_model;
  options.threads = a.threads;
  options.optimize_graph = a.optimize_graph;
  options.batch_size = a.batch_size;
  options.max_length = a.max_length;
  options.chunk_size = kChunkTexts;
  // `classify --output - | head -1`: once the reader is gone, stop within one batch as the
  // next write would (SIGPIPE; with SIGPIPE ignored, that write fails with EPIPE, exit 4)
  // instead of classifying the rest of the input first (~33 s on 8,000 texts).
  options.cancelled = [&out] {
    if (out->reader_gone()) ::raise(SIGPIPE);
    return false;
  };
  const Classifier classifier(a.model_folder, options);
  const double load_seconds = std::chrono::duration<double>(Clock::now() - start).count();

  // The header goes out with the first chunk's rows: an input error found while reading or
  // tokenizing the first chunk (or an input without rows) leaves even a stream untouched.
  fmt::memory_buffer buffer = header(classifier);
  std::size_t rows = 0;
  const auto run_start = Clock::now();
  auto last_report = run_start;
  classifier.classify_stream(
      [&](std::vector<std::string>& texts, std::size_t max) {
        check_interrupted();
        input->read(texts, max);
      },
      [&](const Classification& part) {
        check_interrupted();
        if (rows > 0) buffer.clear();
        append_rows(buffer, classifier, part);
        out->write(std::string_view(buffer.data(), buffer.size()));
        rows += part.label.size();
        const auto now = Clock::now();
        // Not after the first chunk: a short input gets only the summary.
        if (!a.quiet && rows > kChunkTexts &&
            std::chrono::duration<double>(now - last_report).count() >= kProgressSeconds) {
          last_report = now;
          const double s = std::chrono::duration<double>(now - run_start).count();
          say(fmt::format("classify: {} rows, {:.0f} rows/s", rows, static_cast<double>(rows) / s));
        }
      });
  if (rows == 0) {
    throw InputError(fmt::format("{}: no texts to classify (the input has no rows)",
                                 a.input == "-" ? "<stdin>" : a.input));
  }
  out->commit();
  if (!a.quiet) {
    const double s = std::chrono::duration<double>(Clock::now() - run_start).count();
    say(fmt::format("classify: {} rows in {:.2f}s ({:.0f} rows/s; model loaded in {:.2f}s) -> {}", rows, s,
                    static_cast<double>(rows) / s, load_seconds, a.output == "-" ? "<stdout>" : a.output));
  }
}

}  // namespace

void add_classify_command(CLI::App& root) {
  auto* cmd = root.add_subcommand("classify", "Label texts with a model folder: a label and class probabilities per row");
  cmd->footer(fmt::format(
      "\nInput: a .csv file (its --text_column; other columns are ignored) or a text file with one text per\n"
      "line (a trailing \\r is stripped; blank lines are empty texts). '-' reads stdin as lines unless --format csv.\n"
      "Output: CSV in input order, header 'label,proba_<class>,...' (class names from the head; probabilities\n"
      "printed to round-trip exactly). A model whose graph outputs only labels gives just 'label'. A multi-label\n"
      "head (SetFit's multi_target_strategy) gives one 0/1 column per label, 'label_<name>,...,proba_<name>,...'. The file is\n"
      "written beside --output under a temporary name and renamed when complete; '-' writes stdout.\n\n"
      "Streaming: texts are read in chunks of {}; within a chunk they are sorted by token count and cut into\n"
      "batches of --batch_size padded to their longest text -- the batching of 'docquant eval' and of quantize's\n"
      "accuracy check, so up to {} texts get exactly eval's predictions. The next chunk is read and tokenized\n"
      "while the model runs on the current one; memory stays constant on any input size.\n\n"
      "Examples:\n"
      "  docquant classify --model_folder out/ --input reviews.csv --output preds.csv\n"
      "  docquant classify --model_folder fp32/setfit --onnx_model fp32/onnx/model.onnx --input texts.txt --output -\n"
      "  cut -f2 tweets.tsv | docquant classify --model_folder out/ --input - --output - --quiet | head\n\n"
      "Exit codes: 0 done, 2 usage, 3 bad input or model folder, 4 output not writable, 130/143 interrupted\n"
      "by SIGINT/SIGTERM (docs/errors.md). On any error no output file is left behind. More: docs/classify.md.",
      kChunkTexts, kChunkTexts));
  auto a = std::make_shared<ClassifyArgs>();
  cmd->add_option("--model_folder", a->model_folder, "Model folder: model.onnx + tokenizer + head (docquant quantize's output)")
      ->required();
  cmd->add_option("--onnx_model", a->onnx_model, "ONNX model to use instead of MODEL_FOLDER/model.onnx (fp32 SetFit folders)");
  cmd->add_option("--input", a->input, "Texts: a .csv, a .txt (one per line), or - for stdin")->required();
  cmd->add_option("--format", a->format, "Input format: auto (.csv is CSV, anything else lines), csv or txt")
      ->capture_default_str();
  auto* text_column = cmd->add_option("--text_column", a->text_column, "CSV column holding the text")
                          ->capture_default_str();
  cmd->add_option("--output", a->output, "Predictions CSV, or - for stdout")->required();
  cmd->add_option("--batch_size", a->batch_size, "Texts per model call")->capture_default_str();
  cmd->add_option("--threads", a->threads, "ONNX Runtime intra-op threads and tokenizer threads (0: one per core)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--max_length", a->max_length, "Tokens per text incl. special tokens (0: the folder's own)")
      ->capture_default_str();
  cmd->add_flag("!--no_optimize_graph", a->optimize_graph, kNoOptimizeGraphHelp);
  cmd->add_flag("--quiet", a->quiet, "No progress or summary on stderr");
  cmd->callback([a, text_column] { run_classify(*a, text_column->count() > 0); });
}

}  // namespace docquant::cli
