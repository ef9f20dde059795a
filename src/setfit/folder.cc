// A SetFit model folder: modules.json, pooling, normalisation, head and class names.
#include <algorithm>
#include <fstream>
#include <string_view>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "docquant/pickle.h"
#include "docquant/setfit.h"
#include "file_util.h"
#include "json_file.h"
#include "st_prompt.h"

namespace docquant::setfit {
namespace fs = std::filesystem;
namespace {


// labelencoder.pkl: a LabelEncoder written by joblib; its classes_ name the integers.
std::vector<std::string> read_label_encoder(const fs::path& file) {
  const pickle::ValuePtr root = pickle::load_file(file);
  if (!root->is_object_of("sklearn.preprocessing._label.LabelEncoder")) {
    throw InputError(file.string() + ": holds a " + root->type_name() + ", not a LabelEncoder");
  }
  const pickle::Value* classes = root->as_object().attr("classes_");
  if (classes == nullptr || !classes->is_array()) {
    throw InputError(file.string() + ": LabelEncoder has no classes_ array (not fitted?)");
  }
  const pickle::NDArray& a = classes->as_array();
  std::vector<std::string> names(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    names[i] = a.is_text() ? a.as_text(i) : std::to_string(a.as_int(i));
  }
  return names;
}

// Two classes with one name make a CSV label ambiguous and classify's header ambiguous
// (label,proba_pos,proba_pos): refused, naming the file the names come from.
void check_unique_names(const SetFitFolder& f, const fs::path& setfit_cfg, const fs::path& encoder_file,
                        const fs::path& head_file) {
  std::unordered_map<std::string_view, std::size_t> seen;
  for (std::size_t i = 0; i < f.class_names.size(); ++i) {
    const auto [it, fresh] = seen.emplace(f.class_names[i], i);
    if (!fresh) {
      const std::size_t j = it->second;
      const std::string from = f.label_source == LabelSource::config_labels  ? setfit_cfg.string() + " field 'labels'"
                               : f.label_source == LabelSource::label_encoder ? encoder_file.string() + " classes_"
                                                                              : head_file.string() + " classes_";
      throw InputError(from + ": classes " + std::to_string(j) + " and " + std::to_string(i) +
                       " are both named '" + f.class_names[i] + "'; class names must be unique");
    }
  }
}

// True when something is at `p`; a path that cannot be checked (a link loop, a name too
// long) is an InputError naming it, not "missing".
bool present(const fs::path& p) { return input_path_type(p) != fs::file_type::not_found; }

}  // namespace

const char* to_string(LabelSource source) {
  switch (source) {
    case LabelSource::head_classes: return "head classes_";
    case LabelSource::config_labels: return "config_setfit.json labels";
    case LabelSource::label_encoder: return "labelencoder.pkl";
  }
  return "?";
}

bool is_setfit_folder(const fs::path& folder) {
  std::error_code ec;
  return fs::is_directory(folder, ec) && (fs::exists(folder / "config_setfit.json", ec) ||
                                          fs::exists(folder / "model_head.pkl", ec));
}

SetFitFolder SetFitFolder::load(const fs::path& folder) {
  if (input_path_type(folder) != fs::file_type::directory) throw InputError(folder.string() + ": not a folder");
  SetFitFolder f;
  f.path = folder;

  // modules.json: Transformer, Pooling, optional Normalize. Anything else changes the
  // embedding in a way docquant does not reproduce.
  const fs::path modules_file = folder / "modules.json";
  if (!present(modules_file)) {
    throw InputError(modules_file.string() + ": missing (not a sentence-transformers folder?)");
  }
  const nlohmann::json modules = read_json_file(modules_file);
  if (!modules.is_array()) throw InputError(modules_file.string() + ": expected a JSON array");
  fs::path pooling_dir;
  bool have_pooling = false, normalize_module = false;
  for (std::size_t i = 0; i < modules.size(); ++i) {
    const auto& m = modules[i];
    const std::string where = modules_file.string() + ": entry " + std::to_string(i);
    if (!m.is_object() || !m.contains("type") || !m["type"].is_string()) {
      throw InputError(where + ": field 'type' is missing");
    }
    const std::string type = m["type"].get<std::string>();
    const std::string sub = m.contains("path") && m["path"].is_string() ? m["path"].get<std::string>() : "";
    if (sub.find("..") != std::string::npos || (!sub.empty() && sub.front() == '/')) {
      throw InputError(where + ": field 'path' leaves the model folder");
    }
    if (sub.find('\0') != std::string::npos) {
      // The file system would see only the part before it: another path than the one written.
      throw InputError(where + ": field 'path' holds a NUL character, which no file name can");
    }
    if (type == "sentence_transformers.models.Transformer") continue;
    if (type == "sentence_transformers.models.Pooling") {
      pooling_dir = folder / sub;
      have_pooling = true;
    } else if (type == "sentence_transformers.models.Normalize") {
      normalize_module = true;
    } else {
      throw InputError(where + ": module type '" + type +
                       "' is not supported (docquant reads Transformer, Pooling and Normalize); "
                       "fold it into the ONNX body before quantizing");
    }
  }
  if (!have_pooling) throw InputError(modules_file.string() + ": no Pooling module");
  f.pooling = Pooling::from_config(pooling_dir / "config.json");
  f.embedding_width = f.pooling.output_dimension();
  const auto prompt = read_default_prompt(folder);
  if (prompt) {
    f.prompt_name = prompt->name;
    f.prompt_text = prompt->text;
  }
  if (prompt && !f.pooling.include_prompt) {
    // sentence-transformers would set the attention mask of the prompt's tokens to 0 for
    // pooling only (Pooling.forward, prompt_length); docquant pools every token of the text.
    throw InputError((pooling_dir / "config.json").string() + ": field 'include_prompt' is false while " +
                     prompt->file.string() + " field 'default_prompt_name' puts prompt '" + prompt->name +
                     "' before every text; docquant does not implement pooling without the prompt's tokens");
  }

  // config_setfit.json: labels and normalize_embeddings (both optional).
  std::vector<std::string> config_labels;
  bool config_normalize = false;
  const fs::path setfit_cfg = folder / "config_setfit.json";
  if (present(setfit_cfg)) {
    const nlohmann::json j = read_json_file(setfit_cfg);
    if (!j.is_object()) throw InputError(setfit_cfg.string() + ": expected a JSON object");
    if (auto it = j.find("labels"); it != j.end() && !it->is_null()) {
      if (!it->is_array()) throw InputError(setfit_cfg.string() + ": field 'labels' is not a list");
      for (const auto& l : *it) {
        if (!l.is_string()) throw InputError(setfit_cfg.string() + ": field 'labels' holds a non-string");
        config_labels.push_back(l.get<std::string>());
      }
    }
    if (auto it = j.find("normalize_embeddings"); it != j.end() && !it->is_null()) {
      if (!it->is_boolean()) {
        throw InputError(setfit_cfg.string() + ": field 'normalize_embeddings' is not a boolean");
      }
      config_normalize = it->get<bool>();
    }
  }
  f.normalize = normalize_module || config_normalize;
  f.normalize_source = normalize_module ? "2_Normalize module"
                       : config_normalize ? "config_setfit.json normalize_embeddings"
                                          : "none";

  // sentence_bert_config.json: max_seq_length.
  const fs::path sbert_cfg = folder / "sentence_bert_config.json";
  if (present(sbert_cfg)) {
    const nlohmann::json j = read_json_file(sbert_cfg);
    if (auto it = j.find("max_seq_length"); it != j.end() && !it->is_null()) {
      if (!it->is_number_unsigned()) {
        throw InputError(sbert_cfg.string() + ": field 'max_seq_length' is not a positive integer");
      }
      f.max_seq_length = it->get<std::size_t>();
    }
  }

  // The head.
  const fs::path head_file = folder / "model_head.pkl";
  if (!present(head_file)) {
    throw InputError(head_file.string() + ": missing; docquant needs SetFit's scikit-learn head");
  }
  f.head = Head::load(head_file);
  if (f.head.input_width() != f.embedding_width) {
    throw InputError(head_file.string() + ": the head expects " + std::to_string(f.head.input_width()) +
                     " features but " + (pooling_dir / "config.json").string() + " pools to " +
                     std::to_string(f.embedding_width));
  }

  // Class names, one per predict_proba column.
  const auto& classes = f.head.classes();
  bool text_classes = !classes.empty() && classes.front().is_text;
  const fs::path encoder_file = folder / "labelencoder.pkl";
  if (text_classes) {
    f.label_source = LabelSource::head_classes;
    for (const auto& c : classes) f.class_names.push_back(c.text);
  } else if (!config_labels.empty() || present(encoder_file)) {
    std::vector<std::string> names;
    std::string from;
    if (!config_labels.empty()) {
      names = config_labels;
      from = setfit_cfg.string() + " field 'labels'";
      f.label_source = LabelSource::config_labels;
    } else {
      names = read_label_encoder(encoder_file);
      from = encoder_file.string() + " classes_";
      f.label_source = LabelSource::label_encoder;
    }
    for (const auto& c : classes) {
      if (c.number < 0 || static_cast<std::size_t>(c.number) >= names.size()) {
        throw InputError(from + " has " + std::to_string(names.size()) +
                         " names but the head has class " + std::to_string(c.number));
      }
      f.class_names.push_back(names[static_cast<std::size_t>(c.number)]);
    }
  } else {
    f.label_source = LabelSource::head_classes;
    for (const auto& c : classes) f.class_names.push_back(c.str());
  }
  check_unique_names(f, setfit_cfg, encoder_file, head_file);
  return f;
}

std::size_t SetFitFolder::label_index(std::string_view label, std::size_t row) const {
  for (std::size_t i = 0; i < class_names.size(); ++i) {
    if (class_names[i] == label) return i;
  }
  const auto& classes = head.classes();
  for (std::size_t i = 0; i < classes.size(); ++i) {
    if (classes[i].str() == label) return i;
  }
  std::string known;
  for (std::size_t i = 0; i < class_names.size(); ++i) {
    if (!known.empty()) known += ", ";
    known += "'" + class_names[i] + "'";
    if (classes[i].str() != class_names[i]) known += " (" + classes[i].str() + ")";
  }
  std::string shown(label.substr(0, 80));
  throw InputError("row " + std::to_string(row) + ": label '" + shown +
                   "' is not one of the model's classes: " + known);
}

std::vector<std::size_t> SetFitFolder::label_set(std::string_view cell, std::size_t row) const {
  std::vector<std::size_t> out;
  const auto trim = [](std::string_view v) {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    return v;
  };
  if (trim(cell).empty()) return out;
  std::size_t start = 0;
  while (start <= cell.size()) {
    const std::size_t end = std::min(cell.find(kLabelSetSeparator, start), cell.size());
    const std::string_view name = trim(cell.substr(start, end - start));
    if (name.empty()) {
      throw InputError("row " + std::to_string(row) + ": label set '" + std::string(cell.substr(0, 80)) +
                       "' has an empty name (label names are joined by '" + kLabelSetSeparator +
                       "'; an empty cell is the empty set)");
    }
    out.push_back(label_index(name, row));
    start = end + 1;
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace docquant::setfit
