#include "inspect_setfit.h"

#include "docquant/setfit.h"

namespace docquant::cli {

void print_setfit_summary(const std::filesystem::path& folder, std::ostream& out,
                          std::string_view tokenizer_kind) {
  const auto f = setfit::SetFitFolder::load(folder);
  const auto& head = f.head;
  out << "SetFit folder:     " << f.path.string() << "\n";
  out << "pooling:           " << f.pooling.describe() << " over "
      << f.pooling.word_embedding_dimension << "-wide token embeddings\n";
  out << "normalisation:     " << (f.normalize ? "L2 (" + f.normalize_source + ")" : std::string("none"))
      << "\n";
  out << "embedding width:   " << f.embedding_width << "\n";
  out << "max_seq_length:    "
      << (f.max_seq_length != 0 ? std::to_string(f.max_seq_length) : std::string("not set")) << "\n";
  if (f.prompt_name) out << "prompt:            '" << *f.prompt_name << "': \"" << f.prompt_text << "\" before every text\n";
  out << "tokenizer:         ";
  if (!tokenizer_kind.empty()) {
    out << tokenizer_kind << "\n";
  } else {
    std::error_code ec;
    out << (std::filesystem::exists(folder / "tokenizer.json", ec) ? "tokenizer.json" : "no tokenizer.json")
        << "\n";
  }
  out << "head:              "
      << setfit::to_string(head.kind())
      << (head.multi_label() ? ", multi-label" : "") << "\n";
  out << "probabilities:     " << setfit::to_string(head.proba_rule()) << "\n";
  if (head.kind() == setfit::HeadKind::setfit_head) {
    out << "temperature + eps: " << head.logit_divisor() << "\n";
  } else {
    out << "multi_class:       "
        << (head.multi_class().empty() ? std::string("(not stored; removed in scikit-learn 1.8)")
                                       : head.multi_class())
        << "\n";
    out << "scikit-learn:      "
        << (head.sklearn_version().empty() ? std::string("unknown") : head.sklearn_version()) << "\n";
  }
  out << "classes:           " << head.num_classes() << " (names from "
      << setfit::to_string(f.label_source) << ")\n";
  for (std::size_t i = 0; i < f.class_names.size(); ++i) {
    out << "  " << i << ": " << f.class_names[i];
    if (head.classes()[i].str() != f.class_names[i]) out << "  [classes_ value " << head.classes()[i].str() << "]";
    out << "\n";
  }
}

}  // namespace docquant::cli
