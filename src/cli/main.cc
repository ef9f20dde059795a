// The docquant command: parses the command line, runs one subcommand, and turns
// any docquant::Error into one message on stderr and a documented exit code.
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <new>

#include "commands.h"
#include "diagnostics.h"
#include "docquant/error.h"
#include "docquant/version.h"
#include "int8_kernel.h"
#include "interrupt.h"

namespace {

int report(const docquant::Error& e) {
  docquant::cli::say(fmt::format("docquant: {}: {}", docquant::to_string(e.kind()), e.what()));
  // Interrupted: 128 + the signal, as a shell reports a process the signal killed
  // (130 SIGINT, 143 SIGTERM; docs/errors.md).
  if (e.kind() == docquant::ErrorKind::interrupted) return docquant::interrupt_exit_code();
  return docquant::exit_code(e.kind());
}

}  // namespace

int main(int argc, char** argv) {
  docquant::cli::open_standard_streams();
  CLI::App app{
      "docquant makes SetFit text classifiers small and fast: dynamic INT8 quantization of the\n"
      "ONNX body, tuned so that accuracy on your labelled CSV stays within a criterion of fp32.\n\n"
      "  docquant quantize --onnx_model_folder M --setfit_model_folder S \\\n"
      "                    --calibration_data data.csv --output_folder OUT\n\n"
      "Run 'docquant <command> --help' for each command's options and examples.",
      "docquant"};
  app.set_version_flag("--version",
                       fmt::format("docquant {} (commit {}, ONNX Runtime {}, int8 kernel on this CPU: {})",
                                   docquant::kVersion, docquant::kGitCommit, docquant::kOnnxRuntimeVersion,
                                   docquant::quant::to_string(docquant::quant::host_int8_path())));
  app.require_subcommand(1);
  docquant::cli::add_quantize_command(app);
  docquant::cli::add_classify_command(app);
  docquant::cli::add_eval_command(app);
  docquant::cli::add_bench_command(app);
  docquant::cli::add_inspect_command(app);
  docquant::cli::add_tokenize_command(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // Wrong command line: CLI11's message, then a pointer to --help; exit code 2.
    docquant::cli::say(fmt::format(
        "docquant: usage error: {}\nRun 'docquant --help' or 'docquant <command> --help'.", e.what()));
    return docquant::exit_code(docquant::ErrorKind::usage);
  } catch (const docquant::Error& e) {
    return report(e);
  } catch (const std::bad_alloc&) {
    return report(docquant::InternalError("out of memory"));
  } catch (const std::exception& e) {
    return report(docquant::InternalError(e.what()));
  }
  return 0;
}
