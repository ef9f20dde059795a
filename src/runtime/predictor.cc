#include "predictor.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>

#include "docquant/error.h"

namespace docquant::runtime {

Predictor::Predictor(const std::string& model_bytes, const ModelSignature& signature,
                     const setfit::SetFitFolder& folder, const SessionConfig& config, const std::string& name)
    : Predictor(make_session(model_bytes, config, name), signature, folder, name) {}

Predictor Predictor::from_file(const std::filesystem::path& model_file, const ModelSignature& signature,
                               const setfit::SetFitFolder& folder, const SessionConfig& config,
                               const std::string& name) {
  return Predictor(make_session_from_file(model_file, config, name), signature, folder, name);
}

Predictor::Predictor(Ort::Session session, const ModelSignature& signature, const setfit::SetFitFolder& folder,
                     const std::string& name)
    : session_(std::move(session)), signature_(signature), folder_(folder), name_(name) {
  if (folder_.head.multi_label() && signature_.form == ModelForm::head_in_graph) {
    throw InputError(fmt::format("{}: the head is multi-label ({}) but the model has a head in its graph; docquant "
                                 "applies multi-label heads outside the graph only: export the body alone",
                                 name_, setfit::to_string(folder_.head.kind())));
  }
}

std::size_t label_set_id(const std::uint8_t* set, std::size_t labels) {
  if (labels > kMaxScoredLabels) return 0;
  std::size_t id = 0;
  for (std::size_t k = 0; k < labels; ++k) id |= static_cast<std::size_t>(set[k] != 0) << k;
  return id;
}

namespace {

Ort::Value int_tensor(const std::vector<std::int64_t>& values, std::vector<std::int32_t>& narrow, int elem_type,
                      const std::int64_t* shape) {
  static const Ort::MemoryInfo memory = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
  if (elem_type == 7 /* INT64 */) {
    return Ort::Value::CreateTensor<std::int64_t>(memory, const_cast<std::int64_t*>(values.data()), values.size(),
                                                  shape, 2);
  }
  narrow.assign(values.begin(), values.end());
  return Ort::Value::CreateTensor<std::int32_t>(memory, narrow.data(), narrow.size(), shape, 2);
}

// The first of `n` rows of `width` values that holds a NaN or an infinity, or n.
template <class T>
std::size_t first_non_finite_row(const T* values, std::size_t n, std::size_t width) {
  for (std::size_t i = 0; i < n * width; ++i) {
    if (!std::isfinite(values[i])) return i / width;
  }
  return n;
}

}  // namespace

template <class T>
void Predictor::check_finite(const Batch& batch, const T* values, std::size_t width) const {
  const std::size_t r = first_non_finite_row(values, batch.rows.size(), width);
  if (r == batch.rows.size()) return;
  throw NonFiniteOutputError(fmt::format("{}: text {}: output '{}' is NaN or infinite", name_, batch.rows[r] + 1,
                                         signature_.output),
                             batch.rows[r]);
}

void Predictor::run_batch(const Batch& batch, Predictions& out) const {
  const std::int64_t shape[] = {static_cast<std::int64_t>(batch.rows.size()), static_cast<std::int64_t>(batch.seq_len)};
  std::vector<Ort::Value> inputs;
  std::vector<const char*> input_names;
  std::vector<std::vector<std::int32_t>> narrow(signature_.inputs.size());
  for (std::size_t i = 0; i < signature_.inputs.size(); ++i) {
    const auto& in = signature_.inputs[i];
    const auto& values = in.name == "input_ids"        ? batch.input_ids
                         : in.name == "attention_mask" ? batch.attention_mask
                                                       : batch.token_type_ids;
    inputs.push_back(int_tensor(values, narrow[i], in.elem_type, shape));
    input_names.push_back(in.name.c_str());
  }
  const char* output_name = signature_.output.c_str();
  std::vector<Ort::Value> result;
  try {
    result = session_.Run(Ort::RunOptions{nullptr}, input_names.data(), inputs.data(), inputs.size(), &output_name, 1);
  } catch (const Ort::Exception& e) {
    throw InputError(fmt::format("{}: ONNX Runtime failed to run the model: {}", name_, e.what()));
  }
  const auto info = result[0].GetTensorTypeAndShapeInfo();
  const std::vector<std::int64_t> dims = info.GetShape();
  const std::size_t n = batch.rows.size();
  const std::size_t classes = out.num_classes;

  std::vector<double> proba;
  std::vector<std::size_t> predicted;
  if (signature_.form == ModelForm::head_in_graph) {
    if (signature_.output_is_label) {
      if (info.GetElementType() != ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64) {
        throw InputError(fmt::format("{}: label output '{}' is not int64", name_, signature_.output));
      }
      const std::int64_t* labels = result[0].GetTensorData<std::int64_t>();
      for (std::size_t r = 0; r < n; ++r) predicted.push_back(folder_.label_index(std::to_string(labels[r]), r + 1));
    } else {
      if (dims.size() != 2 || static_cast<std::size_t>(dims[1]) != classes) {
        throw InputError(fmt::format("{}: output '{}' has {} columns but the head has {} classes", name_,
                                     signature_.output, dims.size() == 2 ? dims[1] : -1, classes));
      }
      if (info.GetElementType() == ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE) {
        const double* p = result[0].GetTensorData<double>();
        proba.assign(p, p + n * classes);
      } else {
        const float* p = result[0].GetTensorData<float>();
        proba.assign(p, p + n * classes);
      }
      check_finite(batch, proba.data(), classes);
      for (std::size_t r = 0; r < n; ++r) {
        const auto* row = proba.data() + r * classes;
        predicted.push_back(static_cast<std::size_t>(std::max_element(row, row + classes) - row));
      }
    }
  } else {
    std::vector<float> embeddings;
    if (signature_.form == ModelForm::body_last_hidden_state) {
      if (dims.size() != 3) throw InputError(fmt::format("{}: output '{}' is not 3-D", name_, signature_.output));
      check_finite(batch, result[0].GetTensorData<float>(), static_cast<std::size_t>(dims[1] * dims[2]));
      embeddings = setfit::pool(folder_.pooling, result[0].GetTensorData<float>(), batch.attention_mask.data(), n,
                                static_cast<std::size_t>(dims[1]), static_cast<std::size_t>(dims[2]));
    } else {
      if (dims.size() != 2) throw InputError(fmt::format("{}: output '{}' is not 2-D", name_, signature_.output));
      const float* e = result[0].GetTensorData<float>();
      check_finite(batch, e, static_cast<std::size_t>(dims[1]));
      embeddings.assign(e, e + n * static_cast<std::size_t>(dims[1]));
    }
    const std::size_t dim = embeddings.size() / std::max<std::size_t>(1, n);
    if (folder_.normalize) setfit::normalize_rows(embeddings.data(), n, dim);
    proba = folder_.head.predict_proba(embeddings.data(), n, dim);
    if (folder_.head.multi_label()) {
      const auto set = folder_.head.predict_multilabel(embeddings.data(), n, dim);
      for (std::size_t r = 0; r < n; ++r) {
        std::copy_n(set.begin() + static_cast<std::ptrdiff_t>(r * classes), classes,
                    out.label_set.begin() + static_cast<std::ptrdiff_t>(batch.rows[r] * classes));
        predicted.push_back(label_set_id(set.data() + r * classes, classes));
      }
    } else {
      predicted = folder_.head.predict(embeddings.data(), n, dim);
    }
  }
  for (std::size_t r = 0; r < n; ++r) {
    const std::size_t row = batch.rows[r];
    out.predicted[row] = predicted[r];
    if (!proba.empty()) std::copy_n(proba.begin() + static_cast<std::ptrdiff_t>(r * classes), classes,
                                    out.proba.begin() + static_cast<std::ptrdiff_t>(row * classes));
  }
}

Predictions Predictor::predict(const std::vector<Batch>& batches, std::size_t rows,
                               const std::function<void()>& before_each_batch,
                               const std::function<bool(const Predictions&, std::size_t rows_done)>& decided) const {
  Predictions out;
  out.num_classes = folder_.class_names.size();
  out.predicted.assign(rows, 0);
  if (!(signature_.form == ModelForm::head_in_graph && signature_.output_is_label)) {
    out.proba.assign(rows * out.num_classes, 0.0);
  }
  if (folder_.head.multi_label()) out.label_set.assign(rows * out.num_classes, 0);
  std::size_t done = 0;
  for (const auto& b : batches) {
    if (before_each_batch) before_each_batch();
    run_batch(b, out);
    done += b.rows.size();
    if (decided && decided(out, done)) break;
  }
  return out;
}

double accuracy(const Predictions& p, const std::vector<std::size_t>& labels) {
  if (labels.empty()) return 0;
  std::size_t correct = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) correct += p.predicted[i] == labels[i];
  return static_cast<double>(correct) / static_cast<double>(labels.size());
}

}  // namespace docquant::runtime
