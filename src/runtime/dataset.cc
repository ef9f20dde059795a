#include "dataset.h"

#include "csv.h"

namespace docquant::runtime {

LabelledDataset load_labelled_dataset(const std::filesystem::path& csv, const std::string& text_column,
                                      const std::string& label_column, const setfit::SetFitFolder& folder,
                                      const Tokenizer& tokenizer, const BatchPolicy& policy, int threads) {
  LabelledDataset set;
  const auto rows = read_labelled_csv(csv, text_column, label_column);
  std::vector<std::string> texts;
  texts.reserve(rows.size());
  for (const auto& row : rows) {
    texts.push_back(row.text);
    set.labels.push_back(folder.label_index(row.label, row.line));
  }
  set.encodings = tokenizer.encode_batch(texts, threads);
  set.batches = make_batches(set.encodings, policy, tokenizer.pad_id());
  return set;
}

}  // namespace docquant::runtime
