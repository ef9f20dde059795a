#pragma once
// What the CLI tells its user on stderr: messages that can never become an error of their own.
// A closed stderr (`2>&-`) or a full one (`2>/dev/full`) must not turn an input error into an
// abort (issue 29: the error printer threw inside main's handler, exit 134 instead of 3), nor
// stop a quantize run at its first progress line.
#include <cstdio>
#include <string_view>

namespace docquant::cli {

// Before anything opens a file: each of stdin, stdout, stderr that is closed is opened on
// /dev/null, so that no file docquant opens later gets descriptor 0, 1 or 2 (its messages or
// predictions would go into it). Remembers which were closed.
void open_standard_streams();
// True when stdout was closed when docquant started (`>&-`): `--output -` has nowhere to go.
bool standard_output_was_closed();

// Writes `text` to `out` and flushes; a failed write is ignored (there is nowhere left to
// report it).
void write_quietly(std::FILE* out, std::string_view text);
// `line` and a newline on stderr, quietly.
void say(std::string_view line);

// "docquant: note: …" when `threads` is more than the logical cores (allowed, rarely useful).
void note_threads(int threads);

}  // namespace docquant::cli
