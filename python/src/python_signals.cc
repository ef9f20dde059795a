#include <chrono>

#include "bindings.h"

namespace docquant::python {

namespace {

unsigned long g_main_thread = 0;  // threading.main_thread().ident, set at import

}  // namespace

void remember_main_thread() {
  g_main_thread = nb::cast<unsigned long>(nb::module_::import_("threading").attr("main_thread")().attr("ident"));
}

void check_python_signals() {
  using Clock = std::chrono::steady_clock;
  if (PyThread_get_thread_ident() != g_main_thread) return;
  // Only the main thread gets here, so this needs no lock.
  static Clock::time_point last_check;
  const auto now = Clock::now();
  if (now - last_check < std::chrono::milliseconds(50)) return;
  last_check = now;
  nb::gil_scoped_acquire gil;
  if (PyErr_CheckSignals() != 0) throw nb::python_error();
}

}  // namespace docquant::python
