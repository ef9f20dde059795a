// libFuzzer target for the CSV reader (src/common/csv.h): header, column lookup and every
// record of arbitrary bytes. Allowed outcomes: records, or a docquant::Error (bad CSV is
// InputError). Anything else escaping — std::out_of_range, std::bad_alloc, a sanitizer
// report — is a bug (docs/fuzzing.md).
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "csv.h"
#include "docquant/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // The first byte picks a field limit, so the over-limit refusal is reached with small inputs
  // as well as the default (32 MiB, beyond libFuzzer's -max_len).
  docquant::CsvOptions options;
  if (size > 0 && (data[0] & 1) != 0) options.max_field_bytes = 64;
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  try {
    docquant::CsvReader reader(in, "fuzz.csv", options);
    std::size_t width = reader.header().size();
    try {
      const std::size_t text = reader.column("text");
      const std::size_t label = reader.column("label");
      if (text >= width || label >= width) __builtin_trap();  // column() must index the header
    } catch (const docquant::Error&) {
      // A missing column is refused; keep reading the records regardless.
    }
    docquant::CsvRecord record;
    std::size_t last_line = 0;
    while (reader.next(record)) {
      // Every record has the header's width and starts on a later line than the one before.
      if (record.fields.size() != width || record.line <= last_line) __builtin_trap();
      last_line = record.line;
    }
  } catch (const docquant::Error&) {
  }
  return 0;
}
