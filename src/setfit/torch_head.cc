// SetFit's differentiable head, setfit.modeling.SetFitHead (setfit 0.6 and 1.x), as
// joblib.dump pickles it: an nn.Module whose state holds one torch Linear layer
// (_modules['linear'], its _parameters 'weight' [out_features, in_features] and 'bias') and
// SetFitHead's own fields. Its forward is, in both:
//     logits = linear(x) / (temperature + eps)
//     probs  = sigmoid(logits) if multitarget else softmax(logits, dim=-1)
// and predict is argmax(probs) (first maximum), or probs >= 0.5 per label when multitarget.
// Classes are the output positions 0..out_features-1 (setfit maps them to its labels).
// docquant computes in double from the float32 tensors; torch computes in float32, so the
// two differ at float32 rounding (well under 1e-6 on probabilities).
#include <algorithm>
#include <cmath>
#include <limits>

#include "docquant/pickle.h"
#include "docquant/setfit.h"

namespace docquant::setfit {
namespace {

using pickle::NDArray;
using pickle::Object;
using pickle::Value;

constexpr const char* kLinear = "torch.nn.modules.linear.Linear";

[[noreturn]] void bad(const std::string& source, const std::string& what) {
  throw InputError(source + ": SetFitHead " + what);
}

const Value& field(const Object& o, const char* name, const std::string& source, const std::string& where) {
  const Value* v = o.attr(name);
  if (v == nullptr) bad(source, where + "has no field '" + name + "'");
  return *v;
}

std::int64_t int_field(const Object& o, const char* name, const std::string& source, const std::string& where) {
  const Value& v = field(o, name, source, where);
  if (!v.is_int()) bad(source, where + "field '" + name + "' is a " + v.type_name() + ", not an int");
  return v.as_int();
}

double number_field(const Object& o, const char* name, const std::string& source) {
  const Value& v = field(o, name, source, "");
  if (!v.is_float() && !v.is_int()) bad(source, std::string("field '") + name + "' is a " + v.type_name() + ", not a number");
  const double d = v.as_double();
  if (!std::isfinite(d)) bad(source, std::string("field '") + name + "' is not finite");
  return d;
}

std::vector<double> finite_values(const NDArray& a, const std::string& source, const char* name) {
  std::vector<double> v = a.to_doubles();
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!std::isfinite(v[i])) {
      bad(source, std::string("linear.") + name + " element " + std::to_string(i) + " is " +
                      (std::isnan(v[i]) ? "NaN" : "infinite") + "; retrain or re-save the head");
    }
  }
  return v;
}

double expit(double x) {
  if (x >= 0) return 1.0 / (1.0 + std::exp(-x));
  const double e = std::exp(x);
  return e / (1.0 + e);
}

}  // namespace

