#pragma once
// docquant's inference API: a model folder in, labels and class probabilities out.
//
// A model folder is what `docquant quantize` writes (model.onnx + tokenizer + head +
// configs), or an fp32 SetFit folder with options.onnx_model pointing at its ONNX
// export. All three model forms are accepted (body with last_hidden_state, head in
// the graph, sentence-embedding body); pooling, normalisation and the head are
// applied outside the graph when the graph does not contain them.
//
// Texts are taken in chunks of options.chunk_size; within a chunk they are tokenized,
// sorted by length and cut into batches of options.batch_size padded to their own
// longest text -- the batching `docquant quantize` and `docquant eval` use, so for up to
// chunk_size texts the predictions are exactly theirs and a quantized model delivers the
// accuracy its report states. Results come back in input order. While the model runs
// on one chunk, the next chunk is read and tokenized on another thread.
//
// Thread safety: one Classifier may be shared by any number of threads calling the
// const member functions concurrently.
//
// Errors: the constructor throws docquant::InputError (missing or malformed files,
// a head that does not fit the model) naming the file; predict functions throw
// docquant::UsageError for misuse (e.g. predict_proba on a graph that outputs labels only),
// and an ErrorKind::interrupted Error when options.cancelled says so.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace docquant {

struct ClassifierOptions {
  std::filesystem::path onnx_model;  // empty: <model_folder>/model.onnx
  int threads = 0;                   // ONNX Runtime intra-op threads; 0: one per core
  std::size_t batch_size = 32;       // texts per model call
  // True: batch_size texts per call only when Classifier::batch_invariance() is proven, else 1,
  // so that a text's answer never depends on the texts it happens to be grouped with (Spark's
  // partitions; the Spark UDF's default, Python's batch_size="auto").
  bool batch_if_invariant = false;
  std::size_t max_length = 0;        // tokens per text incl. special tokens; 0: the folder's own
  std::size_t chunk_size = 4096;     // texts tokenized and length-sorted together (bounds memory)
  // A float model without docquant's graph fusions (an fp32 SetFit export) gets them when
  // opened, as `docquant quantize` gives them to the graph it measures and writes: ONNX
  // Runtime's extended optimisations, Attention and SkipLayerNormalization (faster; outputs
  // within ~1e-5). Costs about a second when opening MiniLM. Quantized models run as they are.
  bool optimize_graph = true;
  // Polled before every model batch on the thread running the model (the calling thread);
  // returning true stops the call with an ErrorKind::interrupted Error. Lets a host stop a
  // long call within one batch (the Python package checks for Ctrl-C here).
  std::function<bool()> cancelled;
};

// Whether a text's predictions depend on that text alone, or also on the texts sharing its
// model batch (Classifier::batch_invariance()).
struct BatchInvariance {
  bool proven = false;  // any batch_size gives batch_size 1's answers (within float rounding)
  std::string reason;   // what was checked, or the first node that ends the proof
};

// Predictions for a list of texts, in input order.
// For a multi-label head (Classifier::multi_label()) the classes are labels, each text has any
// number of them: label_set says which, proba holds each label's own probability (rows do not sum
// to 1) and label is 0 for every text.
struct Classification {
  std::size_t num_classes = 0;
  std::vector<std::size_t> label;  // class index per text (into Classifier::classes())
  std::vector<double> proba;       // texts × num_classes, row-major; empty when has_probabilities() is false
  std::vector<std::uint8_t> label_set;  // texts × num_classes 0/1, multi-label heads only (else empty)
};

class Classifier {
 public:
  explicit Classifier(const std::filesystem::path& model_folder, const ClassifierOptions& options = {});
  ~Classifier();
  Classifier(Classifier&&) noexcept;
  Classifier& operator=(Classifier&&) noexcept;
  Classifier(const Classifier&) = delete;
  Classifier& operator=(const Classifier&) = delete;

  // Class names, one per probability column, in the head's order.
  const std::vector<std::string>& classes() const;
  // False only for a head-in-graph model whose sole output is the predicted label.
  bool has_probabilities() const;
  // True when the head gives a set of labels per text (SetFit's multi_target_strategy heads
  // fitted on label indicators): use classify()'s label_set; predict() throws UsageError.
  bool multi_label() const;
  // Read off the graph the folder runs, not off quantization.json (src/runtime/batch_invariance.h):
  // proven when every node is an op known to keep texts apart, used along axes other than the
  // batch. Not proven for per-tensor dynamic INT8 (one activation scale per batch) and for any
  // graph the check does not understand: there, batch_size 1 makes answers independent of how
  // texts are grouped (the Spark UDF's default does that).
  const BatchInvariance& batch_invariance() const;
  // Texts per model call: options.batch_size, or 1 under batch_if_invariant without the proof.
  std::size_t batch_size() const;

  // Labels (class names) for the texts.
  std::vector<std::string> predict(std::span<const std::string> texts) const;
  // Probabilities, one vector of classes().size() per text.
  std::vector<std::vector<double>> predict_proba(std::span<const std::string> texts) const;
  // Both at once, without copies.
  Classification classify(std::span<const std::string> texts) const;

  // Streaming, in memory bounded by two chunks: `read` appends up to `max_texts` texts
  // to an empty vector (fewer only at the end of the input; none ends the stream);
  // `write` receives each chunk's predictions, in input order. `read` runs on a worker
  // thread (never two calls at once) so that reading and tokenizing chunk k+1 overlaps
  // the model on chunk k; `write` runs on the calling thread. An exception thrown by
  // either stops the stream and propagates. What `docquant classify` uses.
  using TextReader = std::function<void(std::vector<std::string>& texts, std::size_t max_texts)>;
  using ResultWriter = std::function<void(const Classification& chunk)>;
  void classify_stream(const TextReader& read, const ResultWriter& write) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace docquant
