#include "baseline_cache.h"

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "file_util.h"
#include "staged_file.h"

namespace docquant::job {

namespace fs = std::filesystem;

fs::path default_baseline_cache() {
  if (const char* c = std::getenv("DOCQUANT_CACHE"); c != nullptr && *c != '\0') return fs::path(c) / "baselines";
  if (const char* h = std::getenv("HOME"); h != nullptr && *h != '\0') {
    return fs::path(h) / ".cache" / "docquant" / "baselines";
  }
  return {};
}

namespace {
fs::path entry_path(const fs::path& folder, const std::string& key_material) {
  return folder / (sha256_bytes(key_material) + ".json");
}

// The entry stored under `key_material`, when there is one and it names that key material
// (not a sha256 collision, nor a file copied in). Throws on a malformed file.
std::optional<nlohmann::json> read_entry(const fs::path& folder, const std::string& key_material) {
  if (folder.empty()) return std::nullopt;
  std::ifstream in(entry_path(folder, key_material), std::ios::binary);
  if (!in) return std::nullopt;
  nlohmann::json j = nlohmann::json::parse(in);
  if (j.at("key_material").get<std::string>() != key_material) return std::nullopt;
  return j;
}

// Stores `j` with its key material; a cache that cannot be written costs the next run the
// work it would have saved, nothing more.
void write_entry(const fs::path& folder, const std::string& key_material, nlohmann::json j) {
  if (folder.empty()) return;
  try {
    std::error_code ec;
    fs::create_directories(folder, ec);
    if (ec) return;
    j["key_material"] = key_material;
    write_staged_file(entry_path(folder, key_material), j.dump());
  } catch (const std::exception&) {
  }
}
}  // namespace

std::optional<BaselineEntry> load_baseline(const fs::path& folder, const std::string& key_material, std::size_t rows,
                                           std::size_t classes) {
  try {
    const auto j = read_entry(folder, key_material);
    if (!j) return std::nullopt;
    BaselineEntry e;
    e.accuracy = j->at("accuracy").get<double>();
    e.predictions.num_classes = j->at("num_classes").get<std::size_t>();
    e.predictions.predicted = j->at("predicted").get<std::vector<std::size_t>>();
    e.predictions.proba = j->at("proba").get<std::vector<double>>();
    e.predictions.label_set = j->at("label_set").get<std::vector<std::uint8_t>>();
    if (e.predictions.num_classes != classes || e.predictions.predicted.size() != rows ||
        (!e.predictions.proba.empty() && e.predictions.proba.size() != rows * classes) ||
        (!e.predictions.label_set.empty() && e.predictions.label_set.size() != rows * classes)) {
      return std::nullopt;
    }
    for (auto p : e.predictions.predicted) {
      if (e.predictions.label_set.empty() && p >= classes) return std::nullopt;  // label sets hold ids
    }
    return e;
  } catch (const std::exception&) {
    return std::nullopt;  // unreadable or malformed: evaluate again
  }
}

void store_baseline(const fs::path& folder, const std::string& key_material, const BaselineEntry& entry) {
  nlohmann::json j;
  j["accuracy"] = entry.accuracy;
  j["num_classes"] = entry.predictions.num_classes;
  j["predicted"] = entry.predictions.predicted;
  j["proba"] = entry.predictions.proba;
  j["label_set"] = entry.predictions.label_set;  // multi-label heads; empty otherwise
  write_entry(folder, key_material, std::move(j));
}

std::optional<std::vector<double>> load_probe_scores(const fs::path& folder, const std::string& key_material,
                                                     std::size_t nodes) {
  try {
    const auto j = read_entry(folder, key_material);
    if (!j) return std::nullopt;
    auto scores = j->at("probe_scores").get<std::vector<double>>();  // a NaN, stored as null, fails here: a miss
    if (scores.size() != nodes) return std::nullopt;
    return scores;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

void store_probe_scores(const fs::path& folder, const std::string& key_material, const std::vector<double>& scores) {
  nlohmann::json j;
  j["probe_scores"] = scores;  // shortest round-trip decimal: read back bit for bit
  write_entry(folder, key_material, std::move(j));
}

}  // namespace docquant::job
