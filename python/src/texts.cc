#include <fmt/core.h>

#include <string_view>

#include "bindings.h"
#include "docquant/error.h"
#include "text_util.h"

namespace docquant::python {

namespace {

// "int 3", "NoneType None": what a caller passed, for messages (repr cut to 80 characters).
std::string describe(nb::handle item) {
  const std::string repr = nb::repr(item).c_str();
  const std::string_view cut = utf8_prefix(repr, 80);
  return fmt::format("{} {}{}", Py_TYPE(item.ptr())->tp_name, cut, cut.size() < repr.size() ? "..." : "");
}

std::string not_str(Py_ssize_t index, nb::handle item) {
  std::string m = fmt::format("texts[{}] is {}, not str: pass every text as a str", index, describe(item));
  if (item.is_none() || PyFloat_Check(item.ptr())) m += " (a missing value? drop or fill those first)";
  if (PyBytes_Check(item.ptr())) m += " (decode bytes first: docquant reads UTF-8)";
  return m;
}

}  // namespace

std::vector<std::string> to_texts(nb::handle texts, std::size_t first_index) {
  if (!PyList_Check(texts.ptr()) && !PyTuple_Check(texts.ptr())) {
    throw UsageError("texts must be a str or a list/tuple/numpy array of str");
  }
  // PySequence_Fast on a list or tuple returns it (a new reference): no copy.
  nb::object seq = nb::steal(PySequence_Fast(texts.ptr(), "texts must be a sequence"));
  if (!seq.is_valid()) throw nb::python_error();
  const Py_ssize_t n = PySequence_Fast_GET_SIZE(seq.ptr());
  PyObject** items = PySequence_Fast_ITEMS(seq.ptr());
  std::vector<std::string> out;
  out.reserve(static_cast<std::size_t>(n));
  for (Py_ssize_t i = 0; i < n; ++i) {
    const Py_ssize_t index = static_cast<Py_ssize_t>(first_index) + i;
    if (!PyUnicode_Check(items[i])) throw UsageError(not_str(index, items[i]));
    Py_ssize_t size = 0;
    const char* utf8 = PyUnicode_AsUTF8AndSize(items[i], &size);
    if (!utf8) {  // a lone surrogate: the str is not Unicode text
      nb::python_error e;
      throw InputError(fmt::format("texts[{}] is not valid Unicode text: {}", index, nb::str(e.value()).c_str()));
    }
    // The CLI's limit for one CSV field or line, so that a text too long for a file is too long here.
    if (static_cast<std::size_t>(size) > kMaxTextBytes) {
      throw InputError(fmt::format("texts[{}] is {} bytes long in UTF-8 ({:.1f} MiB); docquant reads texts of at most "
                                   "{} MiB, as `docquant classify` reads a CSV field or a line: split or cut it",
                                   index, size, static_cast<double>(size) / (1 << 20), kMaxTextBytes >> 20));
    }
    out.emplace_back(utf8, static_cast<std::size_t>(size));
  }
  return out;
}

nb::str to_python_text(std::string_view text) {
  PyObject* s = PyUnicode_DecodeUTF8(text.data(), static_cast<Py_ssize_t>(text.size()), "backslashreplace");
  if (!s) throw nb::python_error();
  return nb::steal<nb::str>(s);
}

}  // namespace docquant::python
