// The scikit-learn head: LogisticRegression and SetFit's multi-target wrappers around it
// (OneVsRestClassifier, MultiOutputClassifier, ClassifierChain), with predict_proba / predict
// following the scikit-learn release that wrote the pickle.
//
// How LogisticRegression.predict_proba picks its normalisation, by writing version:
//   < 1.8: OvR (expit, rows divided by their sum) when multi_class is 'ovr'/'warn', or when it
//          is 'auto'/'deprecated' and there are <= 2 classes or the solver is liblinear
//          (1.2-1.5 also newton-cholesky); otherwise softmax — with two classes, softmax of
//          [-d, d] (the binary multinomial case).
//   >= 1.8: multi_class is gone: <= 2 classes expit, else softmax.
// OneVsRestClassifier.predict ties: the last estimator wins before 1.8, the first from 1.8.
// MultiOutputClassifier / ClassifierChain (multi-label only): label k's probability is its binary
// estimator's p(1); a chain's estimator i also sees what positions 0..i-1 passed on
// (chain_method_, by default their 0/1 predictions), as ClassifierChain._get_predictions.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include <fmt/core.h>

#include "docquant/pickle.h"
#include "docquant/setfit.h"

namespace docquant::setfit {
namespace {

using pickle::NDArray;
using pickle::Object;
using pickle::Value;

struct Version {
  int major = 0, minor = 0;
  bool known = false;
  bool at_least(int ma, int mi) const { return !known || major > ma || (major == ma && minor >= mi); }
};

Version parse_version(const std::string& s) {
  Version v;
  if (std::sscanf(s.c_str(), "%d.%d", &v.major, &v.minor) == 2) v.known = true;
  return v;
}

[[noreturn]] void bad(const std::string& source, const std::string& what) {
  throw InputError(source + ": " + what);
}

const Value& need(const Object& o, const char* attr, const std::string& source) {
  const Value* v = o.attr(attr);
  if (v == nullptr) bad(source, o.cls.name + " has no attribute '" + attr + "' (not fitted?)");
  return *v;
}

std::string str_attr(const Object& o, const char* attr) {
  const Value* v = o.attr(attr);
  return v != nullptr && v->is_str() ? v->as_str() : std::string();
}

std::vector<ClassValue> read_classes(const Value& v, const std::string& source) {
  if (!v.is_array()) bad(source, "classes_ is a " + v.type_name() + ", not an array");
  const NDArray& a = v.as_array();
  if (a.ndim() != 1) bad(source, "classes_ is not one-dimensional");
  std::vector<ClassValue> out(a.size());
  const bool text = a.is_text();
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (text) {
      out[i].is_text = true;
      out[i].text = a.as_text(i);
    } else if (a.dtype.kind == 'f') {
      const double d = a.as_double(i);
      if (d != std::floor(d) || std::abs(d) > 9e15) {
        bad(source, "classes_ holds a non-integer float label");
      }
      out[i].number = static_cast<std::int64_t>(d);
    } else {
      out[i].number = a.as_int(i);
    }
  }
  return out;
}

bool uses_ovr(const std::string& multi_class, const std::string& solver, std::size_t n_classes,
              const Version& v) {
  if (multi_class == "ovr" || multi_class == "warn") return true;
  if (multi_class == "multinomial") return false;
  // 'auto', 'deprecated'
  if (n_classes <= 2 || solver == "liblinear") return true;
  const bool newton_rule = v.known && v.at_least(1, 2) && !v.at_least(1, 6);
  return newton_rule && solver == "newton-cholesky";
}

// A NaN or infinite weight makes every probability NaN (classify would print "nan", eval
// count such rows as class 0): refused by name and position.
void check_finite(const std::vector<double>& values, std::size_t columns, const char* name,
                  const std::string& source) {
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (std::isfinite(values[i])) continue;
    const std::string at = columns > 0         ? fmt::format("[{}, {}]", i / columns, i % columns)
                           : values.size() > 1 ? fmt::format("[{}]", i)
                                               : "";
    bad(source, std::string(name) + at + " is " + (std::isnan(values[i]) ? "NaN" : "infinite") +
                    "; a head with non-finite parameters cannot give probabilities (retrain or re-save it)");
  }
}

