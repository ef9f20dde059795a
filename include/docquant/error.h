#pragma once
// The errors docquant's library throws. Library code never prints and never
// exits: it throws one of these with a message that names what went wrong and
// where (file, row, field, node). The CLI catches them once, prints the message
// and exits with the kind's exit code (docs/errors.md lists them).
#include <stdexcept>
#include <string>

namespace docquant {

enum class ErrorKind {
  usage,              // the command line is wrong
  input,              // an input file or folder is missing, unreadable or malformed
  output,             // the output cannot be written (exists, not writable, disk full)
  criterion_not_met,  // tuning found no configuration meeting the accuracy criterion
  interrupted,        // SIGINT/SIGTERM
  internal,           // a bug in docquant or a failure inside a library it calls
};

// Process exit code for each kind; stable, documented in docs/errors.md.
constexpr int exit_code(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::usage: return 2;
    case ErrorKind::input: return 3;
    case ErrorKind::output: return 4;
    case ErrorKind::criterion_not_met: return 5;
    case ErrorKind::interrupted: return 130;
    case ErrorKind::internal: return 70;
  }
  return 70;
}

constexpr const char* to_string(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::usage: return "usage error";
    case ErrorKind::input: return "input error";
    case ErrorKind::output: return "output error";
    case ErrorKind::criterion_not_met: return "accuracy criterion not met";
    case ErrorKind::interrupted: return "interrupted";
    case ErrorKind::internal: return "internal error";
  }
  return "internal error";
}

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

// Convenience subclasses so call sites read as what happened.
struct UsageError : Error {
  explicit UsageError(const std::string& m) : Error(ErrorKind::usage, m) {}
};
struct InputError : Error {
  explicit InputError(const std::string& m) : Error(ErrorKind::input, m) {}
};
struct OutputError : Error {
  explicit OutputError(const std::string& m) : Error(ErrorKind::output, m) {}
};
struct CriterionNotMetError : Error {
  explicit CriterionNotMetError(const std::string& m) : Error(ErrorKind::criterion_not_met, m) {}
};
struct InternalError : Error {
  explicit InternalError(const std::string& m) : Error(ErrorKind::internal, m) {}
};

}  // namespace docquant
