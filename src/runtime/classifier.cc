// The public Classifier: a SetFit folder, its tokenizer and an ONNX Runtime session
// behind one object. Batching is make_batches' policy within each chunk, so that the
// predictions for up to chunk_size texts equal those of `docquant eval` and of
// quantize's accuracy measurement.
#include "docquant/classifier.h"

#include <fmt/core.h>

#include <future>
#include <optional>

#include "batch_invariance.h"
#include "batching.h"
#include "docquant/error.h"
#include "docquant/setfit.h"
#include "docquant/tokenizer.h"
#include "graph_optimizer.h"
#include "option_limits.h"
#include "model_form.h"
#include "onnx_io.h"
#include "predictor.h"
#include "tokenizer_fit.h"

namespace docquant {

namespace {

TokenizerOptions tokenizer_options(const ClassifierOptions& o) {
  TokenizerOptions t;
  t.padding = Padding::none;  // make_batches pads each batch to its own longest text
  if (o.max_length > 0) t.max_length = o.max_length;
  return t;
}

// Loads the model once, keeping only what the session needs (the parsed proto is freed).
struct LoadedModel {
  std::string bytes;
  runtime::ModelSignature signature;
  std::string name;
  BatchInvariance batch_invariance;
};

LoadedModel load(const std::filesystem::path& model, bool optimize, const runtime::SessionConfig& session,
                 const Tokenizer& tokenizer, const std::filesystem::path& folder) {
  auto loaded = model::load_model(model);
  LoadedModel m;
  m.name = loaded.file.string();
  m.signature = runtime::detect_signature(loaded.model, m.name);
  runtime::check_tokenizer_fits(loaded.model, tokenizer, m.name, folder.string());
  m.bytes = runtime::model_to_run(loaded.model, loaded.file, optimize, session, m.name);
  m.batch_invariance = runtime::check_batch_invariance(loaded.model);  // the graph that runs, optimised or not
  return m;
}

const ClassifierOptions& checked(const ClassifierOptions& o) {
  check_batch_size(o.batch_size, "batch size");
  if (o.chunk_size == 0) throw UsageError("chunk size must be at least 1");
  check_threads(o.threads, "threads");
  return o;
}

}  // namespace

struct Classifier::Impl {
  Impl(const std::filesystem::path& model_folder, const ClassifierOptions& o)
      : options(checked(o)),
        folder(setfit::SetFitFolder::load(model_folder)),
        tokenizer(Tokenizer::from_folder(model_folder, tokenizer_options(o))),
        predictor(make_predictor(model_folder)) {
    policy.batch_size = options.batch_if_invariant && !batch_invariance.proven ? 1 : options.batch_size;
  }

  std::optional<runtime::Predictor> make_predictor(const std::filesystem::path& model_folder) {
    runtime::SessionConfig session;
    session.intra_op_threads = options.threads;
    LoadedModel m = load(options.onnx_model.empty() ? model_folder : options.onnx_model, options.optimize_graph, session,
                         tokenizer, model_folder);
    batch_invariance = std::move(m.batch_invariance);
    std::optional<runtime::Predictor> p;
    p.emplace(m.bytes, m.signature, folder, session, m.name);
    return p;
  }

  bool labels_only() const { return predictor->signature().output_is_label; }

  std::vector<Encoding> encode(std::span<const std::string> texts) const {
    return tokenizer.encode_batch(texts, options.threads);
  }

  void check_cancelled() const {
    if (options.cancelled && options.cancelled()) {
      throw Error(ErrorKind::interrupted, "stopped by the caller before every text was classified");
    }
  }

  // Runs the model on one chunk's encodings and appends the results to `out`.
  void predict_chunk(const std::vector<Encoding>& encodings, Classification& out) const {
    const auto batches = runtime::make_batches(encodings, policy, tokenizer.pad_id());
    runtime::Predictions p = predictor->predict(batches, encodings.size(), [this] { check_cancelled(); });
    if (!p.label_set.empty()) std::fill(p.predicted.begin(), p.predicted.end(), 0);  // label: 0 for label sets
    if (out.label.empty()) {
      out.label = std::move(p.predicted);
      out.proba = std::move(p.proba);
      out.label_set = std::move(p.label_set);
    } else {
      out.label.insert(out.label.end(), p.predicted.begin(), p.predicted.end());
      out.proba.insert(out.proba.end(), p.proba.begin(), p.proba.end());
      out.label_set.insert(out.label_set.end(), p.label_set.begin(), p.label_set.end());
    }
  }

