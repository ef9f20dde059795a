#pragma once
// Model + SetFit folder = class probabilities for tokenized batches: runs the ONNX
// model in ONNX Runtime and applies whatever of pooling, normalisation and head
// lies outside the graph (see ModelForm).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "batching.h"
#include "docquant/error.h"
#include "docquant/setfit.h"
#include "model_form.h"
#include "ort_session.h"

namespace docquant::runtime {

struct Predictions {
  std::size_t num_classes = 0;
  std::vector<double> proba;          // rows × num_classes, input order (empty when the graph gives labels only)
  // Class index per row (into SetFitFolder::class_names); for a multi-label head the label set's
  // id (label_set_id), so that comparing answers row by row compares whole label sets.
  std::vector<std::size_t> predicted;
  std::vector<std::uint8_t> label_set;  // rows × num_classes 0/1, multi-label heads only (else empty)
};

// A label set as one value: bit k is set when the set holds label k. Two rows' ids are equal
// exactly when their sets are, so accuracy, agreement and early decisions, which compare one
// value per row, score label sets by exact match. Sets over more labels than kMaxScoredLabels
// have no id (0): make_dataset refuses to score them.
inline constexpr std::size_t kMaxScoredLabels = 64;
std::size_t label_set_id(const std::uint8_t* set, std::size_t labels);

// The model's output for one text is NaN or infinite (a corrupt weight, an overflow): no
// probability can come of it. `row` is the text's index in the predicted rows.
struct NonFiniteOutputError : InputError {
  NonFiniteOutputError(const std::string& m, std::size_t r) : InputError(m), row(r) {}
  std::size_t row;
};

class Predictor {
 public:
  // `folder` must outlive the predictor. Throws InputError when ONNX Runtime refuses the
  // model or its output does not fit the folder's head (width, class count).
  Predictor(const std::string& model_bytes, const ModelSignature& signature, const setfit::SetFitFolder& folder,
            const SessionConfig& config, const std::string& name);
  // The same from a model file, which ONNX Runtime reads itself (no copy of its bytes here).
  static Predictor from_file(const std::filesystem::path& model_file, const ModelSignature& signature,
                             const setfit::SetFitFolder& folder, const SessionConfig& config, const std::string& name);

  // Predictions for `rows` texts given as batches (each row in exactly one batch).
  // Throws NonFiniteOutputError when the model's output for a row is NaN or infinite.
  // Thread-safe: ONNX Runtime allows concurrent Run calls on one session, and nothing
  // else here changes after construction. `before_each_batch`, when set, runs before every
  // batch; an exception from it (e.g. a cancelled job) stops the prediction.
  // `decided`, when set, runs after every batch with the predictions so far (rows not yet
  // run hold class 0) and the number of rows run; returning true stops there.
  Predictions predict(const std::vector<Batch>& batches, std::size_t rows,
                      const std::function<void()>& before_each_batch = {},
                      const std::function<bool(const Predictions&, std::size_t rows_done)>& decided = {}) const;

  const ModelSignature& signature() const { return signature_; }
  const std::string& name() const { return name_; }

 private:
  Predictor(Ort::Session session, const ModelSignature& signature, const setfit::SetFitFolder& folder,
            const std::string& name);
  void run_batch(const Batch& batch, Predictions& out) const;
  // Throws NonFiniteOutputError naming the first row of `values` (batch rows × width) with a
  // NaN or an infinity.
  template <class T>
  void check_finite(const Batch& batch, const T* values, std::size_t width) const;

  mutable Ort::Session session_;  // Run is non-const in the C++ API but thread-safe in ORT
  ModelSignature signature_;
  const setfit::SetFitFolder& folder_;
  std::string name_;
};

// Fraction of rows whose predicted class (or label set id) equals `labels`.
double accuracy(const Predictions& p, const std::vector<std::size_t>& labels);

}  // namespace docquant::runtime
