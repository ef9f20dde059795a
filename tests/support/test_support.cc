#include "test_support.h"

#include <onnxruntime_cxx_api.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include "formulas.h"
#include "onnx_io.h"

namespace docquant::testing {

// The emulation below is written in src/quant's own formulas (formulas.h, int8_kernel.h).
using namespace docquant::quant;

namespace {
Ort::Env& ort_env() {
  // As src/runtime/ort_session.cc: without it ONNX Runtime's telemetry SDK leaves
  // $TMPDIR/.ses and a mat-debug log per test process.
  static const int disabled = ::setenv("ORT_DISABLE_TELEMETRY", "1", /*overwrite=*/0);
  (void)disabled;
  static Ort::Env env(ORT_LOGGING_LEVEL_ERROR, "docquant-quant-tests");
  return env;
}
}  // namespace

// Wraps each feed's buffer as an Ort::Value (no copy) and collects the input names.
static void make_inputs(const std::map<std::string, Feed>& feeds, const Ort::MemoryInfo& mem, std::vector<std::string>& names,
                 std::vector<Ort::Value>& values) {
  for (const auto& [name, feed] : feeds) {
    names.push_back(name);
    auto& f = const_cast<Feed&>(feed);  // Ort::Value wraps the buffer without copying; Run only reads it
    if (!f.ints.empty()) {
      values.push_back(Ort::Value::CreateTensor<std::int64_t>(mem, f.ints.data(), f.ints.size(), f.shape.data(),
                                                              f.shape.size()));
    } else {
      values.push_back(Ort::Value::CreateTensor<float>(mem, f.floats.data(), f.floats.size(), f.shape.data(),
                                                       f.shape.size()));
    }
  }
}

std::vector<float> run_model(const onnx::ModelProto& model, const std::map<std::string, Feed>& feeds,
                             RunOptions options) {
  return run_model_many(model, {feeds}, options).at(0);
}

std::vector<std::vector<float>> run_model_many(const onnx::ModelProto& model,
                                               const std::vector<std::map<std::string, Feed>>& runs,
                                               RunOptions options) {
  const std::string bytes = model::serialize_model(model);
  Ort::SessionOptions so;
  so.SetIntraOpNumThreads(1);
  so.SetInterOpNumThreads(1);
  so.SetGraphOptimizationLevel(options.optimize ? GraphOptimizationLevel::ORT_ENABLE_ALL
                                                : GraphOptimizationLevel::ORT_DISABLE_ALL);
  Ort::Session session(ort_env(), bytes.data(), bytes.size(), so);
  Ort::MemoryInfo mem = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
  Ort::AllocatorWithDefaultOptions alloc;
  const auto out_name = session.GetOutputNameAllocated(0, alloc);
  const char* out_names[] = {out_name.get()};

  std::vector<std::vector<float>> results;
  for (const auto& feeds : runs) {
    std::vector<std::string> names;
    std::vector<Ort::Value> values;
    make_inputs(feeds, mem, names, values);
    std::vector<const char*> in_names;
    for (const auto& n : names) in_names.push_back(n.c_str());
    auto outputs =
        session.Run(Ort::RunOptions{nullptr}, in_names.data(), values.data(), values.size(), out_names, 1);
    const auto info = outputs[0].GetTensorTypeAndShapeInfo();
    const float* data = outputs[0].GetTensorData<float>();
    results.emplace_back(data, data + info.GetElementCount());
  }
  return results;
}

std::map<std::string, std::vector<float>> run_model_tensors(const onnx::ModelProto& model,
                                                            const std::map<std::string, Feed>& feeds,
                                                            const std::vector<std::string>& names) {
  onnx::ModelProto m = model;
  for (const auto& name : names) {
    bool present = false;
    for (const auto& o : m.graph().output()) present = present || o.name() == name;
    if (present) continue;
    auto* v = m.mutable_graph()->add_output();
    v->set_name(name);
    v->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);  // intermediate tensors are float here
  }
  const std::string bytes = model::serialize_model(m);
  Ort::SessionOptions so;
  so.SetIntraOpNumThreads(1);
  so.SetGraphOptimizationLevel(GraphOptimizationLevel::ORT_DISABLE_ALL);  // keep every tensor
  Ort::Session session(ort_env(), bytes.data(), bytes.size(), so);
  Ort::MemoryInfo mem = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
  std::vector<std::string> in_names_s;
  std::vector<Ort::Value> values;
  make_inputs(feeds, mem, in_names_s, values);
  std::vector<const char*> in_names;
  for (const auto& n : in_names_s) in_names.push_back(n.c_str());
  std::vector<const char*> out_names;
  for (const auto& n : names) out_names.push_back(n.c_str());
  auto outputs = session.Run(Ort::RunOptions{nullptr}, in_names.data(), values.data(), values.size(),
                             out_names.data(), out_names.size());
  std::map<std::string, std::vector<float>> result;
  for (std::size_t i = 0; i < names.size(); ++i) {
    const auto info = outputs[i].GetTensorTypeAndShapeInfo();
    if (info.GetElementType() == ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE) {  // e.g. a scikit-learn head's probabilities
      const double* data = outputs[i].GetTensorData<double>();
      result[names[i]] = std::vector<float>(data, data + info.GetElementCount());
    } else {
      const float* data = outputs[i].GetTensorData<float>();
      result[names[i]] = std::vector<float>(data, data + info.GetElementCount());
    }
  }
  return result;
}

