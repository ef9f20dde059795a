// Micro benchmarks on MiniLM-L6 shapes (hidden 384, intermediate 1536, vocab
// 30522, 128 tokens):
//   BM_QuantizeWeight  formulas.h on one weight (offline cost of the pass)
//   BM_Pass            the whole pass on a MiniLM-shaped graph of MatMul + Add + Gather
//   BM_LinearLayer     one [tokens, K] x [K, N] layer in ONNX Runtime, fp32 vs the forms
//                      the pass emits (the run-time cost the plan chooses between)
#include <benchmark/benchmark.h>
#include <onnxruntime_cxx_api.h>

#include <cstdlib>
#include <random>

#include "formulas.h"
#include "onnx_io.h"
#include "quantize_pass.h"

namespace {

using namespace docquant;

std::vector<float> random_values(std::size_t n, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist(0.0f, 0.05f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(gen);
  return v;
}

void add_initializer(onnx::GraphProto& g, const std::string& name, std::vector<std::int64_t> dims, std::uint32_t seed) {
  std::int64_t n = 1;
  for (auto d : dims) n *= d;
  const auto values = random_values(static_cast<std::size_t>(n), seed);
  auto* t = g.add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  for (auto d : dims) t->add_dims(d);
  t->set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
}

onnx::NodeProto* add_node(onnx::GraphProto& g, const std::string& op, std::vector<std::string> in,
                          std::vector<std::string> out, const std::string& name) {
  auto* n = g.add_node();
  n->set_op_type(op);
  n->set_name(name);
  for (auto& s : in) n->add_input(s);
  for (auto& s : out) n->add_output(s);
  return n;
}

void add_value(google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>* list, const std::string& name, int type,
               std::vector<std::int64_t> dims) {
  auto* v = list->Add();
  v->set_name(name);
  auto* tt = v->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(type);
  for (auto d : dims) {
    if (d < 0) {
      tt->mutable_shape()->add_dim()->set_dim_param("n");
    } else {
      tt->mutable_shape()->add_dim()->set_dim_value(d);
    }
  }
}

onnx::ModelProto empty_model() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(14);
  return m;
}

// Embeddings + 6 blocks of (Q, K, V, O, FFN in, FFN out) linear layers; no attention maths.
onnx::ModelProto minilm_shaped() {
  onnx::ModelProto m = empty_model();
  auto& g = *m.mutable_graph();
  add_value(g.mutable_input(), "input_ids", onnx::TensorProto::INT64, {1, -1});
  add_initializer(g, "word_embeddings", {30522, 384}, 1);
  add_node(g, "Gather", {"word_embeddings", "input_ids"}, {"h0"}, "embeddings/Gather");
  std::string h = "h0";
  std::uint32_t seed = 2;
  for (int l = 0; l < 6; ++l) {
    const std::string p = "layer" + std::to_string(l);
    const std::vector<std::tuple<std::string, std::int64_t, std::int64_t>> linears{
        {"q", 384, 384}, {"k", 384, 384}, {"v", 384, 384}, {"o", 384, 384}, {"ffn_in", 384, 1536}, {"ffn_out", 1536, 384}};
    std::string x = h;
    for (const auto& [name, k, n] : linears) {
      const std::string w = p + "." + name + ".weight";
      const std::string b = p + "." + name + ".bias";
      add_initializer(g, w, {k, n}, seed++);
      add_initializer(g, b, {n}, seed++);
      add_node(g, "MatMul", {x, w}, {p + name + "_mm"}, p + "/" + name + "/MatMul");
      add_node(g, "Add", {b, p + name + "_mm"}, {p + name + "_out"}, p + "/" + name + "/Add");
      if (name == "q" || name == "k" || name == "v") continue;  // side branches
      x = p + name + "_out";
    }
    h = x;
  }
  add_value(g.mutable_output(), h, onnx::TensorProto::FLOAT, {1, -1, 384});
  return m;
}

void BM_QuantizeWeight(benchmark::State& state) {
  const auto rows = state.range(0);
  const auto cols = state.range(1);
  const bool per_channel = state.range(2) != 0;
  const auto w = random_values(static_cast<std::size_t>(rows * cols), 7);
  for (auto _ : state) {
    auto q = quant::quantize_weight(w, rows, cols, per_channel ? std::optional<int>(1) : std::nullopt, false);
    benchmark::DoNotOptimize(q.values.data());
  }
  state.SetBytesProcessed(state.iterations() * rows * cols * 4);
}
BENCHMARK(BM_QuantizeWeight)
    ->ArgNames({"rows", "cols", "per_channel"})
    ->Args({384, 384, 0})
    ->Args({384, 1536, 0})
    ->Args({384, 1536, 1})
    ->Args({30522, 384, 0})
    ->Unit(benchmark::kMillisecond);

void BM_Pass(benchmark::State& state) {
  const onnx::ModelProto fp32 = minilm_shaped();
  quant::QuantPlan plan;
  plan.defaults.granularity = state.range(0) ? quant::WeightGranularity::per_channel : quant::WeightGranularity::per_tensor;
  for (auto _ : state) {
    auto r = quant::quantize(fp32, plan);
    benchmark::DoNotOptimize(r.weight_bytes_after);
  }
}
BENCHMARK(BM_Pass)->ArgNames({"per_channel"})->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

Ort::Env& env() {
  // As src/runtime/ort_session.cc: keeps ONNX Runtime's telemetry files out of $TMPDIR.
  static const int disabled = ::setenv("ORT_DISABLE_TELEMETRY", "1", /*overwrite=*/0);
  (void)disabled;
  static Ort::Env e(ORT_LOGGING_LEVEL_ERROR, "bench_quant");
  return e;
}

// variant: 0 fp32, 1 fused per tensor, 2 fused per channel, 3 fused reduce_range, 4 unfused per tensor
void BM_LinearLayer(benchmark::State& state) {
  const auto tokens = state.range(0);
  const auto k = state.range(1);
  const auto n = state.range(2);
  const auto variant = state.range(3);
  onnx::ModelProto m = empty_model();
  auto& g = *m.mutable_graph();
  add_value(g.mutable_input(), "x", onnx::TensorProto::FLOAT, {1, -1, k});
  add_initializer(g, "W", {k, n}, 11);
  add_initializer(g, "b", {n}, 12);
  add_node(g, "MatMul", {"x", "W"}, {"mm"}, "dense/MatMul");
  add_node(g, "Add", {"mm", "b"}, {"y"}, "dense/Add");
  add_value(g.mutable_output(), "y", onnx::TensorProto::FLOAT, {1, -1, n});
  if (variant > 0) {
    quant::QuantPlan plan;
    plan.defaults.granularity = variant == 2 ? quant::WeightGranularity::per_channel : quant::WeightGranularity::per_tensor;
    plan.defaults.reduce_range = variant == 3;
    plan.fused_matmul = variant != 4;
    m = quant::quantize(m, plan).model;
  }
  const std::string bytes = model::serialize_model(m);
  Ort::SessionOptions so;
  so.SetIntraOpNumThreads(1);
  Ort::Session session(env(), bytes.data(), bytes.size(), so);
  auto x = random_values(static_cast<std::size_t>(tokens * k), 13);
  const std::array<std::int64_t, 3> shape{1, tokens, k};
  auto mem = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
  Ort::Value input = Ort::Value::CreateTensor<float>(mem, x.data(), x.size(), shape.data(), shape.size());
  const char* in_names[] = {"x"};
  const char* out_names[] = {"y"};
  for (auto _ : state) {
    auto out = session.Run(Ort::RunOptions{nullptr}, in_names, &input, 1, out_names, 1);
    benchmark::DoNotOptimize(out[0].GetTensorData<float>());
  }
  state.SetItemsProcessed(state.iterations() * tokens * k * n);
}
BENCHMARK(BM_LinearLayer)
    ->ArgNames({"tokens", "k", "n", "variant"})
    ->ArgsProduct({{128}, {384}, {1536}, {0, 1, 2, 3, 4}})
    ->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
