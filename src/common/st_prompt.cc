#include "st_prompt.h"

#include "docquant/error.h"
#include "file_util.h"
#include "json_file.h"

namespace docquant {

std::optional<DefaultPrompt> read_default_prompt(const std::filesystem::path& folder) {
  const auto file = folder / "config_sentence_transformers.json";
  if (input_path_type(file) == std::filesystem::file_type::not_found) return std::nullopt;
  const nlohmann::json j = read_json_file(file);
  if (!j.is_object()) throw InputError(file.string() + ": expected a JSON object");
  if (!j.contains("default_prompt_name") || j.at("default_prompt_name").is_null()) return std::nullopt;
  const nlohmann::json& name = j.at("default_prompt_name");
  if (!name.is_string()) throw InputError(file.string() + ": field 'default_prompt_name' is not a string");
  const std::string key = name.get<std::string>();
  const bool have_prompts = j.contains("prompts");
  if (!have_prompts || !j.at("prompts").is_object())
    throw InputError(file.string() + ": field 'default_prompt_name' is '" + key + "' but field 'prompts' is " +
                     (have_prompts ? "not an object of name: text" : "missing"));
  const nlohmann::json& prompts = j.at("prompts");
  for (const auto& [k, v] : prompts.items()) {
    if (!v.is_string()) throw InputError(file.string() + ": field 'prompts' entry '" + k + "' is not a string");
  }
  if (!prompts.contains(key))
    throw InputError(file.string() + ": field 'default_prompt_name' names '" + key +
                     "', which is not a key of field 'prompts'");
  return DefaultPrompt{key, prompts.at(key).get<std::string>(), file};
}

}  // namespace docquant
