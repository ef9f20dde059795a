// docquant.Classifier's native half: a docquant::Classifier whose calls release the GIL
// and stop at the next batch when Python has a signal to handle (Ctrl-C).
#include <nanobind/stl/filesystem.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <cstdint>
#include <filesystem>

#include "bindings.h"
#include "docquant/classifier.h"
#include "docquant/error.h"
#include "docquant/setfit.h"

namespace docquant::python {

namespace {

Classifier open(const std::filesystem::path& folder, const std::filesystem::path& onnx_model, int threads,
                std::size_t batch_size, bool batch_if_invariant, std::size_t max_length, bool optimize_graph) {
  ClassifierOptions o;
  o.onnx_model = onnx_model;
  o.threads = threads;
  o.batch_size = batch_size;
  o.batch_if_invariant = batch_if_invariant;
  o.max_length = max_length;
  o.optimize_graph = optimize_graph;
  o.cancelled = [] {
    check_python_signals();
    return false;
  };
  nb::gil_scoped_release no_gil;
  return Classifier(folder, o);
}

// (labels, probabilities): class indices int64 [n] -- for a multi-label head its label sets,
// uint8 0/1 [n, classes] -- and probabilities float64 [n, classes] (None for a graph that
// outputs labels only). `first_index`: texts[0]'s index in the caller's input, for error
// messages.
nb::tuple classify(const Classifier& c, nb::handle texts, std::size_t first_index) {
  const std::vector<std::string> input = to_texts(texts, first_index);
  Classification r;
  {
    nb::gil_scoped_release no_gil;
    r = c.classify(input);
  }
  const std::size_t n = r.label.size();
  nb::object proba = nb::none();
  if (c.has_probabilities()) proba = nb::cast(to_numpy(std::move(r.proba), {n, r.num_classes}));
  if (c.multi_label()) return nb::make_tuple(to_numpy(std::move(r.label_set), {n, r.num_classes}), proba);
  std::vector<std::int64_t> labels(r.label.begin(), r.label.end());
  return nb::make_tuple(to_numpy(std::move(labels), {n}), proba);
}

}  // namespace

void bind_classifier(nb::module_& m) {
  // Whether a folder's head gives label sets, from its SetFit files alone (no model loaded).
  m.def("head_is_multi_label", [](const std::filesystem::path& folder) {
    nb::gil_scoped_release no_gil;
    return setfit::SetFitFolder::load(folder).head.multi_label();
  }, nb::arg("model_folder"));
  nb::class_<Classifier>(m, "Classifier")
      .def(
          "__init__",
          [](Classifier* self, const std::filesystem::path& folder, const std::filesystem::path& onnx_model,
             int threads, std::size_t batch_size, bool batch_if_invariant, std::size_t max_length,
             bool optimize_graph) {
            new (self) Classifier(
                open(folder, onnx_model, threads, batch_size, batch_if_invariant, max_length, optimize_graph));
          },
          nb::arg("model_folder"), nb::arg("onnx_model"), nb::arg("threads"), nb::arg("batch_size"),
          nb::arg("batch_if_invariant"), nb::arg("max_length"), nb::arg("optimize_graph"))
      .def_prop_ro("classes", &Classifier::classes)
      .def_prop_ro("has_probabilities", &Classifier::has_probabilities)
      .def_prop_ro("batch_size", &Classifier::batch_size)
      .def_prop_ro("batch_invariant", [](const Classifier& c) { return c.batch_invariance().proven; })
      .def_prop_ro("batch_invariance_reason",
                   [](const Classifier& c) { return to_python_text(c.batch_invariance().reason); })
      .def_prop_ro("multi_label", &Classifier::multi_label)
      .def("classify", &classify, nb::arg("texts"), nb::arg("first_index") = 0);
}

}  // namespace docquant::python
