#pragma once
// One output file (classify's predictions, eval's and bench's --json) that appears whole or
// not at all, without ever replacing something that is not a regular file:
//  - an existing FIFO, character or block device or socket (also through a link, e.g.
//    /dev/stdout, /proc/self/fd/1, a shell's >(cmd)) is written in place as a stream: no
//    temporary file, no rename; what was written before an error stays written, as with "-";
//  - otherwise the bytes go to a temporary file beside the target, created exclusively
//    under a random name (O_CREAT|O_EXCL|O_NOFOLLOW: a link planted at a predictable name
//    is never followed), and commit() renames it over the target. A target that is a
//    link to a regular file is resolved first, so the link stays and its file is replaced.
// An uncommitted temporary file is removed by the destructor.
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

namespace docquant {

// Creates a new file `dir`/`prefix`<random> exclusively (never through a link), mode 0666
// minus the umask; returns its descriptor and sets `path`. Returns -1 with errno set
// when it cannot (after a few names that already exist, EEXIST).
int create_exclusive_file(const std::filesystem::path& dir, const std::string& prefix, std::filesystem::path& path);

class OutputFile {
 public:
  // Opens `target` (named `name` in errors). Throws OutputError "<name>: cannot write: <reason>".
  OutputFile(const std::filesystem::path& target, std::string name);
  // Standard output, as a stream (named "<stdout>").
  OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  ~OutputFile();

  // True when bytes go straight to the target (stdout, a FIFO, a device).
  bool is_stream() const { return stream_; }
  // Appends bytes. Throws OutputError "<name>: cannot write: <reason>".
  void write(std::string_view bytes);
  // Flushes and, for a staged file, renames it over the target. Throws OutputError
  // "<name>: cannot write: …" or "<name>: cannot move the finished file into place: …".
  void commit();

 private:
  [[noreturn]] void fail(int error) const;
  void discard();

  std::string name_;
  std::filesystem::path target_, temp_;
  int fd_ = -1;
  bool stream_ = false;
  bool owns_fd_ = false;
};

}  // namespace docquant
