#pragma once
// File helpers: hashing and copying inputs into an output folder.
#include <filesystem>
#include <string>

namespace docquant {

// What is at the input path `path`, following links: not_found when nothing is there (also
// when a folder on the way is a file). Throws InputError "<path>: <reason>" when that cannot
// be told (a link loop, a name too long, a folder on the way that cannot be searched).
std::filesystem::file_type input_path_type(const std::filesystem::path& path);

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