  // The pipeline: `next` yields one chunk's encodings (nullopt at the end) on a worker
  // thread while the calling thread runs the model on the previous chunk.
  template <class Next, class Consume>
  void pipeline(Next next, Consume consume) const {
    auto pending = std::async(std::launch::async, next);
    for (;;) {
      std::optional<std::vector<Encoding>> chunk = pending.get();
      if (!chunk) return;
      pending = std::async(std::launch::async, next);
      Classification result;
      result.num_classes = folder.class_names.size();
      predict_chunk(*chunk, result);
      chunk.reset();
      consume(std::move(result));
    }
  }

  ClassifierOptions options;
  setfit::SetFitFolder folder;
  Tokenizer tokenizer;
  runtime::BatchPolicy policy;
  BatchInvariance batch_invariance;  // set by make_predictor, so declared before `predictor`
  std::optional<runtime::Predictor> predictor;  // refers to `folder`, declared above it
};

Classifier::Classifier(const std::filesystem::path& model_folder, const ClassifierOptions& options)
    : impl_(std::make_unique<Impl>(model_folder, options)) {}
Classifier::~Classifier() = default;
Classifier::Classifier(Classifier&&) noexcept = default;
Classifier& Classifier::operator=(Classifier&&) noexcept = default;

const std::vector<std::string>& Classifier::classes() const { return impl_->folder.class_names; }

bool Classifier::has_probabilities() const { return !impl_->labels_only(); }

bool Classifier::multi_label() const { return impl_->folder.head.multi_label(); }

const BatchInvariance& Classifier::batch_invariance() const { return impl_->batch_invariance; }

std::size_t Classifier::batch_size() const { return impl_->policy.batch_size; }

Classification Classifier::classify(std::span<const std::string> texts) const {
  Classification out;
  out.num_classes = impl_->folder.class_names.size();
  out.label.reserve(texts.size());
  if (texts.size() <= impl_->options.chunk_size) {
    // One chunk: nothing to overlap, so no worker thread (it would add to batch-1 latency).
    impl_->predict_chunk(impl_->encode(texts), out);
    return out;
  }
  if (has_probabilities()) out.proba.reserve(texts.size() * out.num_classes);
  std::size_t next_start = 0;
  const std::size_t chunk = impl_->options.chunk_size;
  impl_->pipeline(
      [&]() -> std::optional<std::vector<Encoding>> {
        if (next_start >= texts.size()) return std::nullopt;
        const auto part = texts.subspan(next_start, std::min(chunk, texts.size() - next_start));
        next_start += part.size();
        return impl_->encode(part);
      },
      [&](Classification&& part) {
        out.label.insert(out.label.end(), part.label.begin(), part.label.end());
        out.proba.insert(out.proba.end(), part.proba.begin(), part.proba.end());
        out.label_set.insert(out.label_set.end(), part.label_set.begin(), part.label_set.end());
      });
  return out;
}

void Classifier::classify_stream(const TextReader& read, const ResultWriter& write) const {
  std::vector<std::string> texts;
  const std::size_t chunk = impl_->options.chunk_size;
  impl_->pipeline(
      [&]() -> std::optional<std::vector<Encoding>> {
        texts.clear();
        read(texts, chunk);
        if (texts.empty()) return std::nullopt;
        return impl_->encode(texts);
      },
      [&](Classification&& part) { write(part); });
}

std::vector<std::string> Classifier::predict(std::span<const std::string> texts) const {
  if (multi_label()) {
    throw UsageError(fmt::format("predict: the head is multi-label ({}); each text has a set of labels: use classify "
                                 "(label_set) or predict_proba",
                                 setfit::to_string(impl_->folder.head.kind())));
  }
  const Classification c = classify(texts);
  std::vector<std::string> names;
  names.reserve(c.label.size());
  for (auto l : c.label) names.push_back(impl_->folder.class_names[l]);
  return names;
}

std::vector<std::vector<double>> Classifier::predict_proba(std::span<const std::string> texts) const {
  if (!has_probabilities()) {
    throw UsageError("predict_proba: this model's graph outputs labels only (no probabilities); use predict");
  }
  const Classification c = classify(texts);
  std::vector<std::vector<double>> rows;
  rows.reserve(c.label.size());
  for (std::size_t r = 0; r < c.label.size(); ++r) {
    const auto* p = c.proba.data() + r * c.num_classes;
    rows.emplace_back(p, p + c.num_classes);
  }
  return rows;
}

}  // namespace docquant
