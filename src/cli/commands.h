#pragma once
// Each subcommand lives in cmd_<name>.cc and registers itself on the root app.
// A subcommand's callback does its work and throws docquant::Error on failure;
// main.cc catches once, prints one message and maps the error kind to an exit code.
#include <CLI/CLI.hpp>

namespace docquant::cli {

void add_quantize_command(CLI::App& root);
void add_classify_command(CLI::App& root);
void add_eval_command(CLI::App& root);
void add_bench_command(CLI::App& root);
void add_inspect_command(CLI::App& root);
void add_tokenize_command(CLI::App& root);

}  // namespace docquant::cli
