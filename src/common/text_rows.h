#pragma once
// Texts, with their labels when the file has them, for quantize's calibration: a CSV with a
// text and a label column, a CSV whose only column is the text column, or a .txt file of one
// text per line (TextLineReader; blank lines skipped: an empty text says nothing about a
// model). Rows without labels make an unlabelled run (fp32's answers become the labels).
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace docquant {

struct TextRows {
  std::string source;               // the file as errors name it
  std::vector<std::string> texts;
  std::vector<std::string> labels;  // one per text, or empty: the rows are unlabelled
  std::vector<std::size_t> lines;   // the line each row starts on (its 1-based index in memory)
  bool labelled() const { return !labels.empty(); }
};

// True for a file read as one text per line: its extension is .txt (any case).
bool is_text_lines_file(const std::filesystem::path& path);

// Reads `path`. An empty `label_column` ignores any labels. Throws InputError: a missing
// text column; a missing label column when the CSV has other columns than the text (a
// misspelt name must not silently make the run unlabelled); an empty label, naming the
// first such line, unless `label_sets` (a multi-label head's labels, where an empty cell is
// the empty set); no rows; and the CSV reader's and TextLineReader's errors.
TextRows read_text_rows(const std::filesystem::path& path, const std::string& text_column,
                        const std::string& label_column, bool label_sets = false);

// Unlabelled texts held in memory; errors name them as `source`, text N.
TextRows text_rows_from_memory(std::vector<std::string> texts, std::string source);

}  // namespace docquant
