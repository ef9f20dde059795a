#pragma once
// A labelled CSV made ready for a model: texts tokenized once, labels mapped to the
// head's class indices, and batches cut by the shared batching policy.
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "batching.h"
#include "predictor.h"
#include "text_rows.h"
#include "docquant/setfit.h"
#include "docquant/tokenizer.h"

namespace docquant::runtime {

struct LabelledDataset {
  std::filesystem::path source;     // the CSV
  std::vector<std::size_t> lines;   // the CSV line each row starts on
  std::vector<Encoding> encodings;  // unpadded, input order
  // Class index per row (SetFitFolder::class_names), for a multi-label head the label set's id
  // (label_set_id); empty when unlabelled.
  std::vector<std::size_t> labels;
  std::vector<std::uint8_t> label_sets;  // multi-label heads: rows × classes 0/1 (SetFitFolder::label_set)
  std::vector<Batch> batches;
  std::size_t rows() const { return encodings.size(); }
  bool multi_label() const { return !label_sets.empty(); }
};

// Throws InputError for a bad CSV or a label no class of the head has (naming the line). For a
// multi-label head each label is a label set ('a;b', empty for none: SetFitFolder::label_set).
// `tokenizer` must not pad (make_batches pads each batch to its own longest text).
LabelledDataset load_labelled_dataset(const std::filesystem::path& csv, const std::string& text_column,
                                      const std::string& label_column, const setfit::SetFitFolder& folder,
                                      const Tokenizer& tokenizer, const BatchPolicy& policy, int threads);

// The same from rows already read (text_rows.h), labelled or not: their labels, if any,
// mapped to the head's classes (InputError naming the line otherwise). A multi-label head
// with more than kMaxScoredLabels labels is refused: its label sets have no id to compare.
LabelledDataset make_dataset(const TextRows& rows, const setfit::SetFitFolder& folder, const Tokenizer& tokenizer,
                             const BatchPolicy& policy, int threads);

// predictor.predict over the dataset's batches; a NaN or infinite model output is reported
// with the CSV file and line of its row (InputError).
// `batches` (default: the dataset's own) may regroup the rows; `decided` as in
// Predictor::predict stops early.
Predictions predict_dataset(const Predictor& predictor, const LabelledDataset& data,
                            const std::function<void()>& before_each_batch = {},
                            const std::vector<Batch>* batches = nullptr,
                            const std::function<bool(const Predictions&, std::size_t rows_done)>& decided = {});

}  // namespace docquant::runtime