onnx::ModelProto ort_optimized(const onnx::ModelProto& model) {
  const std::string bytes = model::serialize_model(model);
  const std::string file = (std::filesystem::temp_directory_path() /
                            ("docquant-ort-optimized-" + std::to_string(::getpid()) + ".onnx"))
                               .string();
  {
    Ort::SessionOptions so;
    so.SetIntraOpNumThreads(1);
    so.SetGraphOptimizationLevel(GraphOptimizationLevel::ORT_ENABLE_EXTENDED);
    so.SetOptimizedModelFilePath(file.c_str());
    Ort::Session session(ort_env(), bytes.data(), bytes.size(), so);
  }
  // Parsed directly: libonnx 1.12's checker (run by model::load_model for IR <= 8)
  // rejects ORT's fused ai.onnx LayerNormalization at opset < 17.
  std::ifstream in(file, std::ios::binary);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  onnx::ModelProto out;
  if (!out.ParseFromString(buffer.str())) throw std::runtime_error("cannot parse " + file);
  std::filesystem::remove(file);
  return out;
}

std::map<std::string, int> count_ops(const onnx::ModelProto& model) {
  std::map<std::string, int> counts;
  for (const auto& n : model.graph().node()) counts[n.op_type()]++;
  return counts;
}

std::vector<float> uniform(std::size_t n, float lo, float hi, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::vector<float> v(n);
  // Not std::uniform_real_distribution: its output differs across standard libraries.
  for (auto& x : v) x = lo + (hi - lo) * static_cast<float>(gen() >> 8) / static_cast<float>(1u << 24);
  return v;
}

float max_abs(const std::vector<float>& v) {
  float m = 0.0f;
  for (float x : v) m = std::max(m, std::fabs(x));
  return m;
}

Int8Path emulated_int8_path() {
  const char* forced = std::getenv("DOCQUANT_EMULATE_INT8_PATH");
  if (forced == nullptr || *forced == '\0') return host_int8_path();
  const auto path = parse_int8_path(forced);
  if (!path) throw std::runtime_error(std::string("DOCQUANT_EMULATE_INT8_PATH: unknown int8 path '") + forced + "'");
  return *path;
}

namespace {

// The integer GEMM both activation recipes end in: raw uint8 rows `qx` [rows, k], each with
// its scale and zero point, times the int8 weight, accumulated as `path`'s kernel does;
// the zero point is taken out after the sum (MLAS: minus zero_point × the weight's column
// sums), then the product is scaled back and the bias added.
EmulatedMatMul integer_gemm(const std::vector<std::uint8_t>& qx, const std::vector<float>& row_scale,
                            const std::vector<int>& row_zero_point, std::int64_t rows, std::int64_t k,
                            const std::vector<float>& w, std::int64_t n, const std::vector<float>& bias,
                            bool per_channel, bool reduce_range, Int8Path path) {
  const QuantizedWeight qw =
      quantize_weight(w, k, n, per_channel ? std::optional<int>(1) : std::nullopt, reduce_range);
  std::vector<std::int64_t> column_sums(static_cast<std::size_t>(n), 0);
  for (std::int64_t t = 0; t < k; ++t) {
    for (std::int64_t j = 0; j < n; ++j) column_sums[static_cast<std::size_t>(j)] += qw.values[static_cast<std::size_t>(t * n + j)];
  }
  EmulatedMatMul out;
  out.x_scale = *std::max_element(row_scale.begin(), row_scale.end());
  out.max_w_scale = *std::max_element(qw.scales.begin(), qw.scales.end());
  out.y.assign(static_cast<std::size_t>(rows * n), 0.0f);
  out.saturated.assign(static_cast<std::size_t>(rows * n), 0);
  for (std::int64_t r = 0; r < rows; ++r) {
    const std::span<const std::uint8_t> a(qx.data() + r * k, static_cast<std::size_t>(k));
    const auto ri = static_cast<std::size_t>(r);
    for (std::int64_t j = 0; j < n; ++j) {
      const auto o = static_cast<std::size_t>(r * n + j);
      const std::int64_t acc = dot_u8s8(a, qw.values.data() + j, static_cast<std::size_t>(n), path, &out.saturated[o]) -
                               static_cast<std::int64_t>(row_zero_point[ri]) * column_sums[static_cast<std::size_t>(j)];
      if (out.saturated[o] > 0) ++out.saturated_outputs;
      const float multiplier = row_scale[ri] * qw.scales[per_channel ? static_cast<std::size_t>(j) : 0];
      float y = static_cast<float>(acc) * multiplier;
      if (!bias.empty()) y += bias[static_cast<std::size_t>(j)];
      out.y[o] = y;
    }
  }
  return out;
}

}  // namespace