Head::Linear read_logistic(const Object& lr, const std::string& source, std::size_t* width,
                           std::vector<ClassValue>* classes, std::string* multi_class,
                           std::string* solver, std::string* version_str) {
  const Value& coef_v = need(lr, "coef_", source);
  const Value& icpt_v = need(lr, "intercept_", source);
  if (!coef_v.is_array()) bad(source, "coef_ is a " + coef_v.type_name());
  const NDArray& coef = coef_v.as_array();
  if (coef.ndim() != 2 || coef.shape[0] == 0 || coef.shape[1] == 0) {
    bad(source, "coef_ is not a non-empty 2-d array");
  }
  Head::Linear m;
  m.rows = coef.shape[0];
  *width = coef.shape[1];
  m.coef = coef.to_doubles();
  if (icpt_v.is_array()) {
    m.intercept = icpt_v.as_array().to_doubles();
  } else {
    m.intercept.assign(m.rows, icpt_v.as_double());  // fit_intercept=False stores 0.0
  }
  check_finite(m.coef, *width, "coef_", source);
  check_finite(m.intercept, 0, "intercept_", source);
  if (m.intercept.size() != m.rows) {
    bad(source, "intercept_ has " + std::to_string(m.intercept.size()) + " values for " +
                    std::to_string(m.rows) + " rows of coef_");
  }
  *classes = read_classes(need(lr, "classes_", source), source);
  *multi_class = str_attr(lr, "multi_class");
  *solver = str_attr(lr, "solver");
  *version_str = str_attr(lr, "_sklearn_version");
  const Version v = parse_version(*version_str);
  const std::size_t n_classes = classes->size();
  if (n_classes < 2) bad(source, "LogisticRegression with fewer than two classes");
  if ((n_classes == 2 && m.rows != 1) || (n_classes > 2 && m.rows != n_classes)) {
    bad(source, "coef_ has " + std::to_string(m.rows) + " rows for " + std::to_string(n_classes) +
                    " classes");
  }
  if (v.known && v.at_least(1, 8)) {
    m.rule = n_classes <= 2 ? ProbaRule::binary_logistic : ProbaRule::softmax;
  } else if (uses_ovr(*multi_class, *solver, n_classes, v)) {
    m.rule = n_classes <= 2 ? ProbaRule::binary_logistic : ProbaRule::ovr_normalised;
  } else {
    m.rule = n_classes <= 2 ? ProbaRule::binary_softmax : ProbaRule::softmax;
  }
  return m;
}

double expit(double x) {
  if (x >= 0) return 1.0 / (1.0 + std::exp(-x));
  const double e = std::exp(x);
  return e / (1.0 + e);
}

// Probability of the positive class of a binary estimator (OneVsRest's e.predict_proba(X)[:, 1]).
double positive_probability(const Head::Linear& m, double d) {
  if (m.constant) return m.constant_value;
  if (m.rule == ProbaRule::binary_softmax) return expit(2.0 * d);  // softmax([-d, d])[1]
  return expit(d);
}

constexpr const char* kLogisticRegression = "sklearn.linear_model._logistic.LogisticRegression";

// One label's estimator inside MultiOutputClassifier / ClassifierChain: a binary
// LogisticRegression fitted on a 0/1 indicator column, reading `width` features.
Head::Linear read_label_estimator(const Value& e, const std::string& where, std::size_t width) {
  if (!e.is_object_of(kLogisticRegression)) {
    bad(where, "is a " + e.type_name() + "; only LogisticRegression estimators are read");
  }
  std::size_t w = 0;
  std::vector<ClassValue> classes;
  std::string mc, solver, ver;
  Head::Linear m = read_logistic(e.as_object(), where, &w, &classes, &mc, &solver, &ver);
  if (classes.size() != 2 || classes[0].is_text || classes[1].is_text || classes[0].number != 0 ||
      classes[1].number != 1) {
    std::string shown;
    for (const auto& c : classes) shown += (shown.empty() ? "" : ", ") + c.str();
    bad(where, "has classes [" + shown + "]; docquant reads multi-label heads whose targets are 0/1 indicators");
  }
  if (w != width) {
    bad(where, "reads " + std::to_string(w) + " features where " + std::to_string(width) + " were expected");
  }
  return m;
}

