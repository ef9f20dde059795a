#pragma once
// File helpers: hashing and copying inputs into an output folder.
#include <filesystem>
#include <string>

namespace docquant {

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
