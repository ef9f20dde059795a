// sentence_transformers.models.Pooling and Normalize, on plain float buffers.
#include <algorithm>
#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

#include "docquant/setfit.h"
#include "json_file.h"

namespace docquant::setfit {
namespace {

// sentence-transformers' concatenation order and the config keys that switch each mode on.
struct ModeKey {
  PoolingMode mode;
  const char* key;
};
constexpr ModeKey kModeKeys[] = {
    {PoolingMode::cls, "pooling_mode_cls_token"},
    {PoolingMode::max, "pooling_mode_max_tokens"},
    {PoolingMode::mean, "pooling_mode_mean_tokens"},
    {PoolingMode::mean_sqrt_len, "pooling_mode_mean_sqrt_len_tokens"},
    {PoolingMode::weighted_mean, "pooling_mode_weightedmean_tokens"},
    {PoolingMode::last_token, "pooling_mode_lasttoken"},
};

// A pooling_mode_* key docquant does not know, switched on, would change the embedding in a
// way docquant does not compute: refused by name (sentence-transformers' Pooling(**config)
// itself fails on any key it does not know). Off or null, it changes nothing.
void refuse_unknown_modes(const nlohmann::json& j, const std::filesystem::path& file) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key().rfind("pooling_mode_", 0) != 0) continue;
    bool known = false;
    for (const auto& mk : kModeKeys) known = known || it.key() == mk.key;
    if (known || it->is_null() || (it->is_boolean() && !it->get<bool>())) continue;
    std::string list;
    for (const auto& mk : kModeKeys) list += std::string(list.empty() ? "" : ", ") + mk.key;
    throw InputError(file.string() + ": field '" + it.key() + "' is not a pooling mode docquant implements (" +
                     list + ")");
  }
}

}  // namespace

const char* to_string(PoolingMode mode) {
  switch (mode) {
    case PoolingMode::cls: return "cls";
    case PoolingMode::max: return "max";
    case PoolingMode::mean: return "mean";
    case PoolingMode::mean_sqrt_len: return "mean_sqrt_len";
    case PoolingMode::weighted_mean: return "weightedmean";
    case PoolingMode::last_token: return "lasttoken";
  }
  return "?";
}

std::string Pooling::describe() const {
  std::string s;
  for (PoolingMode m : modes) {
    if (!s.empty()) s += "+";
    s += to_string(m);
  }
  return s.empty() ? "none" : s;
}

Pooling Pooling::from_config(const std::filesystem::path& file) {
  const nlohmann::json j = read_json_file(file);
  if (!j.is_object()) throw InputError(file.string() + ": expected a JSON object");
  Pooling p;
  auto dim = j.find("word_embedding_dimension");
  if (dim == j.end() || !dim->is_number_unsigned() || dim->get<std::size_t>() == 0) {
    throw InputError(file.string() + ": field 'word_embedding_dimension' is missing or not a "
                     "positive integer");
  }
  p.word_embedding_dimension = dim->get<std::size_t>();
  refuse_unknown_modes(j, file);
  // Newer configs may name the mode in one string field instead of the booleans.
  if (auto pm = j.find("pooling_mode"); pm != j.end() && pm->is_string()) {
    const std::string name = pm->get<std::string>();
    bool found = false;
    for (const auto& mk : kModeKeys) {
      if (name == to_string(mk.mode) || (name == "mean_sqrt_len_tokens" && mk.mode == PoolingMode::mean_sqrt_len)) {
        p.modes.push_back(mk.mode);
        found = true;
      }
    }
    if (!found) throw InputError(file.string() + ": field 'pooling_mode' has unknown value '" + name + "'");
  } else {
    for (const auto& mk : kModeKeys) {
      auto it = j.find(mk.key);
      if (it == j.end() || it->is_null()) continue;
      if (!it->is_boolean()) throw InputError(file.string() + ": field '" + mk.key + "' is not a boolean");
      if (it->get<bool>()) p.modes.push_back(mk.mode);
    }
  }
  if (p.modes.empty()) throw InputError(file.string() + ": no pooling mode is switched on");
  if (auto ip = j.find("include_prompt"); ip != j.end() && !ip->is_null()) {
    if (!ip->is_boolean()) throw InputError(file.string() + ": field 'include_prompt' is not a boolean");
    p.include_prompt = ip->get<bool>();
  }
  return p;
}

