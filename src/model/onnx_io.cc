#include "onnx_io.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <sys/stat.h>
#include <unistd.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <onnx/checker.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <unordered_set>

#include "docquant/error.h"
#include "file_util.h"

namespace docquant::model {

namespace fs = std::filesystem;

namespace {

// The newest IR version libonnx 1.12's checker understands.
constexpr std::int64_t kCheckerMaxIrVersion = 8;

// Closes a file descriptor when it goes out of scope.
struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

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

// External data must be a file of the model's own folder once links are followed: a
// bias.bin that is a symlink to ~/.ssh/id_rsa would otherwise be read as weights and written
// verbatim into the quantized model. The folder is the model's folder as named, or the folder
// of the model file itself when model.onnx is a link (a Hugging Face cache snapshot links
// model.onnx and its data into one blobs/ folder). Returns the file to read: the resolved
// path, so that a link swapped after the check is not followed again; `data_file` itself
// when it does not resolve (missing: the caller says so).
fs::path check_inside_model_folder(const fs::path& data_file, const fs::path& base_dir, const fs::path& model_file,
                                   const std::string& tensor) {
  std::error_code ec;
  const fs::path real = fs::canonical(data_file, ec);
  if (ec) return data_file;
  const auto inside = [&](const fs::path& dir) {
    std::error_code dir_ec;
    const fs::path root = fs::canonical(dir.empty() ? fs::path(".") : dir, dir_ec);
    if (dir_ec) return false;
    const fs::path rel = real.lexically_relative(root);
    return !rel.empty() && *rel.begin() != ".." && *rel.begin() != ".";
  };
  const fs::path real_model = fs::canonical(model_file, ec);
  if (inside(base_dir) || (!ec && inside(real_model.parent_path()))) return real;
  throw InputError(fmt::format("{}: initializer '{}' stores its data in '{}', which resolves to '{}' outside the "
                               "model's folder; external data must be a file inside the model's folder",
                               model_file.string(), tensor, data_file.string(), real.string()));
}

// Bytes of external data read so far and the sizes of the files they come from: the
// total may not exceed the files' total, so overlapping regions cannot multiply memory.
struct ExternalBudget {
  std::map<fs::path, std::int64_t> file_sizes;
  std::int64_t loaded = 0;
};

void load_external_tensor(onnx::TensorProto& tensor, const fs::path& base_dir, const fs::path& model_file,
                          ExternalBudget& budget) {
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
  std::error_code ec;
  const fs::path read_from = check_inside_model_folder(data_file, base_dir, model_file, tensor.name());
  if (fs::is_directory(read_from, ec)) {
    throw InputError(fmt::format("{}: initializer '{}' stores its data in '{}', which is a folder, not a file",
                                 model_file.string(), tensor.name(), data_file.string()));
  }
  std::ifstream in(read_from, std::ios::binary);
  if (!in) {
    throw InputError(fmt::format("{}: initializer '{}' stores its data in '{}', which is missing", model_file.string(),
                                 tensor.name(), data_file.string()));
  }
  in.seekg(0, std::ios::end);
  const std::int64_t size = in.tellg();
  if (length < 0) length = offset <= size ? size - offset : 0;
  // Written so that no sum can overflow: offset and length are each below 2^63.
  if (size < 0 || offset > size || length > size - offset) {
    throw InputError(fmt::format("{}: initializer '{}' asks for {} bytes at offset {} of '{}', which has {} bytes",
                                 model_file.string(), tensor.name(), length, offset, data_file.string(), size));
  }
  budget.file_sizes[data_file.lexically_normal()] = size;
  std::int64_t all_files = 0;
  for (const auto& [file, bytes] : budget.file_sizes) all_files += bytes;
  if (length > all_files - budget.loaded) {
    throw InputError(fmt::format("{}: initializer '{}': the external data regions overlap (more bytes asked for than "
                                 "the data files hold)",
                                 model_file.string(), tensor.name()));
  }
  budget.loaded += length;
  std::string bytes(static_cast<std::size_t>(length), '\0');
  in.seekg(offset);
  in.read(bytes.data(), length);
  if (in.gcount() != length) {
    throw InputError(fmt::format("{}: initializer '{}': cannot read {} bytes of '{}'", model_file.string(),
                                 tensor.name(), length, data_file.string()));
  }
  tensor.set_raw_data(std::move(bytes));
  tensor.clear_external_data();
  tensor.set_data_location(onnx::TensorProto::DEFAULT);
}

// Bytes per element of an ONNX element type; 0 for strings, -1 for 4-bit packed
// types, -2 for a type docquant does not know.
int element_bytes(int type) {
  switch (type) {
    case 2: case 3: case 9: case 17: case 18: case 19: case 20: return 1;  // (u)int8, bool, float8
    case 4: case 5: case 10: case 16: return 2;                             // (u)int16, float16, bfloat16
    case 1: case 6: case 12: return 4;                                      // float, int32, uint32
    case 7: case 11: case 13: case 14: return 8;                            // int64, double, uint64, complex64
    case 15: return 16;                                                     // complex128
    case 8: return 0;                                                       // string
    case 21: case 22: case 23: return -1;                                   // (u)int4, float4
    default: return -2;
  }
}

// Values held in the typed fields (not raw_data), counted in elements.
std::int64_t typed_values(const onnx::TensorProto& t) {
  switch (t.data_type()) {
    case 1: return t.float_data_size();
    case 14: return t.float_data_size() / 2;
    case 7: return t.int64_data_size();
    case 8: return t.string_data_size();
    case 11: return t.double_data_size();
    case 15: return t.double_data_size() / 2;
    case 12: case 13: return t.uint64_data_size();
    default: return t.int32_data_size();
  }
}

std::string shape_text(const google::protobuf::RepeatedField<std::int64_t>& dims) {
  std::string s = "[";
  for (int i = 0; i < dims.size(); ++i) s += fmt::format("{}{}", i ? ", " : "", dims[i]);
  return s + "]";
}

// The largest element count docquant accepts for one tensor: 2^40 elements would be
// terabytes, far past any text model; counting stops there so nothing overflows.
constexpr std::int64_t kMaxElements = std::int64_t{1} << 40;

// Elements a shape declares; throws for a negative or absurd dimension.
std::int64_t element_count(const google::protobuf::RepeatedField<std::int64_t>& dims, const std::string& what) {
  std::int64_t count = 1;
  for (const auto d : dims) {
    if (d < 0) throw InputError(fmt::format("{} has a negative dimension in its shape {}", what, shape_text(dims)));
    if (d != 0 && count > kMaxElements / d) {
      throw InputError(fmt::format("{} declares the shape {}, over 2^40 elements; the model is corrupt", what,
                                   shape_text(dims)));
    }
    count *= d;
  }
  return count;
}

// A tensor's data agrees with its declared shape, so nothing later sizes a buffer from
// dims that its bytes do not back.
void check_tensor(const onnx::TensorProto& t, const std::string& what) {
  const std::int64_t count = element_count(t.dims(), what);
  const int width = element_bytes(t.data_type());
  if (width == -2) throw InputError(fmt::format("{} has the unknown element type {}", what, t.data_type()));
  if (t.has_segment() || t.data_location() == onnx::TensorProto::EXTERNAL) return;
  if (t.has_raw_data()) {
    if (width == 0) throw InputError(fmt::format("{} is a string tensor with raw_data", what));
    const std::int64_t want = width > 0 ? count * width : (count + 1) / 2;
    if (static_cast<std::int64_t>(t.raw_data().size()) != want) {
      throw InputError(fmt::format("{} declares the shape {} ({} bytes) but holds {} bytes of data", what,
                                   shape_text(t.dims()), want, t.raw_data().size()));
    }
  } else if (width != -1 && typed_values(t) != count) {
    throw InputError(fmt::format("{} declares the shape {} ({} elements) but holds {} values", what,
                                 shape_text(t.dims()), count, typed_values(t)));
  }
}

// Every tensor in a graph (initializers, Constant-like attributes, subgraphs) agrees
// with its shape, sparse tensors stay within bounds, and the graph's input and output
// dims are not negative or absurd.
void check_graph_tensors(const onnx::GraphProto& g, const fs::path& file) {
  for (const auto& t : g.initializer()) check_tensor(t, fmt::format("{}: initializer '{}'", file.string(), t.name()));
  for (const auto& s : g.sparse_initializer()) {
    const std::string what = fmt::format("{}: sparse initializer '{}'", file.string(), s.values().name());
    const std::int64_t dense = element_count(s.dims(), what);
    const int width = std::max(1, element_bytes(s.values().data_type()));
    // ONNX Runtime makes sparse initializers dense when it loads them.
    if (dense > (std::int64_t{1} << 31) / width) {
      throw InputError(fmt::format("{} is {} over 2 GiB once dense", what, shape_text(s.dims())));
    }
    check_tensor(s.values(), what + " values");
    check_tensor(s.indices(), what + " indices");
  }
  for (const auto* list : {&g.input(), &g.output()}) {
    for (const auto& v : *list) {
      if (!v.type().has_tensor_type() || !v.type().tensor_type().has_shape()) continue;
      for (const auto& d : v.type().tensor_type().shape().dim()) {
        if (d.has_dim_value() && (d.dim_value() < 0 || d.dim_value() > std::numeric_limits<std::int32_t>::max())) {
          throw InputError(fmt::format("{}: graph {} '{}' has the dimension {}, which no text model has; the model is "
                                       "corrupt",
                                       file.string(), list == &g.input() ? "input" : "output", v.name(),
                                       d.dim_value()));
        }
      }
    }
  }
  for (const auto& node : g.node()) {
    for (const auto& a : node.attribute()) {
      const std::string what = fmt::format("{}: node '{}' ({}) attribute '{}'", file.string(), node.name(),
                                           node.op_type(), a.name());
      if (a.has_t()) check_tensor(a.t(), what);
      for (const auto& t : a.tensors()) check_tensor(t, what);
      if (a.has_g()) check_graph_tensors(a.g(), file);
      for (const auto& sub : a.graphs()) check_graph_tensors(sub, file);
    }
  }
}

// Every name a top-level node reads is defined (a graph input, an initializer or an
// earlier node's output): a model cut short or with a dropped initializer is named
// here, not by ONNX Runtime later (and also for IR versions the checker skips).
void check_graph_references(const onnx::GraphProto& g, const fs::path& file) {
  std::unordered_set<std::string> defined;
  for (const auto& v : g.input()) defined.insert(v.name());
  for (const auto& t : g.initializer()) defined.insert(t.name());
  for (const auto& s : g.sparse_initializer()) defined.insert(s.values().name());
  for (const auto& node : g.node()) {
    for (const auto& o : node.output()) defined.insert(o);
  }
  for (const auto& node : g.node()) {
    for (const auto& in : node.input()) {
      if (!in.empty() && !defined.count(in)) {
        throw InputError(fmt::format("{}: node '{}' ({}) reads '{}', which no graph input, initializer or node "
                                     "defines (a missing initializer?)",
                                     file.string(), node.name(), node.op_type(), in));
      }
    }
  }
  for (const auto& out : g.output()) {
    if (!defined.count(out.name())) {
      throw InputError(fmt::format("{}: graph output '{}' is not produced by any node", file.string(), out.name()));
    }
  }
}

// IR and ai.onnx opset versions the bundled ONNX Runtime (1.29.0) loads, measured: IR 13
// ("max supported IR version: 13") and opset 26 (27 fails ValidateOpsetForDomain).
constexpr std::int64_t kMaxIrVersion = 13;
constexpr std::int64_t kMaxOnnxOpset = 26;
constexpr const char* kOrtVersion = "1.29.0";

void check_versions(const onnx::ModelProto& m, const fs::path& file) {
  if (m.ir_version() > kMaxIrVersion) {
    throw InputError(fmt::format("{}: IR version {} is newer than ONNX Runtime {} reads (<= {}); export the model "
                                 "with an older exporter or convert it with onnx.version_converter",
                                 file.string(), m.ir_version(), kOrtVersion, kMaxIrVersion));
  }
  for (const auto& o : m.opset_import()) {
    if ((o.domain().empty() || o.domain() == "ai.onnx") && o.version() > kMaxOnnxOpset) {
      throw InputError(fmt::format("{}: opset {} of domain ai.onnx is newer than ONNX Runtime {} supports (<= {}); "
                                   "export the model with an older opset (e.g. torch.onnx.export(opset_version=17))",
                                   file.string(), o.version(), kOrtVersion, kMaxOnnxOpset));
    }
  }
}

}  // namespace

fs::path resolve_model_file(const fs::path& path) {
  const fs::file_type type = input_path_type(path);
  if (type == fs::file_type::directory) {
    fs::path file = path / "model.onnx";
    if (input_path_type(file) != fs::file_type::regular) {
      throw InputError(fmt::format("{}: folder has no model.onnx; pass the .onnx file itself or a folder holding "
                                   "model.onnx",
                                   path.string()));
    }
    return file;
  }
  if (type == fs::file_type::not_found) throw InputError(fmt::format("{}: no such file or folder", path.string()));
  return path;
}

namespace {

// The checks before parsing: an empty file or one over protobuf's limit gets its own message.
void check_model_size(std::uint64_t size, const fs::path& file) {
  if (size == 0) throw InputError(fmt::format("{}: the file is empty, not an ONNX model", file.string()));
  if (size > static_cast<std::uint64_t>(std::numeric_limits<int>::max())) {
    throw InputError(fmt::format("{}: {} bytes is over protobuf's 2 GiB limit for one ONNX file; store the weights "
                                 "as external data",
                                 file.string(), size));
  }
}

// Parses the ModelProto from `stream`, then does what load_model does after reading.
LoadResult parse_stream(google::protobuf::io::ZeroCopyInputStream& stream, const fs::path& file, bool run_checker) {
  LoadResult result;
  result.file = file;
  google::protobuf::io::CodedInputStream coded(&stream);
  coded.SetTotalBytesLimit(std::numeric_limits<int>::max());
  if (!result.model.ParseFromCodedStream(&coded) || !coded.ConsumedEntireMessage()) {
    throw InputError(fmt::format("{}: not a valid ONNX model (the protobuf does not parse: truncated or another format)",
                                 result.file.string()));
  }
  if (!result.model.has_graph() || result.model.ir_version() <= 0) {
    throw InputError(fmt::format("{}: not an ONNX model (no graph or no IR version)", result.file.string()));
  }
  check_versions(result.model, result.file);
  const fs::path base_dir = result.file.parent_path();
  ExternalBudget budget;
  for (auto& init : *result.model.mutable_graph()->mutable_initializer()) {
    if (init.data_location() == onnx::TensorProto::EXTERNAL) load_external_tensor(init, base_dir, result.file, budget);
  }
  check_graph_tensors(result.model.graph(), result.file);
  check_graph_references(result.model.graph(), result.file);
  if (!run_checker) return result;
  if (result.model.ir_version() > kCheckerMaxIrVersion) {
    result.notes.push_back(fmt::format("IR version {} is newer than libonnx 1.12's checker knows (<= {}); the ONNX "
                                       "checker was skipped, ONNX Runtime validates the model when it loads it",
                                       result.model.ir_version(), kCheckerMaxIrVersion));
  } else {
    try {
      onnx::checker::check_model(result.model);
    } catch (const std::exception& e) {
      // libonnx 1.12 does not know ops ONNX Runtime emits under older opsets (its
      // optimiser's LayerNormalization at opset 11, in an --optimize_graph output): that
      // alone is left to ONNX Runtime, which checks every node when it loads the model.
      const std::string what = e.what();
      if (what.starts_with("No Op registered for")) {
        result.notes.push_back(fmt::format("libonnx 1.12's checker does not know an op of this model ({}); ONNX "
                                           "Runtime validates it when it loads the model",
                                           what.substr(0, what.find('\n'))));
        return result;
      }
      throw InputError(fmt::format("{}: the ONNX checker rejects the model: {}", result.file.string(), what));
    }
  }
  return result;
}

}  // namespace

// The file is parsed as it is read, never held whole beside the parsed model: for a 436 MB
// MPNet that halves the peak memory of loading it (issue 19).
LoadResult load_model(const fs::path& path, bool run_checker) {
  const fs::path file = resolve_model_file(path);
  std::uintmax_t size = 0;
  const FdCloser in{open_regular_file(file, std::numeric_limits<std::uintmax_t>::max(), "an ONNX model", size)};
  check_model_size(size, file);
  google::protobuf::io::FileInputStream stream(in.fd);
  LoadResult result = parse_stream(stream, file, run_checker);
  if (stream.GetErrno() != 0) {
    throw InputError(fmt::format("{}: read failed: {}", file.string(), std::strerror(stream.GetErrno())));
  }
  return result;
}

LoadResult parse_model(std::string_view bytes, const fs::path& file, bool run_checker) {
  check_model_size(bytes.size(), file);
  google::protobuf::io::ArrayInputStream raw(bytes.data(), static_cast<int>(bytes.size()));
  return parse_stream(raw, file, run_checker);
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

// Streamed to the file: the bytes are never held whole in memory (the same bytes as
// serialize_model's, deterministic serialisation does not depend on the stream).
void save_model(const onnx::ModelProto& model, const fs::path& file) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  if (!out) throw OutputError(fmt::format("{}: cannot create the file", file.string()));
  {
    google::protobuf::io::OstreamOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    if (!model.SerializeToCodedStream(&coded) || coded.HadError()) {
      throw OutputError(fmt::format("{}: write failed (disk full?)", file.string()));
    }
  }
  out.flush();
  if (!out) throw OutputError(fmt::format("{}: write failed (disk full?)", file.string()));
}

void free_model(onnx::ModelProto& model) {
  onnx::ModelProto freed;
  model.Swap(&freed);
}

}  // namespace docquant::model
