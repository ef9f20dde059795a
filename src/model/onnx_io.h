#pragma once
// Loading and saving ONNX models with libonnx's ModelProto.
#include <onnx/onnx_pb.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace docquant::model {

// `path` itself when it is a file; `path`/model.onnx when it is a folder.
// Throws InputError when neither exists.
std::filesystem::path resolve_model_file(const std::filesystem::path& path);

struct LoadResult {
  onnx::ModelProto model;
  std::filesystem::path file;
  std::vector<std::string> notes;  // things the user should know (e.g. a skipped check)
};

// Parses an ONNX model. Tensors stored as external data are read into the model
// (their files must sit beside it). libonnx 1.12's checker only knows IR <= 8;
// newer models are accepted without it and a note says so.
// Throws InputError naming the file for a missing, truncated or non-ONNX file.
// `run_checker = false` skips libonnx's checker for graphs ONNX Runtime itself wrote
// (its optimiser emits e.g. ai.onnx LayerNormalization under older opsets, which
// libonnx 1.12 rejects although ORT runs them).
LoadResult load_model(const std::filesystem::path& path, bool run_checker = true);

// load_model's work after reading the file: parses `bytes` as the content of `file`
// (named in errors; external data is looked up beside it). The fuzz target
// tests/fuzz/onnx_fuzz.cc calls it without a file on disk.
LoadResult parse_model(std::string_view bytes, const std::filesystem::path& file, bool run_checker = true);

// Serialises deterministically (same ModelProto, same bytes) to `file`.
// Throws OutputError when it cannot be written.
void save_model(const onnx::ModelProto& model, const std::filesystem::path& file);

// Deterministic serialisation to bytes (for sessions created from memory).
std::string serialize_model(const onnx::ModelProto& model);

// Empties `model` and gives its memory back (Clear() would keep the repeated fields'
// capacity, i.e. every initializer's bytes), for a proto whose weights are held elsewhere.
void free_model(onnx::ModelProto& model);

}  // namespace docquant::model
