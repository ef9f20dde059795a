#pragma once
// `docquant inspect` on a SetFit folder: what docquant reads from it around the ONNX body.
#include <filesystem>
#include <ostream>
#include <string_view>

namespace docquant::cli {

// Prints pooling, normalisation, head type and rule, classes and their names' source,
// embedding width and max_seq_length. `tokenizer_kind` is the tokenizer owner's one-line
// description ("WordPiece, lower-case …"); when empty the line only says which tokenizer file
// the folder has. Throws InputError (as SetFitFolder::load does) when the folder cannot be read.
void print_setfit_summary(const std::filesystem::path& folder, std::ostream& out,
                          std::string_view tokenizer_kind = {});

}  // namespace docquant::cli