ChainMethod parse_chain_method(const std::string& s, const std::string& source) {
  if (s.empty() || s == "predict") return ChainMethod::predict;
  if (s == "predict_proba") return ChainMethod::predict_proba;
  if (s == "predict_log_proba") return ChainMethod::predict_log_proba;
  if (s == "decision_function") return ChainMethod::decision_function;
  bad(source, "ClassifierChain.chain_method_ '" + s + "' is not one docquant knows");
}

// What chain position i hands on to the positions after it, from its decision d.
double chain_feature(const Head::Linear& m, double d, ChainMethod method) {
  switch (method) {
    case ChainMethod::predict: return d > 0 ? 1.0 : 0.0;  // classes_ are [0, 1]
    case ChainMethod::predict_proba: return positive_probability(m, d);
    case ChainMethod::predict_log_proba: return std::log(positive_probability(m, d));
    case ChainMethod::decision_function: return d;
  }
  return d;
}

}  // namespace

const char* to_string(HeadKind kind) {
  switch (kind) {
    case HeadKind::logistic_regression: return "LogisticRegression";
    case HeadKind::one_vs_rest: return "OneVsRestClassifier(LogisticRegression)";
    case HeadKind::multi_output: return "MultiOutputClassifier(LogisticRegression)";
    case HeadKind::classifier_chain: return "ClassifierChain(LogisticRegression)";
    case HeadKind::setfit_head: return "SetFitHead (torch Linear)";
  }
  return "?";
}

const char* to_string(ProbaRule rule) {
  switch (rule) {
    case ProbaRule::binary_logistic: return "binary logistic (expit)";
    case ProbaRule::binary_softmax: return "binary multinomial (softmax of [-d, d])";
    case ProbaRule::ovr_normalised: return "one-vs-rest (expit, rows normalised)";
    case ProbaRule::softmax: return "multinomial (softmax)";
    case ProbaRule::ovr_independent: return "multi-label one-vs-rest (independent expit)";
    case ProbaRule::ovr_estimators: return "one-vs-rest estimators (rows normalised)";
    case ProbaRule::per_label: return "multi-label, one binary estimator per label (independent)";
    case ProbaRule::chain: return "multi-label classifier chain (each label sees the earlier ones)";
    case ProbaRule::setfit_softmax: return "softmax of logits / (temperature + eps)";
    case ProbaRule::setfit_sigmoid: return "multi-label, sigmoid of logits / (temperature + eps) per label";
  }
  return "?";
}

Head Head::load(const std::filesystem::path& file) {
  return from_value(*pickle::load_file(file), file.string());
}

