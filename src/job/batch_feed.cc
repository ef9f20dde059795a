#include "batch_feed.h"

namespace docquant::job {

Feed feed_batch(const runtime::ModelSignature& signature, const runtime::Batch& batch) {
  static const Ort::MemoryInfo memory = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
  const std::int64_t shape[] = {static_cast<std::int64_t>(batch.rows.size()), static_cast<std::int64_t>(batch.seq_len)};
  Feed f;
  f.narrow.resize(signature.inputs.size());
  for (std::size_t i = 0; i < signature.inputs.size(); ++i) {
    const auto& in = signature.inputs[i];
    const auto& data = in.name == "input_ids"        ? batch.input_ids
                       : in.name == "attention_mask" ? batch.attention_mask
                                                     : batch.token_type_ids;
    f.names.push_back(in.name.c_str());
    if (in.elem_type == onnx::TensorProto::INT64) {
      f.values.push_back(Ort::Value::CreateTensor<std::int64_t>(memory, const_cast<std::int64_t*>(data.data()),
                                                                data.size(), shape, 2));
    } else {
      f.narrow[i].assign(data.begin(), data.end());
      f.values.push_back(
          Ort::Value::CreateTensor<std::int32_t>(memory, f.narrow[i].data(), f.narrow[i].size(), shape, 2));
    }
  }
  return f;
}

}  // namespace docquant::job
