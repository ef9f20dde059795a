#pragma once
// The parts of a SetFit model folder that sit around the ONNX body: how token embeddings are
// pooled and normalised, the scikit-learn head (model_head.pkl) and where class names come from.
// Everything here computes what sentence-transformers and scikit-learn compute (docs/setfit.md
// lists the exact rules followed and the versions they were checked against).
//
// All types are immutable after load; their const methods may be called from many threads.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <optional>
#include <vector>

#include "docquant/error.h"

namespace docquant::pickle {
class Value;
struct Object;
}

namespace docquant::setfit {

// ---- pooling ------------------------------------------------------------------------

enum class PoolingMode { cls, max, mean, mean_sqrt_len, weighted_mean, last_token };
const char* to_string(PoolingMode mode);

struct Pooling {
  // Modes in the order sentence-transformers concatenates them (cls, max, mean,
  // mean_sqrt_len, weightedmean, lasttoken).
  std::vector<PoolingMode> modes;
  std::size_t word_embedding_dimension = 0;
  // false: sentence-transformers leaves a prompt's tokens out of pooling. SetFitFolder::load
  // refuses it when the folder has a default prompt (docs/setfit.md).
  bool include_prompt = true;

  std::size_t output_dimension() const { return modes.size() * word_embedding_dimension; }
  std::string describe() const;  // "mean", "cls+max", …

  // Reads a 1_Pooling/config.json; throws InputError naming the file and field.
  static Pooling from_config(const std::filesystem::path& config_json);
};

// Pools token embeddings [batch, seq, hidden] (row-major) with an attention mask [batch, seq]
// into [batch, pooling.output_dimension()], as sentence_transformers.models.Pooling.forward
// does. hidden must equal pooling.word_embedding_dimension.
std::vector<float> pool(const Pooling& pooling, const float* token_embeddings,
                        const std::int64_t* attention_mask, std::size_t batch, std::size_t seq,
                        std::size_t hidden);

// Divides each row by max(L2 norm, 1e-12), as torch.nn.functional.normalize(p=2, dim=1).
void normalize_rows(float* rows, std::size_t n, std::size_t dim);

// ---- head ---------------------------------------------------------------------------

// One entry of the head's classes_ array: an integer or a string label.
struct ClassValue {
  bool is_text = false;
  std::string text;
  std::int64_t number = 0;
  std::string str() const { return is_text ? text : std::to_string(number); }
};

// SetFit's scikit-learn heads: LogisticRegression, and its multi_target_strategy wrappers
// ("one-vs-rest", "multi-output", "classifier-chain") around LogisticRegression; and its
// differentiable head (use_differentiable_head=True): setfit.modeling.SetFitHead, a torch
// Linear layer (multitarget for multi-label).
enum class HeadKind { logistic_regression, one_vs_rest, multi_output, classifier_chain, setfit_head };
const char* to_string(HeadKind kind);  // the class, e.g. "MultiOutputClassifier(LogisticRegression)"

// ClassifierChain.chain_method_: what estimator k passes on as a feature to estimators k+1…
// (scikit-learn >= 1.5; before, always predict).
enum class ChainMethod { predict, predict_proba, predict_log_proba, decision_function };

// How probabilities come out of the decision function.
enum class ProbaRule {
  binary_logistic,       // p1 = expit(d), p0 = 1 - p1
  binary_softmax,        // multinomial fit with two classes: softmax([-d, d])
  ovr_normalised,        // expit per class, each row divided by its sum
  softmax,               // softmax over classes
  ovr_independent,       // OneVsRestClassifier multi-label: one expit per label, no normalising
  ovr_estimators,        // OneVsRestClassifier single-label: per-estimator p, rows normalised
  per_label,             // MultiOutputClassifier: one binary estimator per label, its p(1)
  chain,                 // ClassifierChain: per-label p(1), each estimator also seeing earlier labels
  setfit_softmax,        // SetFitHead: softmax(logits / (temperature + eps))
  setfit_sigmoid,        // SetFitHead, multitarget: sigmoid(logits / (temperature + eps)) per label
};
const char* to_string(ProbaRule rule);

class Head {
 public:
  // Reads model_head.pkl (joblib or pickle, possibly compressed; a SetFitHead's torch
  // tensors as torch pickles them).
  static Head load(const std::filesystem::path& model_head_pkl);
  // Builds the head from an already parsed pickle; `source` names it in errors.
  static Head from_value(const pickle::Value& root, const std::string& source);

  HeadKind kind() const { return kind_; }
  std::size_t num_classes() const { return classes_.size(); }
  std::size_t input_width() const { return width_; }
  bool multi_label() const { return multi_label_; }
  ProbaRule proba_rule() const { return rule_; }
  const std::vector<ClassValue>& classes() const { return classes_; }
  // multi_class as pickled ("auto", "ovr", "multinomial", "deprecated", "warn"), or "" when the
  // writing scikit-learn no longer had the parameter.
  const std::string& multi_class() const { return multi_class_; }
  const std::string& sklearn_version() const { return sklearn_version_; }
  // SetFitHead: what its logits are divided by (temperature + eps); 1 for scikit-learn heads.
  double logit_divisor() const { return logit_divisor_; }
  std::string describe() const;  // one line: class, rule, classes

