#pragma once
// A labelled CSV made ready for a model: texts tokenized once, labels mapped to the
// head's class indices, and batches cut by the shared batching policy.
#include <filesystem>
#include <string>
#include <vector>

#include "batching.h"
#include "docquant/setfit.h"
#include "docquant/tokenizer.h"

namespace docquant::runtime {

struct LabelledDataset {
  std::vector<Encoding> encodings;  // unpadded, input order
  std::vector<std::size_t> labels;  // class index per row (SetFitFolder::class_names)
  std::vector<Batch> batches;
};

// Throws InputError for a bad CSV or a label no class of the head has (naming the line).
// `tokenizer` must not pad (make_batches pads each batch to its own longest text).
LabelledDataset load_labelled_dataset(const std::filesystem::path& csv, const std::string& text_column,
                                      const std::string& label_column, const setfit::SetFitFolder& folder,
                                      const Tokenizer& tokenizer, const BatchPolicy& policy, int threads);

}  // namespace docquant::runtime
