#pragma once
// Small text helpers shared by the CSV reader, the tokenizer and the CLI.
#include <cstddef>
#include <optional>
#include <string_view>

namespace docquant {

// The longest text docquant reads, in UTF-8 bytes: a CSV field, a line of a text file, a str
// handed to the Python package. Far beyond any sentence, well short of exhausting memory.
inline constexpr std::size_t kMaxTextBytes = 32u << 20;  // 32 MiB

// Byte offset of the first invalid UTF-8 sequence in `s` (overlong forms,
// surrogates and code points above U+10FFFF are invalid), or nullopt if valid.
std::optional<std::size_t> find_invalid_utf8(std::string_view s) noexcept;

// `s` cut to at most `max_bytes` bytes on a UTF-8 character boundary;
// for quoting user text in messages.
std::string_view utf8_prefix(std::string_view s, std::size_t max_bytes) noexcept;

}  // namespace docquant
