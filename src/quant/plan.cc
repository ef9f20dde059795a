#include "plan.h"

namespace docquant::quant {

namespace {
constexpr ActivationScheme kSchemes[] = {ActivationScheme::per_tensor, ActivationScheme::per_token,
                                         ActivationScheme::static_per_tensor};
}  // namespace

std::string_view to_string(ActivationScheme scheme) noexcept {
  switch (scheme) {
    case ActivationScheme::per_token: return "per_token";
    case ActivationScheme::static_per_tensor: return "static";
    case ActivationScheme::per_tensor: break;
  }
  return "per_tensor";
}

std::optional<ActivationScheme> parse_activation_scheme(std::string_view name) noexcept {
  for (ActivationScheme s : kSchemes) {
    if (name == to_string(s)) return s;
  }
  return std::nullopt;
}

}  // namespace docquant::quant
