// The default plan on real sentence-transformer bodies (Optimum exports built
// by tools/build_fixtures.py into $DOCQUANT_FIXTURES/<name>/onnx/model.onnx,
// output last_hidden_state). Skips with a message when no fixture is built.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <set>

#include "attention_fusion.h"
#include "formulas.h"
#include "int8_kernel.h"
#include "onnx_io.h"
#include "quantize_pass.h"
#include "skip_layer_norm_fusion.h"
#include "test_support.h"

namespace docquant::quant {
namespace {

namespace fs = std::filesystem;
using testing::Feed;
using graph::fuse_attention;
using graph::fuse_skip_layer_norm;

// The quantized model (weights int8, embeddings int8) must be at most this
// fraction of the fp32 file.
constexpr double kMaxSizeRatio = 0.30;
// Cosine similarity of mean-pooled embeddings, quantized vs fp32, worst of the
// sequences. Per-tensor weights (the default plan, as ORT's quantize_dynamic and
// INC's onnxrt_integerops default) lose more on MiniLM-L6: minilm-sst2 measures
// 0.945 here, ORT 1.29's own quantize_dynamic 0.944 (its 1536->384 FFN output
// projections carry outlier columns). Per-channel weights (and per-row embeddings) measure 0.988-0.992.
// The thresholds sit below the measurements by a margin for other CPUs' kernels.
constexpr double kMinCosineDefault = 0.93;
constexpr double kMinCosinePerChannel = 0.98;
// Every node quantized, per-channel + reduce_range, across all MiniLM-L6 bodies fine-tuned by
// the fixture tools: minilm-sst2 0.988, minilm-trec6 0.987, minilm-trec6-setfithead 0.982
// (0.985 on the ORT-fused graph), minilm-trec-tags (multi-label) 0.9795.
constexpr double kMinCosineMiniLmEveryNode = 0.97;
// Any plan, even reduce_range per tensor (0.85 on minilm-sst2): a broken
// rewrite gives cosines near 0.
constexpr double kMinCosineAnyPlan = 0.80;

std::vector<fs::path> fixture_models() {
  std::vector<fs::path> found;
  if (const char* one = std::getenv("DOCQUANT_QUANT_MODEL")) {
    found.emplace_back(one);
    return found;
  }
  fs::path root;
  if (const char* f = std::getenv("DOCQUANT_FIXTURES")) {
    root = f;
  } else if (const char* cache = std::getenv("DOCQUANT_CACHE")) {
    root = fs::path(cache) / "fixtures";
  } else if (const char* home = std::getenv("HOME")) {
    root = fs::path(home) / ".cache" / "docquant" / "fixtures";
  }
  std::error_code ec;
  if (root.empty() || !fs::is_directory(root, ec)) return found;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    const fs::path model = entry.path() / "onnx" / "model.onnx";
    if (fs::is_regular_file(model, ec)) found.push_back(model);
  }
  std::sort(found.begin(), found.end());
  return found;
}

// Token id sequences (BERT-style: [CLS] … [SEP]); ids < 30000 fit every
// vocabulary of the supported bodies.
const std::vector<std::vector<std::int64_t>> kSequences{
    {101, 7592, 2088, 102},
    {101, 1996, 4248, 2829, 4419, 14523, 2058, 1996, 13971, 3899, 1012, 102},
    {101, 2023, 3319, 2001, 2200, 9202, 1998, 1045, 2052, 2025, 16755, 2009, 2000, 3087, 1012, 102},
    {101, 3531, 2709, 1996, 7422, 2006, 6928, 1010, 2057, 2097, 6855, 2046, 1996, 3043, 2574, 1012, 4067, 2017, 102},
};

std::vector<std::string> graph_inputs(const onnx::ModelProto& m) {
  std::set<std::string> inits;
  for (const auto& t : m.graph().initializer()) inits.insert(t.name());
  std::vector<std::string> names;
  for (const auto& in : m.graph().input()) {
    if (!inits.count(in.name())) names.push_back(in.name());
  }
  return names;
}

std::map<std::string, Feed> feeds_for(const onnx::ModelProto& m, const std::vector<std::int64_t>& ids) {
  const std::int64_t n = static_cast<std::int64_t>(ids.size());
  std::map<std::string, Feed> feeds;
  for (const auto& name : graph_inputs(m)) {
    if (name == "input_ids") {
      feeds[name] = Feed{{1, n}, {}, ids};
    } else if (name == "attention_mask") {
      feeds[name] = Feed{{1, n}, {}, std::vector<std::int64_t>(ids.size(), 1)};
    } else if (name == "token_type_ids") {
      feeds[name] = Feed{{1, n}, {}, std::vector<std::int64_t>(ids.size(), 0)};
    } else {
      throw std::runtime_error("unexpected model input " + name);
    }
  }
  return feeds;
}

std::vector<double> mean_pool(const std::vector<float>& hidden, std::size_t tokens) {
  const std::size_t dim = hidden.size() / tokens;
  std::vector<double> pooled(dim, 0.0);
  for (std::size_t t = 0; t < tokens; ++t) {
    for (std::size_t d = 0; d < dim; ++d) pooled[d] += hidden[t * dim + d] / static_cast<double>(tokens);
  }
  return pooled;
}

double cosine(const std::vector<double>& a, const std::vector<double>& b) {
  double ab = 0.0, aa = 0.0, bb = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

struct Measure {
  double size_ratio = 0.0;
  double min_cosine = 1.0;
  double max_abs_diff = 0.0;  // on last_hidden_state
  int quantized = 0;
};

std::vector<std::map<std::string, Feed>> all_feeds(const onnx::ModelProto& m) {
  std::vector<std::map<std::string, Feed>> runs;
  for (const auto& ids : kSequences) runs.push_back(feeds_for(m, ids));
  return runs;
}

Measure measure(const onnx::ModelProto& fp32, const std::vector<std::vector<float>>& y32, const QuantPlan& plan) {
  const QuantizeResult r = quantize(fp32, plan);
  Measure m;
  for (const auto& d : r.decisions) m.quantized += d.action == NodeAction::quantized ? 1 : 0;
  m.size_ratio = static_cast<double>(model::serialize_model(r.model).size()) /
                 static_cast<double>(model::serialize_model(fp32).size());
  const auto yq = testing::run_model_many(r.model, all_feeds(fp32));
  for (std::size_t s = 0; s < kSequences.size(); ++s) {
    EXPECT_EQ(yq[s].size(), y32[s].size());
    for (std::size_t i = 0; i < yq[s].size() && i < y32[s].size(); ++i) {
      m.max_abs_diff = std::max(m.max_abs_diff, static_cast<double>(std::fabs(yq[s][i] - y32[s][i])));
    }
    m.min_cosine =
        std::min(m.min_cosine, cosine(mean_pool(yq[s], kSequences[s].size()), mean_pool(y32[s], kSequences[s].size())));
  }
  return m;
}

std::string fixture_name(const fs::path& model) { return model.parent_path().parent_path().filename().string(); }

// What `docquant quantize` applies by default (include/docquant/quantize.h): per-channel
// weights, per-row embeddings, 7-bit weights (reduce_range).
QuantPlan docquant_default_plan() {
  QuantPlan plan;
  plan.defaults.granularity = WeightGranularity::per_channel;
  plan.defaults.reduce_range = true;
  return plan;
}

TEST(RealModel, DefaultPlanIsSmallAndFaithful) {
  const auto models = fixture_models();
  if (models.empty()) {
    GTEST_SKIP() << "no fixture model: build one with tools/build_fixtures.py (expects "
                    "$DOCQUANT_FIXTURES/<name>/onnx/model.onnx, default ~/.cache/docquant/fixtures) or set "
                    "DOCQUANT_QUANT_MODEL to an .onnx file";
  }
  for (const auto& path : models) {
    SCOPED_TRACE(path.string());
    const onnx::ModelProto fp32 = model::load_model(path).model;
    const QuantizeResult r = quantize(fp32, docquant_default_plan());
    std::map<std::string, int> quantized;
    for (const auto& d : r.decisions) {
      if (d.action == NodeAction::quantized) quantized[d.op_type]++;
    }
    EXPECT_GE(quantized["MatMul"], 6 * 6) << "every linear layer of every transformer block";
    EXPECT_GE(quantized["Gather"], 1) << "the word embeddings";
    const auto ops = testing::count_ops(r.model);
    EXPECT_EQ(ops.at("DynamicQuantizeMatMul"), quantized["MatMul"] + quantized["Gemm"]);
    EXPECT_EQ(model::serialize_model(quantize(fp32, docquant_default_plan()).model), model::serialize_model(r.model))
        << "not deterministic";
    // Saved and loaded back through docquant's loader (which runs libonnx's checker for IR <= 8).
    const fs::path saved = fs::temp_directory_path() / ("docquant-quant-" + fixture_name(path) + ".onnx");
    model::save_model(r.model, saved);
    EXPECT_NO_THROW(model::load_model(saved));
    fs::remove(saved);

    const auto y32 = testing::run_model_many(fp32, all_feeds(fp32));
    const Measure m = measure(fp32, y32, docquant_default_plan());
    EXPECT_LE(m.size_ratio, kMaxSizeRatio);
    // MiniLM-L6 keeps 0.98-0.988 with every node quantized. MPNet-base does not (mpnet-sst2
    // measures 0.84): it needs tuning to keep its sensitive nodes in fp32, which
    // `docquant quantize` does; here it must only stay clear of a broken rewrite.
    const bool minilm = fixture_name(path).starts_with("minilm");
    EXPECT_GE(m.min_cosine, minilm ? kMinCosineMiniLmEveryNode : kMinCosineAnyPlan);
    std::cout << "[ measure  ] " << fixture_name(path) << " default plan: quantized " << m.quantized << " nodes, size ratio " << m.size_ratio
              << ", min cosine " << m.min_cosine << ", max |diff| " << m.max_abs_diff << "\n";
  }
}

// The numbers docs/quantization.md quotes: granularity × reduce_range × fused.
TEST(RealModel, PlanVariantsMeasured) {
  const auto models = fixture_models();
  if (models.empty()) GTEST_SKIP() << "no fixture model (see DefaultPlanIsSmallAndFaithful)";
  // The first fixture (sorted: a MiniLM one) is enough for the table.
  for (const auto& path : {models.front()}) {
    SCOPED_TRACE(path.string());
    const onnx::ModelProto fp32 = model::load_model(path).model;
    const auto y32 = testing::run_model_many(fp32, all_feeds(fp32));
    for (bool per_channel : {false, true}) {
      for (bool reduce_range : {false, true}) {
        for (bool embeddings : {true, false}) {
          QuantPlan plan;
          plan.defaults.granularity = per_channel ? WeightGranularity::per_channel : WeightGranularity::per_tensor;
          plan.defaults.reduce_range = reduce_range;
          plan.quantize_embeddings = embeddings;
          const Measure m = measure(fp32, y32, plan);
          EXPECT_GE(m.min_cosine, per_channel ? kMinCosinePerChannel : kMinCosineAnyPlan);
          std::cout << "[ measure  ] " << fixture_name(path) << (per_channel ? " per_channel" : " per_tensor") << (reduce_range ? " reduce_range" : " full_range")
                    << (embeddings ? " emb_int8" : " emb_fp32") << ": size ratio " << m.size_ratio << ", min cosine "
                    << m.min_cosine << ", max |diff| " << m.max_abs_diff << "\n";
        }
      }
    }
    QuantPlan unfused;
    unfused.fused_matmul = false;
    const Measure m = measure(fp32, y32, unfused);
    EXPECT_GE(m.min_cosine, kMinCosineDefault);
    std::cout << "[ measure  ] unfused: size ratio " << m.size_ratio << ", min cosine " << m.min_cosine
              << ", max |diff| " << m.max_abs_diff << "\n";

    // Per-channel MatMuls with per-tensor (instead of per-row) embedding tables.
    QuantPlan rows_vs_tensor;
    rows_vs_tensor.defaults.granularity = WeightGranularity::per_channel;
    for (const auto& c : find_candidates(fp32)) {
      if (c.op_type == "Gather") rows_vs_tensor.per_node[c.node] = NodeConfig{true, WeightGranularity::per_tensor};
    }
    const Measure et = measure(fp32, y32, rows_vs_tensor);
    EXPECT_GE(et.min_cosine, kMinCosinePerChannel);
    std::cout << "[ measure  ] per_channel MatMuls, per_tensor embeddings: size ratio " << et.size_ratio
              << ", min cosine " << et.min_cosine << ", max |diff| " << et.max_abs_diff << "\n";

    // Per tensor, except weights with more rows than columns (the FFN output
    // projections) per channel, or kept fp32: what a per-node plan buys.
    for (bool keep_fp32 : {false, true}) {
      QuantPlan mixed;
      int tall = 0;
      for (const auto& c : find_candidates(fp32)) {
        const onnx::TensorProto* w = nullptr;
        for (const auto& t : fp32.graph().initializer()) {
          if (t.name() == c.weight) w = &t;
        }
        if (c.op_type == "MatMul" && w != nullptr && w->dims(0) > w->dims(1)) {
          mixed.per_node[c.node] = keep_fp32 ? NodeConfig{false} : NodeConfig{true, WeightGranularity::per_channel};
          ++tall;
        }
      }
      const Measure mm = measure(fp32, y32, mixed);
      EXPECT_GE(mm.min_cosine, kMinCosineDefault);
      std::cout << "[ measure  ] per_tensor, " << tall << " FFN output MatMuls " << (keep_fp32 ? "fp32" : "per_channel")
                << ": size ratio " << mm.size_ratio << ", min cosine " << mm.min_cosine << ", max |diff| "
                << mm.max_abs_diff << "\n";
    }
  }
}

// The SetFit export with the scikit-learn head merged in (onnx-head/model.onnx:
// ai.onnx.ml ops, float64 probabilities): the pass quantizes the body and leaves
// the head alone. Class probabilities may move by at most these (minilm-sst2
// measures 0.113 per tensor and 0.036 per channel over the 4 sequences).
constexpr double kMaxProbabilityShiftPerTensor = 0.15;
constexpr double kMaxProbabilityShiftPerChannel = 0.06;

TEST(RealModel, MergedHeadModelQuantizesTheBodyOnly) {
  std::vector<fs::path> heads;
  for (const auto& body : fixture_models()) {
    const fs::path head = body.parent_path().parent_path() / "onnx-head" / "model.onnx";
    if (fs::is_regular_file(head)) heads.push_back(head);
  }
  if (heads.empty()) GTEST_SKIP() << "no fixture with onnx-head/model.onnx (tools/build_fixtures.py)";
  const fs::path path = heads.front();
  const onnx::ModelProto fp32 = model::load_model(path).model;
  for (auto granularity : {WeightGranularity::per_tensor, WeightGranularity::per_channel}) {
    QuantPlan plan;
    plan.defaults.granularity = granularity;
    const QuantizeResult r = quantize(fp32, plan);
    int quantized = 0;
    for (const auto& d : r.decisions) quantized += d.action == NodeAction::quantized ? 1 : 0;
    EXPECT_EQ(quantized, 39);
    double worst = 0.0;
    for (const auto& ids : kSequences) {
      const auto p32 = testing::run_model_tensors(fp32, feeds_for(fp32, ids), {"probabilities"}).at("probabilities");
      const auto pq = testing::run_model_tensors(r.model, feeds_for(fp32, ids), {"probabilities"}).at("probabilities");
      ASSERT_EQ(pq.size(), p32.size());
      for (std::size_t i = 0; i < pq.size(); ++i) worst = std::max(worst, static_cast<double>(std::fabs(pq[i] - p32[i])));
    }
    EXPECT_LE(worst, granularity == WeightGranularity::per_channel ? kMaxProbabilityShiftPerChannel
                                                                   : kMaxProbabilityShiftPerTensor);
    std::cout << "[ measure  ] " << fixture_name(path) << " with head, "
              << (granularity == WeightGranularity::per_channel ? "per_channel" : "per_tensor")
              << ": max probability shift " << worst << "\n";
  }
}

// After ONNX Runtime's extended graph optimizations (what `--optimize_graph`
// feeds the pass). On the Optimum MiniLM export ORT 1.29 fuses LayerNormalization,
// BiasGelu and FusedMatMul (Q·Kᵀ) but not Attention or EmbedLayerNormalization,
// so the same 36 weight MatMuls and 3 Gathers are quantized; an Attention
// would become QAttention.
TEST(RealModel, OrtOptimizedGraphQuantizes) {
  const auto models = fixture_models();
  if (models.empty()) GTEST_SKIP() << "no fixture model (see DefaultPlanIsSmallAndFaithful)";
  const onnx::ModelProto original = model::load_model(models.front()).model;
  const onnx::ModelProto fused = testing::ort_optimized(original);
  const auto fused_ops = testing::count_ops(fused);
  const auto y32 = testing::run_model_many(fused, all_feeds(original));
  for (auto g : {WeightGranularity::per_tensor, WeightGranularity::per_channel}) {
    QuantPlan plan;
    plan.defaults.granularity = g;
    const QuantizeResult r = quantize(fused, plan);
    const auto ops = testing::count_ops(r.model);
    EXPECT_EQ(ops.count("QAttention") ? ops.at("QAttention") : 0,
              fused_ops.count("Attention") ? fused_ops.at("Attention") : 0);
    EXPECT_EQ(ops.count("DynamicQuantizeMatMul") ? ops.at("DynamicQuantizeMatMul") : 0, 36);
    const Measure m = measure(fused, y32, plan);
    EXPECT_GE(m.min_cosine, g == WeightGranularity::per_channel ? kMinCosinePerChannel : kMinCosineDefault);
    std::cout << "[ measure  ] ORT-optimized " << fixture_name(models.front()) << ", "
              << (g == WeightGranularity::per_channel ? "per_channel" : "per_tensor") << ": quantized " << m.quantized
              << " nodes, size ratio " << m.size_ratio << ", min cosine " << m.min_cosine << "\n";
  }
}

// What `--optimize_graph` does after ORT's pass: each layer's self-attention becomes one
// Attention (MiniLM-L6: 6; MPNet adds a relative position bias to the scores, which the
// pattern does not cover, so it keeps its attention nodes), every residual Add +
// LayerNormalization one SkipLayerNormalization (the embeddings' LayerNormalization sums no
// residual stream and stays), the outputs stay those of the unfused graph, the old Q/K/V
// weights leave the file, and the quantize pass turns each Attention into QAttention.
TEST(RealModel, GraphFusionsOnOrtOptimizedGraph) {
  const auto models = fixture_models();
  if (models.empty()) GTEST_SKIP() << "no fixture model (see DefaultPlanIsSmallAndFaithful)";
  const auto count = [](const std::map<std::string, int>& ops, const char* op) {
    return ops.count(op) ? ops.at(op) : 0;
  };
  for (const auto& path : models) {
    const bool minilm = fixture_name(path).starts_with("minilm");
    const onnx::ModelProto optimized = testing::ort_optimized(model::load_model(path).model);
    const auto before_ops = testing::count_ops(optimized);
    onnx::ModelProto fused = optimized;
    const std::size_t attentions = fuse_attention(fused);
    const std::size_t n = fuse_skip_layer_norm(fused);
    const auto ops = testing::count_ops(fused);
    // Every layer: MiniLM-L6 6, MPNet-base 12 (with the shared relative position bias).
    const bool mpnet = fixture_name(path).starts_with("mpnet");
    if (minilm || mpnet) {
      EXPECT_EQ(attentions, minilm ? 6u : 12u) << fixture_name(path);
    }
    EXPECT_EQ(count(ops, "Attention"), static_cast<int>(attentions));
    EXPECT_EQ(count(ops, "MatMul"), count(before_ops, "MatMul") - 4 * static_cast<int>(attentions))
        << "Q, K, V projections and the context MatMul";
    // Two per encoder layer (MiniLM-L6: 12, MPNet-base: 24); ORT itself fuses MPNet's embeddings sum.
    EXPECT_GE(n, 12u) << fixture_name(path);
    EXPECT_EQ(count(ops, "SkipLayerNormalization"), count(before_ops, "SkipLayerNormalization") + static_cast<int>(n));
    EXPECT_EQ(count(ops, "LayerNormalization"), count(before_ops, "LayerNormalization") - static_cast<int>(n));
    EXPECT_LE(count(ops, "LayerNormalization"), 1) << "only the embeddings' may stay";
    const double size_before = static_cast<double>(model::serialize_model(optimized).size());
    EXPECT_LE(static_cast<double>(model::serialize_model(fused).size()), size_before * 1.001)
        << "the separate Q/K/V weights must not stay beside the concatenated ones";
    const auto feeds = all_feeds(optimized);
    const auto before = testing::run_model_many(optimized, feeds);
    const auto after = testing::run_model_many(fused, feeds);
    double worst = 0.0;
    for (std::size_t s = 0; s < before.size(); ++s) {
      ASSERT_EQ(after[s].size(), before[s].size());
      for (std::size_t i = 0; i < before[s].size(); ++i)
        worst = std::max(worst, static_cast<double>(std::fabs(after[s][i] - before[s][i])));
    }
    EXPECT_LE(worst, 1e-4) << fixture_name(path);
    const auto q = testing::count_ops(quantize(fused, QuantPlan{}).model);
    EXPECT_EQ(count(q, "SkipLayerNormalization"), count(ops, "SkipLayerNormalization"));
    // QAttention takes no attention_bias: MPNet's become an integer GEMM + MultiHeadAttention.
    EXPECT_EQ(count(q, mpnet ? "MultiHeadAttention" : "QAttention"), static_cast<int>(attentions));
    const Measure m = measure(fused, before, docquant_default_plan());
    if (minilm) {
      EXPECT_GE(m.min_cosine, kMinCosineMiniLmEveryNode) << fixture_name(path);
    }
    std::cout << "[ measure  ] " << fixture_name(path) << ": " << attentions << " Attention, " << n
              << " SkipLayerNormalization, max |diff| of last_hidden_state vs unfused " << worst
              << "; default plan on the fused graph: " << m.quantized << " nodes quantized, min cosine "
              << m.min_cosine << "\n";
  }
}

// What reduce_range is for. This CPU's MLAS kernels may use VNNI (int32
// accumulation, no saturation), so the AVX2 kernel is emulated: vpmaddubsw adds
// two raw u8 × s8 products (k, k+1) into a saturating int16 before widening;
// zero points are corrected afterwards. Inputs are the fp32 model's own
// activations at every quantized MatMul, for the longest sequence; the error is
// layer-local (relative RMS of the layer output vs the unsaturated integer result).
TEST(RealModel, Avx2SaturationEmulated) {
  const auto models = fixture_models();
  if (models.empty()) GTEST_SKIP() << "no fixture model (see DefaultPlanIsSmallAndFaithful)";
  const onnx::ModelProto fp32 = model::load_model(models.front()).model;
  std::map<std::string, const onnx::TensorProto*> inits;
  for (const auto& t : fp32.graph().initializer()) inits[t.name()] = &t;
  std::vector<std::pair<std::string, std::string>> layers;  // (activation, weight)
  std::vector<std::string> activations;
  for (const auto& c : find_candidates(fp32)) {
    if (c.op_type != "MatMul") continue;
    for (const auto& n : fp32.graph().node()) {
      if (n.name() == c.node) {
        layers.emplace_back(n.input(0), n.input(1));
        activations.push_back(n.input(0));
      }
    }
  }
  std::sort(activations.begin(), activations.end());
  activations.erase(std::unique(activations.begin(), activations.end()), activations.end());
  const auto acts = testing::run_model_tensors(fp32, feeds_for(fp32, kSequences.back()), activations);

  for (bool per_channel : {false, true}) {
    for (bool reduce_range : {false, true}) {
      std::int64_t pairs = 0;
      std::int64_t saturated = 0;
      double worst = 0.0;
      std::string worst_layer;
      for (const auto& [a_name, w_name] : layers) {
        const auto& x = acts.at(a_name);
        const onnx::TensorProto& wt = *inits.at(w_name);
        const std::int64_t k = wt.dims(0);
        const std::int64_t n = wt.dims(1);
        const std::int64_t rows = static_cast<std::int64_t>(x.size()) / k;
        std::vector<float> w(static_cast<std::size_t>(k * n));
        std::memcpy(w.data(), wt.raw_data().data(), w.size() * sizeof(float));
        const QuantizedWeight qw =
            quantize_weight(w, k, n, per_channel ? std::optional<int>(1) : std::nullopt, reduce_range);
        // The report's "can saturate" bound: never with 7-bit weights, and never
        // contradicted by a saturation the emulation sees.
        const bool can_saturate = pairwise_can_saturate(max_pair_magnitude(qw.values, k, n));
        if (reduce_range) {
          EXPECT_FALSE(can_saturate) << w_name;
        }
        const std::int64_t saturated_before = saturated;
        float lo = 0.0f, hi = 0.0f;
        for (float v : x) {
          lo = std::min(lo, v);
          hi = std::max(hi, v);
        }
        const QuantParams xp = dynamic_uint8_params(lo, hi);
        std::vector<std::uint8_t> qx(x.size());
        for (std::size_t i = 0; i < x.size(); ++i) qx[i] = static_cast<std::uint8_t>(quantize_value(x[i], xp, kUint8));
        double err = 0.0, ref = 0.0;
        for (std::int64_t r = 0; r < rows; ++r) {
          const std::span<const std::uint8_t> a(qx.data() + r * k, static_cast<std::size_t>(k));
          for (std::int64_t j = 0; j < n; ++j) {
            std::int64_t colsum = 0;
            for (std::int64_t t = 0; t < k; ++t) colsum += qw.values[static_cast<std::size_t>(t * n + j)];
            int saturated_here = 0;
            const std::int64_t exact = dot_u8s8(a, qw.values.data() + j, static_cast<std::size_t>(n), Int8Path::avx512_vnni);
            const std::int64_t sat =
                dot_u8s8(a, qw.values.data() + j, static_cast<std::size_t>(n), Int8Path::avx2, &saturated_here);
            saturated += saturated_here;
            pairs += (k + 1) / 2;
            const double scale = static_cast<double>(xp.scale) * qw.scales[per_channel ? static_cast<std::size_t>(j) : 0];
            const double y_exact = scale * static_cast<double>(exact - xp.zero_point * colsum);
            const double y_sat = scale * static_cast<double>(sat - xp.zero_point * colsum);
            err += (y_sat - y_exact) * (y_sat - y_exact);
            ref += y_exact * y_exact;
          }
        }
        if (saturated > saturated_before) {
          EXPECT_TRUE(can_saturate) << w_name;
        }
        const double rel = std::sqrt(err / std::max(ref, 1e-30));
        if (rel > worst) {
          worst = rel;
          worst_layer = a_name + " x " + w_name;
        }
      }
      if (reduce_range) {
        EXPECT_EQ(saturated, 0) << "7-bit weights cannot saturate: 2 * 255 * 64 < 32768";
      }
      std::cout << "[ measure  ] AVX2 u8s8 emulation, " << (per_channel ? "per_channel" : "per_tensor")
                << (reduce_range ? " reduce_range" : " full_range") << ": saturated pairs " << saturated << " / "
                << pairs << ", worst layer relative error " << worst << (worst_layer.empty() ? "" : " (" + worst_layer + ")")
                << "\n";
    }
  }
}

}  // namespace
}  // namespace docquant::quant
