#include <exception>

#include "bindings.h"
#include "docquant/error.h"

namespace docquant::python {

namespace {

// Raises the Python class for `kind`, looked up in docquant._errors at each raise (for_kind
// matches the classes' `kind` with to_string), never cached: after
// importlib.reload(docquant._errors) the core raises the classes `except docquant.X` names.
// The message is decoded with backslashreplace: a path that is not UTF-8 (os.fsencode of a
// surrogate-escaped str) shows its bytes as \xNN instead of failing to decode.
void raise(ErrorKind kind, const char* message) {
  try {
    nb::object cls = nb::module_::import_("docquant._errors").attr("for_kind")(to_string(kind));
    PyErr_SetObject(cls.ptr(), to_python_text(message).ptr());
  } catch (nb::python_error& e) {
    e.restore();  // the lookup itself failed: that error is the one raised
  }
}

}  // namespace

void register_error_translator() {
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