  // emb: n rows of dim floats. Each returns n × num_classes() values, row-major, computed in
  // double precision as scikit-learn does. Throws InputError when dim != input_width().
  std::vector<double> predict_proba(const float* emb, std::size_t n, std::size_t dim) const;
  // One class index (into classes()) per row. For a multi-label head, throws UsageError:
  // call predict_multilabel.
  std::vector<std::size_t> predict(const float* emb, std::size_t n, std::size_t dim) const;
  // n × num_classes() 0/1 indicators (multi-label heads; single-label heads give one-hot rows).
  // For multi-label heads predict_proba's column k is label k's probability (MultiOutput's
  // predict_proba(X)[k][:, 1]); columns are independent and rows do not sum to 1.
  std::vector<std::uint8_t> predict_multilabel(const float* emb, std::size_t n,
                                               std::size_t dim) const;

  // One binary or multi-class linear model: decision = coef · x + intercept.
  struct Linear {
    std::size_t rows = 0;             // 1 for binary
    std::vector<double> coef;         // rows × width
    std::vector<double> intercept;    // rows
    ProbaRule rule = ProbaRule::binary_logistic;
    bool constant = false;            // sklearn's _ConstantPredictor: always `constant_value`
    double constant_value = 0;
  };

 private:
  static Head multi_target_from(const pickle::Object& o, const std::string& source);
  static Head setfit_head_from(const pickle::Object& o, const std::string& source);  // torch_head.cc
  // SetFitHead: logits / (temperature + eps), then softmax or sigmoid, in double.
  std::vector<double> setfit_head_logits(const float* emb, std::size_t n) const;
  std::vector<double> setfit_head_proba(const float* emb, std::size_t n) const;
  std::vector<double> decisions(const Linear& m, const float* emb, std::size_t n) const;
  // Multi-label heads: n × num_classes() decisions, column k = label k's estimator.
  std::vector<double> label_decisions(const float* emb, std::size_t n) const;
  const Linear& label_model(std::size_t label) const;
  void check_dim(std::size_t dim) const;

  HeadKind kind_ = HeadKind::logistic_regression;
  ProbaRule rule_ = ProbaRule::binary_logistic;
  std::vector<Linear> models_;  // 1 for LogisticRegression, one per class for OneVsRest
  std::vector<ClassValue> classes_;
  std::size_t width_ = 0;
  bool multi_label_ = false;
  std::vector<std::size_t> chain_order_;  // ClassifierChain.order_: label of chain position i
  ChainMethod chain_method_ = ChainMethod::predict;
  bool ovr_binary_ = false;       // OneVsRest with one estimator (binary y)
  bool ties_to_last_ = false;     // OneVsRest argmax tie rule of scikit-learn < 1.6
  bool zero_sum_uniform_ = true;  // OvR normalisation of an all-zero row: uniform (>= 1.6) or NaN
  double multilabel_threshold_ = 0;
  double logit_divisor_ = 1;      // SetFitHead: temperature + eps
  std::string multi_class_;
  std::string solver_;
  std::string sklearn_version_;
};

// ---- the folder ---------------------------------------------------------------------

enum class LabelSource {
  head_classes,        // classes_ of the head hold the label strings (or plain integers)
  config_labels,       // config_setfit.json "labels", indexed by the integer classes_
  label_encoder,       // labelencoder.pkl: a LabelEncoder whose classes_ the integers index
};
const char* to_string(LabelSource source);

struct SetFitFolder {
  std::filesystem::path path;
  Pooling pooling;
  bool normalize = false;          // L2-normalise pooled embeddings before the head
  std::string normalize_source;    // "2_Normalize module", "config_setfit.json", or "none"
  Head head;
  std::vector<std::string> class_names;  // one per predict_proba column
  LabelSource label_source = LabelSource::head_classes;
  std::size_t max_seq_length = 0;  // sentence_bert_config.json; 0 when absent
  std::size_t embedding_width = 0; // pooled width = head input width
  // config_sentence_transformers.json default_prompt_name and its prompts entry: the
  // Tokenizer prepends the text to every text; recorded here for inspect and checked against
  // pooling.include_prompt. Unset when the folder has no default prompt.
  std::optional<std::string> prompt_name;
  std::string prompt_text;

  // Reads modules.json, the pooling config, config_setfit.json, sentence_bert_config.json,
  // model_head.pkl and labelencoder.pkl when present. Throws InputError naming the file and
  // field on anything missing, malformed or unsupported (a Dense module, a torch head …).
  static SetFitFolder load(const std::filesystem::path& folder);

  // The class index (predict_proba column) a CSV label names: a class name, or the head's raw
  // class value ("0", "1" …). Throws InputError naming the row, the label and the known classes.
  std::size_t label_index(std::string_view label, std::size_t row) const;

  // A multi-label head's label set as a CSV cell writes it: label names (or raw class values)
  // joined by ';', e.g. "person;time"; an empty cell is the empty set. Spaces around a name are
  // ignored, a name given twice counts once. Returns the columns, ascending. Throws InputError
  // naming the row for an unknown name or an empty one ("a;;b").
  std::vector<std::size_t> label_set(std::string_view cell, std::size_t row) const;
};

// The separator of label names in a multi-label CSV cell (SetFitFolder::label_set).
inline constexpr char kLabelSetSeparator = ';';

// True when the folder looks like a SetFit model (config_setfit.json or model_head.pkl).
bool is_setfit_folder(const std::filesystem::path& folder);

}  // namespace docquant::setfit
