#pragma once
// The pieces of docquant's Python module (_core), one file each; module.cc puts them together.
// The Python-facing API (argument forms, docstrings, types) is docquant/*.py; this layer
// converts, releases the GIL around the C++ core and maps its errors.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <cstddef>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace docquant::python {

namespace nb = nanobind;

// A list or tuple of str as UTF-8 strings (the Python layer turns other iterables and
// numpy arrays into lists first). Throws UsageError naming the first item that is not a str,
// InputError for a str that is not Unicode text (a lone surrogate) or longer than
// kMaxTextBytes (the CLI's limit for a field or line). `first_index` is the first text's
// index in the caller's input, for those messages (predict_iter passes chunks).
std::vector<std::string> to_texts(nb::handle texts, std::size_t first_index = 0);

// C++ text (messages, progress lines) as str: UTF-8, other bytes (paths that are not UTF-8)
// shown as \xNN.
nb::str to_python_text(std::string_view text);

// Maps docquant::Error kinds to the classes of docquant/_errors.py (and other C++
// exceptions to docquant.InternalError), for every function of the module.
void register_error_translator();

// Records the interpreter's main thread; call once at import.
void remember_main_thread();
// Runs Python's signal handlers from inside a C++ call that released the GIL (the core's
// `cancelled` polls call it between batches): on the main thread, at most every 50 ms, it
// takes the GIL and calls PyErr_CheckSignals; when a handler raised (KeyboardInterrupt for
// Ctrl-C) it throws that Python exception, which unwinds the C++ call (nothing partial is
// written) and reaches the caller unchanged. On other threads it does nothing: Python runs
// signal handlers on the main thread only.
void check_python_signals();

// A numpy array that owns `values` (moved to the heap, freed with the array).
template <class T>
nb::ndarray<nb::numpy, T> to_numpy(std::vector<T>&& values, std::initializer_list<std::size_t> shape) {
  auto* owned = new std::vector<T>(std::move(values));
  nb::capsule owner(owned, [](void* p) noexcept { delete static_cast<std::vector<T>*>(p); });
  return nb::ndarray<nb::numpy, T>(owned->data(), shape, owner);
}

void bind_classifier(nb::module_& m);
void bind_quantize(nb::module_& m);
void bind_tokenize(nb::module_& m);

}  // namespace docquant::python
