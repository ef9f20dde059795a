// docquant._core: the C++ core for `import docquant` (docquant/__init__.py re-exports it
// with the Python-side argument handling).
#include "bindings.h"
#include "docquant/version.h"

NB_MODULE(_core, m) {
  using namespace docquant::python;
  m.doc() = "docquant's C++ core (use the docquant package, not this module)";
  remember_main_thread();
  register_error_translator();
  bind_classifier(m);
  bind_quantize(m);
  bind_tokenize(m);
  m.attr("__version__") = docquant::kVersion;
  m.attr("git_commit") = docquant::kGitCommit;
  m.attr("onnxruntime_version") = docquant::kOnnxRuntimeVersion;
}
