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
#include <vector>

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

// The local sensitivity probe's scores, one per node, kept the same way in the same folder:
// a rerun whose first trial fails again (--activations per_tensor on MPNet) ranks the nodes
// as before without building and running the probe graph (~6 s there). The key material
// must name everything the scores depend on: the baseline's inputs plus the probe's sample,
// nodes and quantization settings. A miss, a malformed entry or a count that is not `nodes`
// gives nullopt; a failed store is ignored.
std::optional<std::vector<double>> load_probe_scores(const std::filesystem::path& folder,
                                                     const std::string& key_material, std::size_t nodes);
void store_probe_scores(const std::filesystem::path& folder, const std::string& key_material,
                        const std::vector<double>& scores);

}  // namespace docquant::job
