// docquant.quantize's native half: QuantizeOptions as a typed object (an unknown attribute
// is an AttributeError, never ignored), the INC YAML reader, and the job with the GIL
// released, progress handed to a Python callable and Ctrl-C polled between batches.
#include <nanobind/stl/filesystem.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>
#include <fmt/core.h>

#include <chrono>
#include <filesystem>

#include "bindings.h"
#include "docquant/error.h"
#include "docquant/quantize.h"
#include "inc_config.h"
#include "text_util.h"

namespace docquant::python {

namespace {

// What `cancelled()` returned, taken as Python's bool() takes it (numpy.bool_, 1 and None
// included); an object bool() refuses (a numpy array of several values) is a usage error.
bool truth(const nb::object& answer) {
  const int t = PyObject_IsTrue(answer.ptr());
  if (t >= 0) return t == 1;
  nb::python_error e;
  const std::string repr = nb::repr(answer).c_str();
  throw UsageError(fmt::format("cancelled() must return True (stop) or False, but it returned {}, and bool() of "
                               "that raised {}: {}",
                               std::string(utf8_prefix(repr, 80)), nb::str(nb::handle(e.type()).attr("__name__")).c_str(),
                               nb::str(e.value()).c_str()));
}

// Runs the job; returns the output folder. `progress` gets each progress line and
// `cancelled` is polled with the signals; both are called on this thread with the GIL
// taken, and an exception either raises stops the job with nothing written.
std::filesystem::path run_quantize(QuantizeOptions o, nb::object progress, nb::object cancelled) {
  // Raw pointers: the std::functions may be copied while the GIL is released; the
  // objects stay alive in this frame.
  if (!progress.is_none()) {
    o.progress = [fn = progress.ptr()](const std::string& line) {
      nb::gil_scoped_acquire gil;
      nb::handle{fn}(to_python_text(line));
    };
  }
  o.cancelled = [fn = cancelled.ptr()] {
    check_python_signals();
    if (fn == Py_None) return false;
    nb::gil_scoped_acquire gil;
    return truth(nb::handle{fn}());
  };
  QuantizeReport report;
  {
    nb::gil_scoped_release no_gil;
    report = quantize(o);
  }
  return report.output_folder;
}

}  // namespace

void bind_quantize(nb::module_& m) {
  nb::class_<QuantizeOptions>(m, "QuantizeOptions")
      .def(nb::init<>())
      .def_rw("onnx_model", &QuantizeOptions::onnx_model)
      .def_rw("setfit_folder", &QuantizeOptions::setfit_folder)
      .def_rw("calibration_data", &QuantizeOptions::calibration_data)
      .def_rw("calibration_texts", &QuantizeOptions::calibration_texts)
      .def_rw("output_folder", &QuantizeOptions::output_folder)
      .def_rw("text_column", &QuantizeOptions::text_column)
      .def_rw("label_column", &QuantizeOptions::label_column)
      .def_rw("relative_criterion", &QuantizeOptions::relative_criterion)
      .def_rw("criterion", &QuantizeOptions::criterion)
      .def_rw("higher_is_better", &QuantizeOptions::higher_is_better)
      .def_prop_rw(
          "criterion_metric",
          [](const QuantizeOptions& o) -> std::optional<std::string> {
            if (!o.criterion_metric) return std::nullopt;
            return std::string(to_string(*o.criterion_metric));
          },
          [](QuantizeOptions& o, const std::optional<std::string>& v) {
            if (!v) {
              o.criterion_metric.reset();
              return;
            }
            const auto metric = parse_criterion_metric(*v);
            if (!metric) throw UsageError("unknown criterion '" + *v + "' (choose accuracy or agreement)");
            o.criterion_metric = *metric;
          })
      .def_rw("min_agreement", &QuantizeOptions::min_agreement)
      .def_prop_rw(
          "strategy", [](const QuantizeOptions& o) { return std::string(to_string(o.strategy)); },
          [](QuantizeOptions& o, const std::string& v) {
            const auto strategy = parse_quantize_strategy(v);
            if (!strategy) throw UsageError("unknown strategy '" + v + "' (choose sensitivity or basic)");
            o.strategy = *strategy;
          })
      .def_prop_rw(
          "sensitivity_probe", [](const QuantizeOptions& o) { return std::string(to_string(o.sensitivity_probe)); },
          [](QuantizeOptions& o, const std::string& v) {
            const auto probe = parse_sensitivity_probe(v);
            if (!probe) throw UsageError("unknown sensitivity probe '" + v + "' (choose local or isolated)");
            o.sensitivity_probe = *probe;
          })
      .def_prop_rw(
          "accuracy_metric", [](const QuantizeOptions& o) { return std::string(to_string(o.accuracy_metric)); },
          [](QuantizeOptions& o, const std::string& v) {
            const auto metric = parse_accuracy_metric(v);
            if (!metric) throw UsageError("unknown metric '" + v + "' (choose accuracy or micro_f1)");
            o.accuracy_metric = *metric;
          })
      .def_rw("max_trials", &QuantizeOptions::max_trials)
      .def_prop_rw(
          "max_seconds", [](const QuantizeOptions& o) { return o.max_time.count(); },
          [](QuantizeOptions& o, double s) { o.max_time = std::chrono::duration<double>(s); })
      .def_rw("seed", &QuantizeOptions::seed)
      .def_rw("per_channel", &QuantizeOptions::per_channel)
      .def_prop_rw(
          "activations",
          [](const QuantizeOptions& o) {
            return std::string(o.activations == ActivationScales::per_token ? "per_token" : "per_tensor");
          },
          [](QuantizeOptions& o, const std::string& v) {
            if (v != "per_token" && v != "per_tensor") {
              throw UsageError("activations must be 'per_token' or 'per_tensor', not '" + v + "'");
            }
            o.activations = v == "per_token" ? ActivationScales::per_token : ActivationScales::per_tensor;
          })
      .def_rw("use_baseline_cache", &QuantizeOptions::use_baseline_cache)
      .def_rw("reduce_range", &QuantizeOptions::reduce_range)
      .def_rw("quantize_embeddings", &QuantizeOptions::quantize_embeddings)
      .def_rw("fused_matmul", &QuantizeOptions::fused_matmul)
      .def_rw("optimize_graph", &QuantizeOptions::optimize_graph)
      .def_rw("batch_size", &QuantizeOptions::batch_size)
      .def_rw("threads", &QuantizeOptions::threads)
      .def_rw("sensitivity_sample", &QuantizeOptions::sensitivity_sample)
      .def_rw("overwrite", &QuantizeOptions::overwrite)
      .def_rw("best_effort", &QuantizeOptions::best_effort);

  m.def(
      "apply_inc_yaml", [](QuantizeOptions& o, const std::filesystem::path& file) { tune::apply_inc_yaml(file, o); },
      nb::arg("options"), nb::arg("file"));
  m.def("quantize", &run_quantize, nb::arg("options"), nb::arg("progress").none(), nb::arg("cancelled").none());
}

}  // namespace docquant::python
