// Tokenizer throughput: docquant's Tokenizer::encode_batch on real texts, by
// thread count. bench/tokenizer/compare.py runs this next to HF `tokenizers`'
// encode_batch on the same texts and prints the ratio.
//
//   DOCQUANT_BENCH_TOKENIZER=<SetFit folder>  DOCQUANT_BENCH_TEXTS=<one text per line, hex>
//   tokenizer_bench --benchmark_format=json
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "docquant/tokenizer.h"

namespace {

struct Inputs {
  std::optional<docquant::Tokenizer> tokenizer;
  std::vector<std::string> texts;
  std::string error;
};

const Inputs& inputs() {
  static const Inputs in = [] {
    Inputs r;
    const char* folder = std::getenv("DOCQUANT_BENCH_TOKENIZER");
    const char* texts = std::getenv("DOCQUANT_BENCH_TEXTS");
    if (!folder || !texts) {
      r.error = "set DOCQUANT_BENCH_TOKENIZER (a SetFit folder) and DOCQUANT_BENCH_TEXTS (hex lines)";
      return r;
    }
    docquant::TokenizerOptions options;
    options.padding = docquant::Padding::none;
    r.tokenizer.emplace(docquant::Tokenizer::from_folder(folder, options));
    std::ifstream f(texts);
    std::string line;
    while (std::getline(f, line)) {
      std::string t;
      for (std::size_t i = 0; i + 1 < line.size(); i += 2)
        t.push_back(static_cast<char>(std::stoi(line.substr(i, 2), nullptr, 16)));
      r.texts.push_back(std::move(t));
    }
    return r;
  }();
  return in;
}

void BM_EncodeBatch(benchmark::State& state) {
  const Inputs& in = inputs();
  if (!in.error.empty()) {
    state.SkipWithError(in.error.c_str());
    return;
  }
  const int threads = static_cast<int>(state.range(0));
  std::size_t tokens = 0;
  for (auto _ : state) {
    auto out = in.tokenizer->encode_batch(in.texts, threads);
    tokens = 0;
    for (const auto& e : out) tokens += e.input_ids.size();
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * in.texts.size()));
  state.counters["texts"] = static_cast<double>(in.texts.size());
  state.counters["tokens"] = static_cast<double>(tokens);
}
BENCHMARK(BM_EncodeBatch)->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
