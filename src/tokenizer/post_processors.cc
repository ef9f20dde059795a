#include "post_processors.h"

#include <algorithm>
#include <utility>

namespace docquant::tokenizer {
namespace {

class ClsSep final : public PostProcessor {
 public:
  ClsSep(std::string name, int64_t cls, int64_t sep) : name_(std::move(name)), cls_(cls), sep_(sep) {}
  std::size_t added_tokens() const override { return 2; }
  void process(std::vector<int64_t>& ids, std::vector<int64_t>& type_ids) const override {
    std::vector<int64_t> out;
    out.reserve(ids.size() + 2);
    out.push_back(cls_);
    out.insert(out.end(), ids.begin(), ids.end());
    out.push_back(sep_);
    ids.swap(out);
    type_ids.assign(ids.size(), 0);
  }
  std::string name() const override { return name_; }
  int64_t max_special_id() const override { return std::max(cls_, sep_); }

 private:
  std::string name_;
  int64_t cls_, sep_;
};

class Template final : public PostProcessor {
 public:
  explicit Template(std::vector<TemplatePart> single) : single_(std::move(single)) {
    for (const auto& p : single_)
      if (!p.is_sequence) added_ += p.special_ids.size();
  }
  std::size_t added_tokens() const override { return added_; }
  void process(std::vector<int64_t>& ids, std::vector<int64_t>& type_ids) const override {
    std::vector<int64_t> out_ids, out_types;
    out_ids.reserve(ids.size() + added_);
    out_types.reserve(ids.size() + added_);
    for (const auto& p : single_) {
      if (p.is_sequence) {
        out_ids.insert(out_ids.end(), ids.begin(), ids.end());
        out_types.insert(out_types.end(), ids.size(), p.type_id);
      } else {
        out_ids.insert(out_ids.end(), p.special_ids.begin(), p.special_ids.end());
        out_types.insert(out_types.end(), p.special_ids.size(), p.type_id);
      }
    }
    ids.swap(out_ids);
    type_ids.swap(out_types);
  }
  std::string name() const override { return "TemplateProcessing"; }
  int64_t max_special_id() const override {
    int64_t m = -1;
    for (const auto& p : single_)
      for (const int64_t id : p.special_ids) m = std::max(m, id);
    return m;
  }

 private:
  std::vector<TemplatePart> single_;
  std::size_t added_ = 0;
};

class Identity final : public PostProcessor {
 public:
  explicit Identity(std::string name) : name_(std::move(name)) {}
  std::size_t added_tokens() const override { return 0; }
  void process(std::vector<int64_t>&, std::vector<int64_t>&) const override {}
  std::string name() const override { return name_; }
  int64_t max_special_id() const override { return -1; }

 private:
  std::string name_;
};

class Sequence final : public PostProcessor {
 public:
  explicit Sequence(std::vector<std::unique_ptr<PostProcessor>> parts) : parts_(std::move(parts)) {}
  std::size_t added_tokens() const override {
    std::size_t n = 0;
    for (const auto& p : parts_) n += p->added_tokens();
    return n;
  }
  void process(std::vector<int64_t>& ids, std::vector<int64_t>& type_ids) const override {
    for (const auto& p : parts_) p->process(ids, type_ids);
  }
  std::string name() const override {
    std::string n = "Sequence[";
    for (std::size_t i = 0; i < parts_.size(); ++i) n += (i ? ", " : "") + parts_[i]->name();
    return n + "]";
  }
  int64_t max_special_id() const override {
    int64_t m = -1;
    for (const auto& p : parts_) m = std::max(m, p->max_special_id());
    return m;
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> parts_;
};

}  // namespace

std::unique_ptr<PostProcessor> make_cls_sep_processor(std::string name, int64_t cls_id, int64_t sep_id) {
  return std::make_unique<ClsSep>(std::move(name), cls_id, sep_id);
}
std::unique_ptr<PostProcessor> make_template_processor(std::vector<TemplatePart> single) {
  return std::make_unique<Template>(std::move(single));
}
std::unique_ptr<PostProcessor> make_identity_processor(std::string name) {
  return std::make_unique<Identity>(std::move(name));
}
std::unique_ptr<PostProcessor> make_sequence_processor(std::vector<std::unique_ptr<PostProcessor>> parts) {
  return std::make_unique<Sequence>(std::move(parts));
}

}  // namespace docquant::tokenizer
