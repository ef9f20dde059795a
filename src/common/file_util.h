#pragma once
// File helpers: hashing and copying inputs into an output folder.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace docquant {

// What is at the input path `path`, following links: not_found when nothing is there (also
// when a folder on the way is a file). Throws InputError "<path>: <reason>" when that cannot
// be told (a link loop, a name too long, a folder on the way that cannot be searched).
std::filesystem::file_type input_path_type(const std::filesystem::path& path);

// Opens an input that must be a regular file, for reading: without blocking (opening a FIFO
// planted in a model folder waits for a writer forever) and checked on the descriptor, so
// nothing can be swapped in between. Throws InputError "<file>: is a folder, not a file",
// "<file>: is a FIFO (named pipe), not a regular file; <what> is read only from regular
// files" (also a device, a socket), "<file>: no such file", "<file>: cannot open: <reason>",
// or "<file>: N bytes, more than the M-byte limit for <what>" when it is larger than
// `max_bytes`. Returns the descriptor (the caller closes it) and sets `size`.
int open_regular_file(const std::filesystem::path& file, std::uintmax_t max_bytes, std::string_view what,
                      std::uintmax_t& size);

// The whole content of such a file (open_regular_file's checks and errors).
std::string read_regular_file(const std::filesystem::path& file, std::uintmax_t max_bytes, std::string_view what);

// The largest configuration file docquant reads (tokenizer.json, vocab.txt, the JSON configs
// of a SetFit folder): the largest real tokenizer.json seen is ~35 MB (Gemma's); /dev/zero
// linked as modules.json was read until memory ran out (4.2 GB, issue 29).
inline constexpr std::uintmax_t kMaxConfigBytes = std::uintmax_t{256} << 20;

// Lower-case hex sha256 of a file's bytes. Throws InputError when unreadable.
std::string sha256_file(const std::filesystem::path& file);
// Lower-case hex sha256 of bytes.
std::string sha256_bytes(const std::string& bytes);

// Copies `from` to `to` (a new file), preserving bytes; throws OutputError
// (disk full, not writable) naming `to`.
void copy_file_checked(const std::filesystem::path& from, const std::filesystem::path& to);

// Writes `bytes` to a new file `to`, checking every step; throws OutputError.
void write_file_checked(const std::filesystem::path& to, const std::string& bytes);

}  // namespace docquant
