#pragma once
// Long texts, slice by slice. A text of megabytes gives the model at most max_length ids, but
// the whole-text pipeline holds a piece for every word and an id for every token before
// truncation (1.2 GB for a 30 MB CSV cell). Here the text is cut into slices of about
// kSliceBytes at proven cuts and each slice runs through the pipeline on its own, stopping
// once `room` ids exist. A cut is kept only when every stage provably treats it as a
// boundary (docs/tokenizer.md, "Long texts"): the ids are the whole text's, never
// approximated. Where no cut can be proven the slices grow until one can, up to the whole
// text.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer_json.h"

namespace docquant::tokenizer {

// What sentence-transformers does to a text before its tokenizer sees it (tokenizer.h).
struct TextPreparation {
  const std::string* prompt = nullptr;  // prepended, when set
  bool strip = false;                   // str.strip() of prompt + text
  bool lower = false;                   // then str.lower()
};

// The length of a slice (and so the memory of tokenizing one text, times a small factor):
// 16 KiB. Texts of at least twice that are sliced. Tests shorten it to put cuts inside
// ordinary texts (tests/tokenizer/golden_test.cc, GoldenSliced).
std::size_t slice_bytes();
void set_slice_bytes_for_testing(std::size_t bytes);

// Cuts proven and refused since the process started (all threads), for tests: a sliced path
// that never cuts would pass every golden while proving nothing.
struct CutCounts {
  std::size_t proven = 0, refused = 0;
};
CutCounts cut_counts();

// The first `room` ids the model gives for `text` (before truncation and post-processing:
// the caller does both), identical to tokenizing the whole prepared text. Nothing when the
// text is too short to slice or has no candidate cut (an ASCII space between two ASCII
// letters or digits after the first slice): the caller then tokenizes it whole.
std::optional<std::vector<int64_t>> encode_sliced(const Pipeline& pipeline, const TextPreparation& prep,
                                                  std::string_view text, std::size_t room);

}  // namespace docquant::tokenizer
