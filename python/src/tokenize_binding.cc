// docquant.tokenize's native half: the C++ tokenizer (docs/tokenizer.md), padded to the
// longest text as sentence-transformers pads.
#include <nanobind/stl/filesystem.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>

#include "bindings.h"
#include "docquant/tokenizer.h"

namespace docquant::python {

namespace {

// (input_ids, attention_mask), int64 [n, longest].
nb::tuple tokenize(const std::filesystem::path& folder, nb::handle texts, std::size_t max_length, int threads) {
  const std::vector<std::string> input = to_texts(texts);
  std::vector<std::int64_t> ids, mask;
  std::size_t width = 0;
  {
    nb::gil_scoped_release no_gil;
    TokenizerOptions o;
    o.padding = Padding::longest;
    if (max_length > 0) o.max_length = max_length;
    const Tokenizer tokenizer = Tokenizer::from_folder(folder, o);
    const std::vector<Encoding> encodings = tokenizer.encode_batch(input, threads);
    width = encodings.empty() ? 0 : encodings.front().input_ids.size();
    ids.reserve(encodings.size() * width);
    mask.reserve(encodings.size() * width);
    for (const auto& e : encodings) {
      ids.insert(ids.end(), e.input_ids.begin(), e.input_ids.end());
      mask.insert(mask.end(), e.attention_mask.begin(), e.attention_mask.end());
    }
  }
  const std::size_t n = input.size();
  return nb::make_tuple(to_numpy(std::move(ids), {n, width}), to_numpy(std::move(mask), {n, width}));
}

}  // namespace

void bind_tokenize(nb::module_& m) {
  m.def("tokenize", &tokenize, nb::arg("folder"), nb::arg("texts"), nb::arg("max_length"), nb::arg("threads"));
}

}  // namespace docquant::python
