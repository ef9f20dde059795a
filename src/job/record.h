#pragma once
// quantization.json, the record of a quantize job (docs/output-folder.md).
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "batching.h"
#include "docquant/quantize.h"

namespace docquant::job {

// The files the job read, as the record names them (sha256 in hex).
struct RecordedInputs {
  std::filesystem::path onnx_model;
  std::string onnx_model_sha256;
  std::vector<std::pair<std::string, std::string>> setfit_files_sha256;  // path relative to the SetFit folder
  std::string calibration_sha256;  // empty without calibration data
};

// sha256 of the calibration data: the file's bytes, or the texts in memory (each one's
// length, then its bytes); empty without calibration data.
std::string calibration_sha256(const QuantizeOptions& o);

// Hashes the ONNX model, the SetFit files that travel with it (relative to
// o.setfit_folder) and the calibration CSV.
RecordedInputs hash_inputs(const QuantizeOptions& o, const std::filesystem::path& onnx_model,
                           const std::vector<std::filesystem::path>& setfit_files);

// Writes `file` (quantization.json) from the options, the inputs and the finished report
// (its timings included); `peak_rss_after_phase` is the peak resident memory when each phase
// first ended. Throws OutputError when the file cannot be written.
void write_record(const std::filesystem::path& file, const QuantizeOptions& o, const RecordedInputs& inputs,
                  const runtime::BatchPolicy& policy, const QuantizeReport& report,
                  const std::vector<std::pair<std::string, std::int64_t>>& peak_rss_after_phase);

}  // namespace docquant::job