Head Head::setfit_head_from(const Object& o, const std::string& source) {
  Head h;
  h.kind_ = HeadKind::setfit_head;
  const Value& modules = field(o, "_modules", source, "");
  if (!modules.is_dict()) bad(source, "field '_modules' is a " + modules.type_name() + ", not a dict");
  for (const auto& [k, v] : modules.as_dict().items) {
    if (!k->is_str() || k->as_str() != "linear") {
      bad(source, "has a module '" + (k->is_str() ? k->as_str().substr(0, 60) : k->type_name()) +
                      "' besides 'linear'; docquant reads SetFitHead's single Linear layer");
    }
  }
  const Value* linear_v = modules.as_dict().find("linear");
  if (linear_v == nullptr || !linear_v->is_object_of(kLinear)) {
    bad(source, "field '_modules' has no 'linear' torch.nn.Linear (found " +
                    (linear_v == nullptr ? std::string("none") : linear_v->type_name()) + ")");
  }
  const Object& linear = linear_v->as_object();
  const Value& params = field(linear, "_parameters", source, "linear ");
  if (!params.is_dict()) bad(source, "linear field '_parameters' is a " + params.type_name());
  const Value* weight_v = params.as_dict().find("weight");
  if (weight_v == nullptr || !weight_v->is_array() || weight_v->as_array().ndim() != 2) {
    bad(source, "linear.weight is not a 2-d float32 tensor");
  }
  const NDArray& weight = weight_v->as_array();
  const std::size_t out = weight.shape[0], in = weight.shape[1];
  if (out == 0 || in == 0) bad(source, "linear.weight is empty");

  const std::int64_t out_features = int_field(o, "out_features", source, "");
  const std::int64_t linear_out = int_field(linear, "out_features", source, "linear ");
  const std::int64_t linear_in = int_field(linear, "in_features", source, "linear ");
  if (out_features != static_cast<std::int64_t>(out) || linear_out != out_features ||
      linear_in != static_cast<std::int64_t>(in)) {
    bad(source, "field 'out_features' (" + std::to_string(out_features) + ") or linear in_features/out_features (" +
                    std::to_string(linear_in) + ", " + std::to_string(linear_out) + ") disagree with linear.weight of shape [" +
                    std::to_string(out) + ", " + std::to_string(in) + "]");
  }
  const Value* in_features = o.attr("in_features");  // None when the head was built lazily
  if (in_features != nullptr && !in_features->is_none() && in_features->as_int() != static_cast<std::int64_t>(in)) {
    bad(source, "field 'in_features' (" + std::to_string(in_features->as_int()) + ") disagrees with linear.weight's " +
                    std::to_string(in) + " columns");
  }

  Linear m;
  m.rows = out;
  m.coef = finite_values(weight, source, "weight");
  const Value* bias_v = params.as_dict().find("bias");
  if (bias_v != nullptr && !bias_v->is_none()) {
    if (!bias_v->is_array() || bias_v->as_array().ndim() != 1 || bias_v->as_array().size() != out) {
      bad(source, "linear.bias is not a float32 tensor of " + std::to_string(out) + " values");
    }
    m.intercept = finite_values(bias_v->as_array(), source, "bias");
  } else {
    m.intercept.assign(out, 0.0);  // bias=False
  }

  // Absent in heads from before setfit had multi-target heads: a softmax head.
  const Value* multitarget = o.attr("multitarget");
  h.multi_label_ = multitarget != nullptr && !multitarget->is_none() && multitarget->as_bool();
  const double temperature = number_field(o, "temperature", source);
  const double eps = number_field(o, "eps", source);
  h.logit_divisor_ = temperature + eps;
  if (h.logit_divisor_ == 0 || !std::isfinite(h.logit_divisor_)) {
    bad(source, "fields 'temperature' + 'eps' are " + std::to_string(h.logit_divisor_) + "; logits cannot be divided by it");
  }
  if (!h.multi_label_ && out < 2) bad(source, "has " + std::to_string(out) + " output for a softmax over classes");
  h.rule_ = h.multi_label_ ? ProbaRule::setfit_sigmoid : ProbaRule::setfit_softmax;
  h.width_ = in;
  m.rule = h.rule_;
  h.models_.push_back(std::move(m));
  for (std::size_t k = 0; k < out; ++k) {
    ClassValue c;
    c.number = static_cast<std::int64_t>(k);
    h.classes_.push_back(c);
  }
  return h;
}

std::vector<double> Head::setfit_head_logits(const float* emb, std::size_t n) const {
  std::vector<double> z = decisions(models_[0], emb, n);
  for (double& v : z) v /= logit_divisor_;
  return z;
}

std::vector<double> Head::setfit_head_proba(const float* emb, std::size_t n) const {
  const std::vector<double> z = setfit_head_logits(emb, n);
  const std::size_t classes = classes_.size();
  std::vector<double> p(z.size());
  if (multi_label_) {
    for (std::size_t i = 0; i < z.size(); ++i) p[i] = expit(z[i]);
    return p;
  }
  for (std::size_t r = 0; r < n; ++r) {
    const double* zr = z.data() + r * classes;
    double* row = p.data() + r * classes;
    const double mx = *std::max_element(zr, zr + classes);
    double sum = 0;
    for (std::size_t k = 0; k < classes; ++k) sum += (row[k] = std::exp(zr[k] - mx));
    for (std::size_t k = 0; k < classes; ++k) row[k] /= sum;
  }
  return p;
}

}  // namespace docquant::setfit
