#include <fmt/core.h>

#include "bindings.h"

namespace docquant::python {

std::vector<std::string> to_texts(nb::handle texts) {
  if (!PyList_Check(texts.ptr()) && !PyTuple_Check(texts.ptr())) {
    throw nb::type_error("texts must be a str or a list/tuple/numpy array of str");
  }
  // PySequence_Fast on a list or tuple returns it (a new reference): no copy.
  nb::object seq = nb::steal(PySequence_Fast(texts.ptr(), "texts must be a sequence"));
  if (!seq.is_valid()) throw nb::python_error();
  const Py_ssize_t n = PySequence_Fast_GET_SIZE(seq.ptr());
  PyObject** items = PySequence_Fast_ITEMS(seq.ptr());
  std::vector<std::string> out;
  out.reserve(static_cast<std::size_t>(n));
  for (Py_ssize_t i = 0; i < n; ++i) {
    if (!PyUnicode_Check(items[i])) {
      throw nb::type_error(fmt::format("texts[{}] is {}, not str", i, Py_TYPE(items[i])->tp_name).c_str());
    }
    Py_ssize_t size = 0;
    const char* utf8 = PyUnicode_AsUTF8AndSize(items[i], &size);
    if (!utf8) throw nb::python_error();  // a lone surrogate: UnicodeEncodeError
    out.emplace_back(utf8, static_cast<std::size_t>(size));
  }
  return out;
}

}  // namespace docquant::python
