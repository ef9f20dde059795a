#pragma once
// Text decoding the pickle opcodes need (UTF-8 output, Python escape syntaxes).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace docquant::pickle::detail {

// Appends the UTF-8 encoding of a code point (invalid ones become U+FFFD).
void append_utf8(std::string& out, std::uint32_t code_point);

// Bytes read as Latin-1, re-encoded as UTF-8.
std::string latin1_to_utf8(std::string_view bytes);

// UTF-8 text whose code points are all < 256, turned back into those bytes (what
// `_codecs.encode(s, "latin1")` does); nullopt when a code point is >= 256 or the UTF-8 is bad.
std::optional<std::string> utf8_to_latin1(std::string_view text);

// Protocol 0 STRING argument: a Python 2 repr literal, quoted with ' or ". nullopt if malformed.
std::optional<std::string> decode_string_literal(std::string_view quoted);

// Protocol 0 UNICODE argument: raw-unicode-escape (\uXXXX, \UXXXXXXXX, other bytes Latin-1).
std::optional<std::string> decode_raw_unicode_escape(std::string_view raw);

}  // namespace docquant::pickle::detail
