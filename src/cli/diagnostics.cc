#include "diagnostics.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "option_limits.h"

namespace docquant::cli {

namespace {
bool stdout_closed = false;
}  // namespace

void open_standard_streams() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    // open() returns the lowest free descriptor: this one.
    const int opened = ::open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
    if (opened != fd && opened >= 0) ::close(opened);
    if (fd == 1) stdout_closed = true;
  }
}

bool standard_output_was_closed() { return stdout_closed; }

void write_quietly(std::FILE* out, std::string_view text) {
  if (!text.empty() && std::fwrite(text.data(), 1, text.size(), out) != text.size()) std::clearerr(out);
  if (std::fflush(out) != 0) std::clearerr(out);
}

void say(std::string_view line) {
  std::string text(line);
  text += '\n';
  write_quietly(stderr, text);
}

void note_threads(int threads) {
  if (auto note = threads_note(threads, "--threads")) say("docquant: note: " + *note);
}

}  // namespace docquant::cli
