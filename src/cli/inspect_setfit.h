#pragma once
// `docquant inspect` on a SetFit folder: what docquant reads from it around the ONNX body.
#include <filesystem>
#include <ostream>

namespace docquant::cli {

// Prints pooling, normalisation, head type and rule, classes and their names' source,
// embedding width and max_seq_length. Throws InputError (as SetFitFolder::load does) when the
// folder cannot be read.
void print_setfit_summary(const std::filesystem::path& folder, std::ostream& out);

}  // namespace docquant::cli