Head Head::from_value(const Value& root, const std::string& source) {
  Head h;
  if (!root.is_object()) bad(source, "holds a " + root.type_name() + ", not a scikit-learn model");
  const Object& o = root.as_object();
  const std::string cls = o.cls.qualified();
  if (cls == "sklearn.linear_model._logistic.LogisticRegression") {
    h.kind_ = HeadKind::logistic_regression;
    h.models_.push_back(read_logistic(o, source, &h.width_, &h.classes_, &h.multi_class_,
                                      &h.solver_, &h.sklearn_version_));
    h.rule_ = h.models_[0].rule;
    const Version v = parse_version(h.sklearn_version_);
    h.zero_sum_uniform_ = v.known && v.at_least(1, 8);
    return h;
  }
  if (cls == "sklearn.multioutput.MultiOutputClassifier" || cls == "sklearn.multioutput.ClassifierChain") {
    return multi_target_from(o, source);
  }
  if (cls == "setfit.modeling.SetFitHead") return setfit_head_from(o, source);
  if (cls != "sklearn.multiclass.OneVsRestClassifier") {
    bad(source, "holds a " + cls + "; docquant reads LogisticRegression heads, OneVsRestClassifier, "
                "MultiOutputClassifier or ClassifierChain around LogisticRegression, and SetFitHead");
  }
  h.kind_ = HeadKind::one_vs_rest;
  h.sklearn_version_ = str_attr(o, "_sklearn_version");
  const Version v = parse_version(h.sklearn_version_);
  h.ties_to_last_ = !(v.known && v.at_least(1, 8));
  const Value& lb_v = need(o, "label_binarizer_", source);
  if (!lb_v.is_object_of("sklearn.preprocessing._label.LabelBinarizer")) {
    bad(source, "OneVsRestClassifier.label_binarizer_ is a " + lb_v.type_name());
  }
  const Object& lb = lb_v.as_object();
  const std::string y_type = str_attr(lb, "y_type_");
  h.classes_ = read_classes(need(lb, "classes_", source), source);
  h.multi_label_ = y_type.rfind("multilabel", 0) == 0;
  h.ovr_binary_ = y_type == "binary";
  if (!h.multi_label_ && y_type != "multiclass" && y_type != "binary") {
    bad(source, "OneVsRestClassifier label_binarizer_.y_type_ '" + y_type + "' is not supported");
  }
  const auto& ests = need(o, "estimators_", source).as_sequence();
  if (ests.empty()) bad(source, "OneVsRestClassifier has no estimators_");
  h.multilabel_threshold_ = 0.5;
  for (std::size_t i = 0; i < ests.size(); ++i) {
    const std::string where = source + ": estimators_[" + std::to_string(i) + "]";
    const Value& e = *ests[i];
    if (e.is_object_of("sklearn.multiclass._ConstantPredictor")) {
      Linear m;
      m.constant = true;
      const Value& y = need(e.as_object(), "y_", where);
      m.constant_value = y.is_array() ? y.as_array().as_double(0) : y.as_double();
      check_finite({m.constant_value}, 0, "y_", where);
      h.models_.push_back(std::move(m));
      continue;
    }
    if (!e.is_object_of("sklearn.linear_model._logistic.LogisticRegression")) {
      bad(where, "is a " + e.type_name() + "; only LogisticRegression estimators are read");
    }
    std::size_t width = 0;
    std::vector<ClassValue> sub_classes;
    std::string mc, solver, ver;
    Linear m = read_logistic(e.as_object(), where, &width, &sub_classes, &mc, &solver, &ver);
    if (m.rows != 1) bad(where, "is not a binary model");
    if (h.width_ != 0 && width != h.width_) bad(where, "has a different input width");
    h.width_ = width;
    if (i == 0) {
      h.multi_class_ = mc;
      h.solver_ = solver;
      h.multilabel_threshold_ = 0.0;  // LogisticRegression has decision_function
    }
    h.models_.push_back(std::move(m));
  }
  if (h.width_ == 0) bad(source, "OneVsRestClassifier has only constant estimators");
  const std::size_t expect = h.ovr_binary_ ? 1 : h.classes_.size();
  if (h.models_.size() != expect) {
    bad(source, "OneVsRestClassifier has " + std::to_string(h.models_.size()) +
                    " estimators for " + std::to_string(h.classes_.size()) + " classes");
  }
  h.rule_ = h.multi_label_ ? ProbaRule::ovr_independent : ProbaRule::ovr_estimators;
  return h;
}

