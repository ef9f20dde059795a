#include "onnx_io.h"

#include <fmt/core.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <onnx/checker.h>

#include <charconv>
#include <fstream>
#include <limits>
#include <sstream>

#include "docquant/error.h"
#include "file_util.h"

namespace docquant::model {

namespace fs = std::filesystem;

namespace {

// The newest IR version libonnx 1.12's checker understands.
constexpr std::int64_t kCheckerMaxIrVersion = 8;

std::string read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw InputError(fmt::format("{}: cannot open the file", file.string()));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return std::move(buffer).str();
}

std::int64_t parse_external_int(const std::string& text, const char* key, const onnx::TensorProto& tensor,
                                const fs::path& model_file) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0) {
    throw InputError(fmt::format("{}: initializer '{}' has external data {} '{}', not a byte count",
                                 model_file.string(), tensor.name(), key, text));
  }
  return value;
}

void load_external_tensor(onnx::TensorProto& tensor, const fs::path& base_dir, const fs::path& model_file) {
  std::string location;
  std::int64_t offset = 0;
  std::int64_t length = -1;
  for (const auto& entry : tensor.external_data()) {
    if (entry.key() == "location") location = entry.value();
    if (entry.key() == "offset") offset = parse_external_int(entry.value(), "offset", tensor, model_file);
    if (entry.key() == "length") length = parse_external_int(entry.value(), "length", tensor, model_file);
  }
  const fs::path rel(location);
  if (location.empty() || rel.is_absolute() || rel.lexically_normal().string().starts_with("..")) {
    throw InputError(fmt::format("{}: initializer '{}' has external data at '{}', which is not a file beside the model",
                                 model_file.string(), tensor.name(), location));
  }
  const fs::path data_file = base_dir / rel;
  std::ifstream in(data_file, std::ios::binary);
  if (!in) {
    throw InputError(fmt::format("{}: initializer '{}' stores its data in '{}', which is missing", model_file.string(),
                                 tensor.name(), data_file.string()));
  }
  in.seekg(0, std::ios::end);
  const std::int64_t size = in.tellg();
  if (length < 0) length = size - offset;
  if (offset < 0 || length < 0 || offset + length > size) {
    throw InputError(fmt::format("{}: initializer '{}' asks for bytes {}..{} of '{}', which has {} bytes",
                                 model_file.string(), tensor.name(), offset, offset + length, data_file.string(),
                                 size));
  }
  std::string bytes(static_cast<std::size_t>(length), '\0');
  in.seekg(offset);
  in.read(bytes.data(), length);
  tensor.set_raw_data(std::move(bytes));
  tensor.clear_external_data();
  tensor.set_data_location(onnx::TensorProto::DEFAULT);
}

}  // namespace

fs::path resolve_model_file(const fs::path& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    fs::path file = path / "model.onnx";
    if (!fs::is_regular_file(file, ec)) {
      throw InputError(fmt::format("{}: folder has no model.onnx; pass the .onnx file itself or a folder holding "
                                   "model.onnx",
                                   path.string()));
    }
    return file;
  }
  if (!fs::exists(path, ec)) throw InputError(fmt::format("{}: no such file or folder", path.string()));
  return path;
}

LoadResult load_model(const fs::path& path, bool run_checker) {
  const fs::path file = resolve_model_file(path);
  return parse_model(read_file(file), file, run_checker);
}

LoadResult parse_model(std::string_view bytes, const fs::path& file, bool run_checker) {
  LoadResult result;
  result.file = file;
  if (bytes.empty()) throw InputError(fmt::format("{}: the file is empty, not an ONNX model", result.file.string()));

  if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    throw InputError(fmt::format("{}: {} bytes is over protobuf's 2 GiB limit for one ONNX file; store the weights "
                                 "as external data",
                                 result.file.string(), bytes.size()));
  }
  google::protobuf::io::ArrayInputStream raw(bytes.data(), static_cast<int>(bytes.size()));
  google::protobuf::io::CodedInputStream coded(&raw);
  coded.SetTotalBytesLimit(std::numeric_limits<int>::max());
  if (!result.model.ParseFromCodedStream(&coded) || !coded.ConsumedEntireMessage()) {
    throw InputError(fmt::format("{}: not a valid ONNX model (the protobuf does not parse: truncated or another format)",
                                 result.file.string()));
  }
  if (!result.model.has_graph() || result.model.ir_version() <= 0) {
    throw InputError(fmt::format("{}: not an ONNX model (no graph or no IR version)", result.file.string()));
  }
  const fs::path base_dir = result.file.parent_path();
  for (auto& init : *result.model.mutable_graph()->mutable_initializer()) {
    if (init.data_location() == onnx::TensorProto::EXTERNAL) load_external_tensor(init, base_dir, result.file);
  }
  if (!run_checker) return result;
  if (result.model.ir_version() > kCheckerMaxIrVersion) {
    result.notes.push_back(fmt::format("IR version {} is newer than libonnx 1.12's checker knows (<= {}); the ONNX "
                                       "checker was skipped, ONNX Runtime validates the model when it loads it",
                                       result.model.ir_version(), kCheckerMaxIrVersion));
  } else {
    try {
      onnx::checker::check_model(result.model);
    } catch (const std::exception& e) {
      throw InputError(fmt::format("{}: the ONNX checker rejects the model: {}", result.file.string(), e.what()));
    }
  }
  return result;
}

std::string serialize_model(const onnx::ModelProto& model) {
  std::string out;
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  if (!model.SerializeToCodedStream(&coded)) throw InternalError("could not serialise the ONNX model");
  coded.Trim();
  return out;
}

void save_model(const onnx::ModelProto& model, const fs::path& file) {
  write_file_checked(file, serialize_model(model));
}

}  // namespace docquant::model