EmulatedMatMul emulate_integer_matmul(const std::vector<float>& x, std::int64_t rows, std::int64_t k,
                                      const std::vector<float>& w, std::int64_t n, const std::vector<float>& bias,
                                      bool per_channel, bool reduce_range, Int8Path path) {
  float lo = 0.0f;
  float hi = 0.0f;
  for (float v : x) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  const QuantParams xp = dynamic_uint8_params(lo, hi);  // one scale for the whole tensor
  std::vector<std::uint8_t> qx(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) qx[i] = static_cast<std::uint8_t>(quantize_value(x[i], xp, kUint8));
  return integer_gemm(qx, std::vector<float>(static_cast<std::size_t>(rows), xp.scale),
                      std::vector<int>(static_cast<std::size_t>(rows), xp.zero_point), rows, k, w, n, bias, per_channel,
                      reduce_range, path);
}

EmulatedMatMul emulate_per_token_matmul(const std::vector<float>& x, std::int64_t rows, std::int64_t k,
                                        const std::vector<float>& w, std::int64_t n, const std::vector<float>& bias,
                                        bool per_channel, bool reduce_range, Int8Path path) {
  std::vector<std::uint8_t> qx(x.size());
  std::vector<float> scales(static_cast<std::size_t>(rows));
  for (std::int64_t r = 0; r < rows; ++r) {
    float absmax = 0.0f;
    for (std::int64_t t = 0; t < k; ++t) absmax = std::max(absmax, std::fabs(x[static_cast<std::size_t>(r * k + t)]));
    const TokenScale s = per_token_scale(absmax);
    scales[static_cast<std::size_t>(r)] = s.scale;
    for (std::int64_t t = 0; t < k; ++t) {
      const auto i = static_cast<std::size_t>(r * k + t);
      qx[i] = static_cast<std::uint8_t>(quantize_per_token(x[i], s));
    }
  }
  return integer_gemm(qx, scales, std::vector<int>(static_cast<std::size_t>(rows), kTokenZeroPoint), rows, k, w, n,
                      bias, per_channel, reduce_range, path);
}

EmulatedMatMul emulate_static_matmul(const std::vector<float>& x, std::int64_t rows, std::int64_t k,
                                     const std::vector<float>& w, std::int64_t n, const std::vector<float>& bias,
                                     bool per_channel, bool reduce_range, float range_min, float range_max,
                                     Int8Path path) {
  const QuantParams xp = static_uint8_params(range_min, range_max);
  std::vector<std::uint8_t> qx(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) qx[i] = static_cast<std::uint8_t>(quantize_value(x[i], xp, kUint8));
  return integer_gemm(qx, std::vector<float>(static_cast<std::size_t>(rows), xp.scale),
                      std::vector<int>(static_cast<std::size_t>(rows), xp.zero_point), rows, k, w, n, bias, per_channel,
                      reduce_range, path);
}

std::vector<float> reference_matmul(const std::vector<float>& x, std::int64_t rows, std::int64_t k,
                                    const std::vector<float>& w, std::int64_t n, const std::vector<float>& bias) {
  std::vector<float> y(static_cast<std::size_t>(rows * n), 0.0f);
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t j = 0; j < n; ++j) {
      double acc = bias.empty() ? 0.0 : bias[static_cast<std::size_t>(j)];
      for (std::int64_t t = 0; t < k; ++t) {
        acc += static_cast<double>(x[static_cast<std::size_t>(r * k + t)]) * w[static_cast<std::size_t>(t * n + j)];
      }
      y[static_cast<std::size_t>(r * n + j)] = static_cast<float>(acc);
    }
  }
  return y;
}

double relative_rms_error(const std::vector<float>& a, const std::vector<float>& b) {
  double num = 0.0;
  double den = 0.0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
    num += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
    den += static_cast<double>(b[i]) * b[i];
  }
  return den == 0.0 ? std::sqrt(num) : std::sqrt(num / den);
}

}  // namespace docquant::testing