Head Head::multi_target_from(const Object& o, const std::string& source) {
  Head h;
  const bool chain = o.cls.name == "ClassifierChain";
  h.kind_ = chain ? HeadKind::classifier_chain : HeadKind::multi_output;
  h.rule_ = chain ? ProbaRule::chain : ProbaRule::per_label;
  h.multi_label_ = true;
  h.sklearn_version_ = str_attr(o, "_sklearn_version");
  const auto& ests = need(o, "estimators_", source).as_sequence();
  if (ests.empty()) bad(source, o.cls.name + " has no estimators_");
  const std::size_t labels = ests.size();
  if (chain) {
    const Value& order_v = need(o, "order_", source);
    if (!order_v.is_array() || order_v.as_array().ndim() != 1 || order_v.as_array().size() != labels) {
      bad(source, "ClassifierChain.order_ is not one index per estimator");
    }
    std::vector<bool> seen(labels, false);
    for (std::size_t i = 0; i < labels; ++i) {
      const std::int64_t k = order_v.as_array().as_int(i);
      if (k < 0 || static_cast<std::size_t>(k) >= labels || seen[static_cast<std::size_t>(k)]) {
        bad(source, "ClassifierChain.order_ is not a permutation of 0.." + std::to_string(labels - 1));
      }
      seen[static_cast<std::size_t>(k)] = true;
      h.chain_order_.push_back(static_cast<std::size_t>(k));
    }
    h.chain_method_ = parse_chain_method(str_attr(o, "chain_method_"), source);
  }
  // Every estimator reads the embedding; a chain's estimator i also the i labels before it.
  const Value& first = *ests[0];
  if (!first.is_object_of(kLogisticRegression)) {
    bad(source + ": estimators_[0]", "is a " + first.type_name() + "; only LogisticRegression estimators are read");
  }
  const Value& coef0 = need(first.as_object(), "coef_", source + ": estimators_[0]");
  if (!coef0.is_array() || coef0.as_array().ndim() != 2) bad(source + ": estimators_[0]", "coef_ is not a 2-d array");
  h.width_ = coef0.as_array().shape[1];
  for (std::size_t i = 0; i < labels; ++i) {
    const std::string where = source + ": estimators_[" + std::to_string(i) + "]";
    h.models_.push_back(read_label_estimator(*ests[i], where, h.width_ + (chain ? i : 0)));
    if (i == 0) {
      h.multi_class_ = str_attr(ests[i]->as_object(), "multi_class");
      h.solver_ = str_attr(ests[i]->as_object(), "solver");
    }
  }
  for (std::size_t k = 0; k < labels; ++k) {
    ClassValue c;
    c.number = static_cast<std::int64_t>(k);
    h.classes_.push_back(c);
  }
  return h;
}

std::string Head::describe() const {
  std::string s = to_string(kind_);
  s += ", " + std::to_string(classes_.size()) + (multi_label_ ? " labels, " : " classes, ");
  s += to_string(rule_);
  if (kind_ == HeadKind::setfit_head) s += fmt::format(" (temperature + eps = {:g})", logit_divisor_);
  if (!sklearn_version_.empty()) s += ", written by scikit-learn " + sklearn_version_;
  return s;
}

void Head::check_dim(std::size_t dim) const {
  if (dim != width_) {
    throw InputError("embeddings have " + std::to_string(dim) + " values per row but the head expects " +
                     std::to_string(width_));
  }
}

std::vector<double> Head::decisions(const Linear& m, const float* emb, std::size_t n) const {
  std::vector<double> d(n * std::max<std::size_t>(m.rows, 1));
  if (m.constant) {
    std::fill(d.begin(), d.end(), m.constant_value);
    return d;
  }
  for (std::size_t r = 0; r < n; ++r) {
    const float* x = emb + r * width_;
    for (std::size_t k = 0; k < m.rows; ++k) {
      const double* w = m.coef.data() + k * width_;
      double acc = 0;
      for (std::size_t j = 0; j < width_; ++j) acc += static_cast<double>(x[j]) * w[j];
      d[r * m.rows + k] = acc + m.intercept[k];
    }
  }
  return d;
}

