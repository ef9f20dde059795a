#pragma once
// One output file (classify's predictions, eval's and bench's --json, a baseline cache entry)
// that appears whole or not at all, is never an input, and never replaces something that is
// not a regular file -- the file counterpart of StagedFolder (staged_folder.h):
//  - check_target() refuses, before any work, an output that is an input or lies in an input
//    folder, a folder, or a file in a folder that does not exist;
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
#include <vector>

namespace docquant {

// The first of `inputs` that writing `output` (a file or a folder) would overwrite or write
// into: the same file or folder (also through links, or a hard link), a folder `output` lies
// in, or a file or folder that lies inside `output`. nullptr when there is none. Empty
// paths in `inputs` are ignored.
const std::filesystem::path* overlapping_input(const std::filesystem::path& output,
                                               const std::vector<std::filesystem::path>& inputs);

// Creates a new file `dir`/`prefix`<random> exclusively (never through a link), mode 0666
// minus the umask; returns its descriptor and sets `path`. Returns -1 with errno set
// when it cannot (after a few names that already exist, EEXIST).
int create_exclusive_file(const std::filesystem::path& dir, const std::string& prefix, std::filesystem::path& path);

class StagedFile {
 public:
  // Throws OutputError, creating nothing, when `target` -- given on the command line as
  // `option` (e.g. "--json") -- cannot be that output: "<target>: <option> would overwrite
  // or write into the input '<input>'; choose another file", "<target>: <option> names a
  // folder, not a file" or "<target>: <option>: folder '<folder>' does not exist". Run it
  // before the work whose result goes there, so that a typo fails at once.
  static void check_target(const std::filesystem::path& target, std::string_view option,
                           const std::vector<std::filesystem::path>& inputs);

  // Opens `target` (named as given in errors). Throws OutputError "<target>: cannot write:
  // <reason>".
  explicit StagedFile(const std::filesystem::path& target);
  // Standard output, as a stream (named "<stdout>").
  StagedFile();
  StagedFile(const StagedFile&) = delete;
  StagedFile& operator=(const StagedFile&) = delete;
  ~StagedFile();

  // True when bytes go straight to the target (stdout, a FIFO, a device).
  bool is_stream() const { return stream_; }
  // True when the target is a pipe, FIFO or socket whose reader has gone (`| head -1`
  // exited): writing more would only end in SIGPIPE, so a long job can stop now.
  bool reader_gone() const;
  // Appends bytes. Throws OutputError "<target>: cannot write: <reason>".
  void write(std::string_view bytes);
  // Flushes and, for a staged file, renames it over the target. Throws OutputError
  // "<target>: cannot write: …" or "<target>: cannot move the finished file into place: …".
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

// `bytes` as the whole content of `target`, through a StagedFile.
void write_staged_file(const std::filesystem::path& target, std::string_view bytes);

}  // namespace docquant
