#include "dataset.h"

#include <fmt/core.h>

#include "csv.h"
#include "docquant/error.h"

namespace docquant::runtime {

LabelledDataset load_labelled_dataset(const std::filesystem::path& csv, const std::string& text_column,
                                      const std::string& label_column, const setfit::SetFitFolder& folder,
                                      const Tokenizer& tokenizer, const BatchPolicy& policy, int threads) {
  TextRows rows;
  rows.source = csv.string();
  CsvOptions csv_options;
  csv_options.empty_labels = folder.head.multi_label();  // an empty label set
  for (auto& row : read_labelled_csv(csv, text_column, label_column, csv_options)) {
    rows.texts.push_back(std::move(row.text));
    rows.labels.push_back(std::move(row.label));
    rows.lines.push_back(row.line);
  }
  return make_dataset(rows, folder, tokenizer, policy, threads);
}

LabelledDataset make_dataset(const TextRows& rows, const setfit::SetFitFolder& folder, const Tokenizer& tokenizer,
                             const BatchPolicy& policy, int threads) {
  LabelledDataset set;
  set.source = rows.source;
  set.lines = rows.lines;
  const std::size_t C = folder.class_names.size();
  const bool sets = folder.head.multi_label() && rows.labelled();
  if (folder.head.multi_label() && C > kMaxScoredLabels) {  // labelled or not: agreement compares ids too
    throw InputError(fmt::format("{}: the head has {} labels; docquant scores label sets of at most {} labels "
                                 "(docquant classify writes any number)",
                                 (folder.path / "model_head.pkl").string(), C, kMaxScoredLabels));
  }
  if (sets) set.label_sets.assign(rows.labels.size() * C, 0);
  for (std::size_t i = 0; i < rows.labels.size(); ++i) {
    try {
      if (!sets) {
        set.labels.push_back(folder.label_index(rows.labels[i], rows.lines[i]));
        continue;
      }
      std::uint8_t* row = set.label_sets.data() + i * C;
      for (std::size_t k : folder.label_set(rows.labels[i], rows.lines[i])) row[k] = 1;
      set.labels.push_back(label_set_id(row, C));
    } catch (const InputError& e) {
      throw InputError(fmt::format("{}: {}", rows.source, e.what()));  // name the file, not only the row
    }
  }
  set.encodings = tokenizer.encode_batch(rows.texts, threads);
  set.batches = make_batches(set.encodings, policy, tokenizer.pad_id());
  return set;
}

Predictions predict_dataset(const Predictor& predictor, const LabelledDataset& data,
                            const std::function<void()>& before_each_batch, const std::vector<Batch>* batches,
                            const std::function<bool(const Predictions&, std::size_t rows_done)>& decided) {
  try {
    return predictor.predict(batches != nullptr ? *batches : data.batches, data.rows(), before_each_batch,
                             decided);
  } catch (const NonFiniteOutputError& e) {
    throw InputError(fmt::format("{}: line {}: output '{}' of {} is NaN or infinite for this row's text; the model is "
                                 "corrupt or overflows on it",
                                 data.source.string(), data.lines.at(e.row), predictor.signature().output,
                                 predictor.name()));
  }
}

}  // namespace docquant::runtime