std::vector<double> Head::predict_proba(const float* emb, std::size_t n, std::size_t dim) const {
  check_dim(dim);
  const std::size_t C = classes_.size();
  if (kind_ == HeadKind::setfit_head) return setfit_head_proba(emb, n);
  std::vector<double> p(n * C);
  if (kind_ == HeadKind::multi_output || kind_ == HeadKind::classifier_chain) {
    const auto d = label_decisions(emb, n);
    for (std::size_t k = 0; k < C; ++k) {
      const Linear& m = label_model(k);
      for (std::size_t r = 0; r < n; ++r) p[r * C + k] = positive_probability(m, d[r * C + k]);
    }
    return p;
  }
  if (kind_ == HeadKind::logistic_regression) {
    const Linear& m = models_[0];
    const auto d = decisions(m, emb, n);
    for (std::size_t r = 0; r < n; ++r) {
      double* row = p.data() + r * C;
      const double* dr = d.data() + r * m.rows;
      switch (m.rule) {
        case ProbaRule::binary_logistic:
          row[1] = expit(dr[0]);
          row[0] = 1.0 - row[1];
          break;
        case ProbaRule::binary_softmax: {
          // softmax([-d, d]) computed as scikit-learn does: subtract the max, exp, divide.
          const double mx = std::max(-dr[0], dr[0]);
          const double e0 = std::exp(-dr[0] - mx), e1 = std::exp(dr[0] - mx);
          row[0] = e0 / (e0 + e1);
          row[1] = e1 / (e0 + e1);
          break;
        }
        case ProbaRule::ovr_normalised: {
          double sum = 0;
          for (std::size_t k = 0; k < C; ++k) sum += (row[k] = expit(dr[k]));
          if (sum == 0 && zero_sum_uniform_) {
            for (std::size_t k = 0; k < C; ++k) row[k] = 1.0 / static_cast<double>(C);
          } else {
            for (std::size_t k = 0; k < C; ++k) row[k] /= sum;
          }
          break;
        }
        default: {  // softmax
          double mx = -std::numeric_limits<double>::infinity();
          for (std::size_t k = 0; k < C; ++k) mx = std::max(mx, dr[k]);
          double sum = 0;
          for (std::size_t k = 0; k < C; ++k) sum += (row[k] = std::exp(dr[k] - mx));
          for (std::size_t k = 0; k < C; ++k) row[k] /= sum;
          break;
        }
      }
    }
    return p;
  }
  // OneVsRestClassifier: column k = estimator k's positive-class probability.
  if (ovr_binary_) {
    const auto d = decisions(models_[0], emb, n);
    for (std::size_t r = 0; r < n; ++r) {
      p[r * 2 + 1] = positive_probability(models_[0], d[r]);
      p[r * 2] = 1.0 - p[r * 2 + 1];
    }
    // Two columns from one estimator; sklearn still normalises single-label rows (sum is 1).
    return p;
  }
  for (std::size_t k = 0; k < models_.size(); ++k) {
    const auto d = decisions(models_[k], emb, n);
    for (std::size_t r = 0; r < n; ++r) p[r * C + k] = positive_probability(models_[k], d[r]);
  }
  if (!multi_label_) {
    for (std::size_t r = 0; r < n; ++r) {
      double sum = 0;
      for (std::size_t k = 0; k < C; ++k) sum += p[r * C + k];
      if (sum != 0) {
        for (std::size_t k = 0; k < C; ++k) p[r * C + k] /= sum;
      }
    }
  }
  return p;
}

