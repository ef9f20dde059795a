#include "plan.h"

namespace docquant::quant {

std::string_view to_string(ActivationScheme scheme) noexcept {
  return scheme == ActivationScheme::per_token ? "per_token" : "per_tensor";
}

std::optional<ActivationScheme> parse_activation_scheme(std::string_view name) noexcept {
  if (name == "per_token") return ActivationScheme::per_token;
  if (name == "per_tensor") return ActivationScheme::per_tensor;
  return std::nullopt;
}

}  // namespace docquant::quant
