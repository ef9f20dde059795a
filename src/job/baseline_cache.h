#pragma once
// The fp32 baseline's predictions, kept between quantize runs (issue 19): users rerun
// quantize on the same model, SetFit folder and CSV with other flags, and the fp32
// evaluation is the same every time. The key is a sha256 over everything the predictions
// depend on -- the serialized fp32 graph as evaluated (after graph optimisation), every
// SetFit file, the CSV and its columns, the batching, the threads, docquant's and ONNX
// Runtime's versions -- so a hit is the evaluation a new run would make. A cache never
// fails a job: a missing, unreadable or malformed entry is a miss, a failed store is ignored.
#include <filesystem>
#include <optional>
#include <string>

#include "predictor.h"

namespace docquant::job {

// $DOCQUANT_CACHE/baselines, else ~/.cache/docquant/baselines; empty when neither is known.
std::filesystem::path default_baseline_cache();

struct BaselineEntry {
  runtime::Predictions predictions;
  double accuracy = 0;
};

// `key_material` names the inputs (any text; its sha256 is the file name).
std::optional<BaselineEntry> load_baseline(const std::filesystem::path& folder, const std::string& key_material,
                                           std::size_t rows, std::size_t classes);
void store_baseline(const std::filesystem::path& folder, const std::string& key_material, const BaselineEntry& entry);

}  // namespace docquant::job
