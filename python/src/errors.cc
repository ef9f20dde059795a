#include <exception>

#include "bindings.h"
#include "docquant/error.h"

namespace docquant::python {

namespace {

// The Python class for each kind, looked up once in docquant._errors (kept for the life
// of the process).
PyObject* g_classes[6] = {};

std::size_t index_of(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::usage: return 0;
    case ErrorKind::input: return 1;
    case ErrorKind::output: return 2;
    case ErrorKind::criterion_not_met: return 3;
    case ErrorKind::interrupted: return 4;
    case ErrorKind::internal: return 5;
  }
  return 5;
}

void raise(ErrorKind kind, const char* message) { PyErr_SetString(g_classes[index_of(kind)], message); }

}  // namespace

void register_error_translator() {
  nb::module_ errors = nb::module_::import_("docquant._errors");
  const char* names[6] = {"UsageError", "InputError", "OutputError", "CriterionNotMetError", "Interrupted",
                          "InternalError"};
  for (std::size_t i = 0; i < 6; ++i) g_classes[i] = errors.attr(names[i]).inc_ref().ptr();

  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const Error& e) {
      raise(e.kind(), e.what());
    } catch (const nb::python_error&) {
      throw;  // a Python exception (KeyboardInterrupt, one from a callback): raised as it is
    } catch (const nb::builtin_exception&) {
      throw;  // TypeError and friends raised by this module
    } catch (const std::bad_alloc&) {
      throw;  // MemoryError
    } catch (const std::exception& e) {
      // What the CLI reports as "internal error: ..." (ONNX Runtime, the standard library).
      raise(ErrorKind::internal, e.what());
    }
  });
}

}  // namespace docquant::python
