#pragma once
// Reads the original pipeline's Intel Neural Compressor 1.x YAML into QuantizeOptions.
// Every key is checked: an unknown key or an unsupported value is an error naming
// the key, never silently ignored.
#include <filesystem>

#include "docquant/quantize.h"

namespace docquant::tune {

// Accepted (the INC 1.x schema, restricted to what dynamic INT8 quantization means):
//   version: <any>
//   model: {name: <string>, framework: onnxrt_integerops | onnxrt_qlinearops | onnxrt_qdq}
//   device: cpu
//   quantization: {approach: post_training_dynamic_quant | post_training_static_quant (--approach static)}
//   tuning:
//     accuracy_criterion: {relative: <0..1> | absolute: <>=0>, higher_is_better: <bool>}
//     exit_policy: {timeout: <seconds, 0 = stop at the first passing configuration>, max_trials: <int>}
//     random_seed: <int>
//     strategy: {name: basic | sensitivity}
// Throws InputError naming the file and key.
void apply_inc_yaml(const std::filesystem::path& file, QuantizeOptions& options);

}  // namespace docquant::tune