std::vector<std::size_t> Head::predict(const float* emb, std::size_t n, std::size_t dim) const {
  check_dim(dim);
  if (multi_label_) {
    throw UsageError(std::string("the head is multi-label (") + to_string(kind_) +
                     ", fitted on label indicators): use predict_multilabel");
  }
  std::vector<std::size_t> out(n, 0);
  if (kind_ == HeadKind::logistic_regression || kind_ == HeadKind::setfit_head) {
    // SetFitHead: torch.argmax of the softmax = the first maximal logit.
    const Linear& m = models_[0];
    const auto d = decisions(m, emb, n);
    for (std::size_t r = 0; r < n; ++r) {
      if (m.rows == 1) {
        out[r] = d[r] > 0 ? 1 : 0;
      } else {
        const double* dr = d.data() + r * m.rows;
        out[r] = static_cast<std::size_t>(std::max_element(dr, dr + m.rows) - dr);  // first max
      }
    }
    return out;
  }
  if (ovr_binary_) {
    const auto d = decisions(models_[0], emb, n);
    const double t = models_[0].constant ? 0.5 : 0.0;
    for (std::size_t r = 0; r < n; ++r) out[r] = d[r] > t ? 1 : 0;
    return out;
  }
  // Running maximum over estimators' decision functions, as OneVsRestClassifier.predict.
  std::vector<double> best(n, -std::numeric_limits<double>::infinity());
  for (std::size_t i = 0; i < models_.size(); ++i) {
    const std::size_t k = ties_to_last_ ? i : models_.size() - 1 - i;
    const auto d = decisions(models_[k], emb, n);
    for (std::size_t r = 0; r < n; ++r) {
      best[r] = std::max(best[r], d[r]);
      if (best[r] == d[r]) out[r] = k;
    }
  }
  return out;
}

std::vector<std::uint8_t> Head::predict_multilabel(const float* emb, std::size_t n,
                                                   std::size_t dim) const {
  check_dim(dim);
  const std::size_t C = classes_.size();
  std::vector<std::uint8_t> out(n * C, 0);
  if (!multi_label_) {
    const auto idx = predict(emb, n, dim);
    for (std::size_t r = 0; r < n; ++r) out[r * C + idx[r]] = 1;
    return out;
  }
  if (kind_ == HeadKind::setfit_head) {
    // SetFitHead.predict: sigmoid(z) >= 0.5, i.e. z >= 0 (a tie goes to the label).
    const auto z = setfit_head_logits(emb, n);
    for (std::size_t i = 0; i < n * C; ++i) out[i] = z[i] >= 0 ? 1 : 0;
    return out;
  }
  if (kind_ == HeadKind::multi_output || kind_ == HeadKind::classifier_chain) {
    // LogisticRegression.predict: classes_[decision > 0], and classes_ are [0, 1].
    const auto d = label_decisions(emb, n);
    for (std::size_t i = 0; i < n * C; ++i) out[i] = d[i] > 0 ? 1 : 0;
    return out;
  }
  for (std::size_t k = 0; k < models_.size(); ++k) {
    const auto d = decisions(models_[k], emb, n);
    for (std::size_t r = 0; r < n; ++r) out[r * C + k] = d[r] > multilabel_threshold_ ? 1 : 0;
  }
  return out;
}

const Head::Linear& Head::label_model(std::size_t label) const {
  if (kind_ != HeadKind::classifier_chain) return models_[label];
  const auto pos = std::find(chain_order_.begin(), chain_order_.end(), label) - chain_order_.begin();
  return models_[static_cast<std::size_t>(pos)];
}

std::vector<double> Head::label_decisions(const float* emb, std::size_t n) const {
  const std::size_t C = classes_.size();
  std::vector<double> out(n * C);
  if (kind_ != HeadKind::classifier_chain) {
    for (std::size_t k = 0; k < C; ++k) {
      const auto d = decisions(models_[k], emb, n);
      for (std::size_t r = 0; r < n; ++r) out[r * C + k] = d[r];
    }
    return out;
  }
  // The chain, row by row: position i reads [x, f_0 … f_{i-1}] (numpy's hstack of float32 X
  // with float64 features, so in double) and its decision lands in column order_[i].
  std::vector<double> fed(C);
  for (std::size_t r = 0; r < n; ++r) {
    const float* x = emb + r * width_;
    for (std::size_t i = 0; i < C; ++i) {
      const Linear& m = models_[i];
      const double* w = m.coef.data();
      double acc = 0;
      for (std::size_t j = 0; j < width_; ++j) acc += static_cast<double>(x[j]) * w[j];
      for (std::size_t j = 0; j < i; ++j) acc += fed[j] * w[width_ + j];
      const double d = acc + m.intercept[0];
      out[r * C + chain_order_[i]] = d;
      fed[i] = chain_feature(m, d, chain_method_);
    }
  }
  return out;
}

}  // namespace docquant::setfit
