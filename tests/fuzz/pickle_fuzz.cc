// libFuzzer target for the pickle reader and the head built from what it reads.
// Any input must end in a value or a docquant::InputError: no crash, no sanitizer report, no
// allocation past the reader's budget (libFuzzer's -rss_limit_mb / -malloc_limit_mb catch it).
//
// Built by CMake with -DDOCQUANT_FUZZ=ON and run by scripts/fuzz.sh (docs/fuzzing.md).
// Seeds: the real model_head.pkl files and the heads tools/golden_heads.py writes.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "docquant/pickle.h"
#include "docquant/setfit.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace pk = docquant::pickle;
  pk::LoadOptions options;
  options.max_decompressed_bytes = std::size_t{8} << 20;
  try {
    std::vector<std::uint8_t> bytes(data, data + size);
    bytes = pk::decompress_joblib(std::move(bytes), "fuzz.pkl", options.max_decompressed_bytes);
    const pk::ValuePtr v = pk::parse(bytes, "fuzz.pkl", options);
    (void)v->type_name();
    const auto head = docquant::setfit::Head::from_value(*v, "fuzz.pkl");
    if (head.input_width() <= 4096) {
      std::vector<float> emb(2 * head.input_width(), 0.5f);
      (void)head.predict_proba(emb.data(), 2, head.input_width());
      if (head.multi_label()) {
        (void)head.predict_multilabel(emb.data(), 2, head.input_width());
      } else {
        (void)head.predict(emb.data(), 2, head.input_width());
      }
    }
  } catch (const docquant::Error&) {
    // Refusals are the expected outcome for most inputs.
  }
  return 0;
}