std::vector<float> pool(const Pooling& pooling, const float* tokens, const std::int64_t* mask,
                        std::size_t batch, std::size_t seq, std::size_t hidden) {
  if (hidden != pooling.word_embedding_dimension) {
    throw InputError("the ONNX model's token embeddings have width " + std::to_string(hidden) +
                     " but the SetFit folder's 1_Pooling/config.json word_embedding_dimension is " +
                     std::to_string(pooling.word_embedding_dimension) +
                     "; the ONNX model and the SetFit folder come from different models");
  }
  const std::size_t out_dim = pooling.output_dimension();
  std::vector<float> out(batch * out_dim);
  std::vector<double> acc(hidden);
  for (std::size_t b = 0; b < batch; ++b) {
    const float* t = tokens + b * seq * hidden;
    const std::int64_t* m = mask + b * seq;
    float* o = out.data() + b * out_dim;
    for (PoolingMode mode : pooling.modes) {
      switch (mode) {
        case PoolingMode::cls:
          if (seq > 0) std::copy(t, t + hidden, o);
          break;
        case PoolingMode::max:
          // Padding positions are set to -1e9 before the max, as sentence-transformers does.
          for (std::size_t h = 0; h < hidden; ++h) {
            float best = -std::numeric_limits<float>::infinity();
            for (std::size_t s = 0; s < seq; ++s) {
              const float v = m[s] == 0 ? -1e9f : t[s * hidden + h];
              best = std::max(best, v);
            }
            o[h] = best;
          }
          break;
        case PoolingMode::mean:
        case PoolingMode::mean_sqrt_len:
        case PoolingMode::weighted_mean: {
          // sum(tokens * mask * w) / clamp(sum(mask * w), 1e-9), w = position (1-based) for
          // weightedmean and 1 otherwise; mean_sqrt_len divides by sqrt of the mask sum.
          std::fill(acc.begin(), acc.end(), 0.0);
          double wsum = 0;
          for (std::size_t s = 0; s < seq; ++s) {
            const double w = static_cast<double>(m[s]) *
                             (mode == PoolingMode::weighted_mean ? static_cast<double>(s + 1) : 1.0);
            if (w == 0) continue;
            wsum += w;
            for (std::size_t h = 0; h < hidden; ++h) acc[h] += w * t[s * hidden + h];
          }
          const double denom = mode == PoolingMode::mean_sqrt_len
                                   ? std::sqrt(std::max(wsum, 1e-9))
                                   : std::max(wsum, 1e-9);
          for (std::size_t h = 0; h < hidden; ++h) o[h] = static_cast<float>(acc[h] / denom);
          break;
        }
        case PoolingMode::last_token: {
          // The last position whose mask is non-zero; position 0 when the mask is all zero
          // (sentence-transformers: flip, max, seq_len - index - 1).
          std::size_t last = 0;
          for (std::size_t s = seq; s-- > 0;) {
            if (m[s] != 0) {
              last = s;
              break;
            }
          }
          if (seq > 0) std::copy(t + last * hidden, t + (last + 1) * hidden, o);
          break;
        }
      }
      o += hidden;
    }
  }
  return out;
}

void normalize_rows(float* rows, std::size_t n, std::size_t dim) {
  for (std::size_t r = 0; r < n; ++r) {
    float* x = rows + r * dim;
    double ss = 0;
    for (std::size_t k = 0; k < dim; ++k) ss += static_cast<double>(x[k]) * x[k];
    const double norm = std::max(std::sqrt(ss), 1e-12);
    for (std::size_t k = 0; k < dim; ++k) x[k] = static_cast<float>(x[k] / norm);
  }
}

}  // namespace docquant::setfit
