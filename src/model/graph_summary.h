#pragma once
// What `docquant inspect` reports about an ONNX model's structure and parameters. Which
// nodes quantize would rewrite is the quantizers' answer (quant::find_candidates), not
// this part's.
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace docquant::model {

struct ValueSummary {
  std::string name;
  std::string dtype;  // "float32", "int64", …
  std::string shape;  // "[batch_size, sequence_length, 384]"
};

struct DtypeTotals {
  std::int64_t elements = 0;
  std::int64_t bytes = 0;
};

struct GraphSummary {
  std::int64_t ir_version = 0;
  std::map<std::string, std::int64_t> opsets;  // domain ("" = ai.onnx) -> version
  std::string producer;
  std::vector<ValueSummary> inputs;
  std::vector<ValueSummary> outputs;
  std::map<std::string, int> op_histogram;
  std::map<std::string, DtypeTotals> parameters;  // by dtype name
  std::int64_t parameter_count = 0;
  std::int64_t parameter_bytes = 0;
};

GraphSummary summarize(const onnx::ModelProto& model);

const char* dtype_name(std::int32_t onnx_elem_type);
std::int64_t dtype_size(std::int32_t onnx_elem_type);  // 0 for strings / unknown

}  // namespace docquant::model
