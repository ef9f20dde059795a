#include "inc_config.h"

#include <fmt/core.h>
#include <yaml-cpp/yaml.h>

#include <set>

#include "docquant/error.h"

namespace docquant::tune {

namespace {

class YamlReader {
 public:
  explicit YamlReader(std::string file) : file_(std::move(file)) {}

  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw InputError(fmt::format("{}: key '{}': {}", file_, key, what));
  }

  // Checks `node` is a map whose keys are all in `allowed`.
  void expect_map(const YAML::Node& node, const std::string& key, const std::set<std::string>& allowed) const {
    if (!node.IsMap()) fail(key, "expected a mapping");
    for (const auto& kv : node) {
      const std::string name = kv.first.as<std::string>();
      if (!allowed.count(name)) {
        std::string known;
        for (const auto& a : allowed) known += (known.empty() ? "" : ", ") + a;
        fail(key.empty() ? name : key + "." + name, fmt::format("unknown or unsupported key (supported here: {})", known));
      }
    }
  }

  template <typename T>
  T scalar(const YAML::Node& node, const std::string& key) const {
    if (!node.IsScalar()) fail(key, "expected a single value");
    try {
      return node.as<T>();
    } catch (const YAML::Exception&) {
      fail(key, fmt::format("'{}' is not a valid value", node.Scalar()));
    }
  }

  void expect_value(const YAML::Node& node, const std::string& key, const std::string& wanted,
                    const std::string& why) const {
    const auto v = scalar<std::string>(node, key);
    if (v != wanted) fail(key, fmt::format("'{}' is not supported: {}", v, why));
  }

 private:
  std::string file_;
};

}  // namespace

void apply_inc_yaml(const std::filesystem::path& file, QuantizeOptions& o) {
  YamlReader r(file.string());
  YAML::Node root;
  try {
    root = YAML::LoadFile(file.string());
  } catch (const YAML::BadFile&) {
    throw InputError(fmt::format("{}: cannot open the YAML config", file.string()));
  } catch (const YAML::Exception& e) {
    throw InputError(fmt::format("{}: line {}: not valid YAML: {}", file.string(), e.mark.line + 1, e.msg));
  }
  if (!root || root.IsNull()) throw InputError(fmt::format("{}: the YAML config is empty", file.string()));
  r.expect_map(root, "", {"version", "model", "device", "quantization", "tuning"});

  if (const auto model = root["model"]) {
    r.expect_map(model, "model", {"name", "framework"});
    if (model["name"]) r.scalar<std::string>(model["name"], "model.name");
    if (model["framework"]) {
      const auto framework = r.scalar<std::string>(model["framework"], "model.framework");
      if (framework != "onnxrt_integerops" && framework != "onnxrt_qlinearops" && framework != "onnxrt_qdq") {
        r.fail("model.framework", fmt::format("'{}' is not supported: docquant quantizes ONNX models to INT8 "
                                              "(onnxrt_integerops, onnxrt_qlinearops or onnxrt_qdq)", framework));
      }
    }
  }
  if (const auto device = root["device"]) r.expect_value(device, "device", "cpu", "docquant runs on the CPU");
  if (const auto q = root["quantization"]) {
    r.expect_map(q, "quantization", {"approach"});
    if (q["approach"]) {
      const auto approach = r.scalar<std::string>(q["approach"], "quantization.approach");
      if (approach == "post_training_dynamic_quant") {
        o.approach = QuantizeApproach::dynamic;
      } else if (approach == "post_training_static_quant") {
        o.approach = QuantizeApproach::static_;
      } else {
        r.fail("quantization.approach", fmt::format("'{}' is not supported (post_training_dynamic_quant or "
                                                    "post_training_static_quant)", approach));
      }
    }
  }
  if (const auto t = root["tuning"]) {
    r.expect_map(t, "tuning", {"accuracy_criterion", "exit_policy", "random_seed", "strategy"});
    if (const auto ac = t["accuracy_criterion"]) {
      r.expect_map(ac, "tuning.accuracy_criterion", {"relative", "absolute", "higher_is_better"});
      if (ac["relative"] && ac["absolute"]) {
        r.fail("tuning.accuracy_criterion", "give either relative or absolute, not both");
      }
      if (ac["relative"]) {
        o.relative_criterion = true;
        o.criterion = r.scalar<double>(ac["relative"], "tuning.accuracy_criterion.relative");
        if (o.criterion < 0 || o.criterion >= 1) r.fail("tuning.accuracy_criterion.relative", "must be in [0, 1)");
      }
      if (ac["absolute"]) {
        o.relative_criterion = false;
        o.criterion = r.scalar<double>(ac["absolute"], "tuning.accuracy_criterion.absolute");
        if (o.criterion < 0) r.fail("tuning.accuracy_criterion.absolute", "must be >= 0");
      }
      if (ac["higher_is_better"]) {
        o.higher_is_better = r.scalar<bool>(ac["higher_is_better"], "tuning.accuracy_criterion.higher_is_better");
      }
    }
    if (const auto ep = t["exit_policy"]) {
      r.expect_map(ep, "tuning.exit_policy", {"timeout", "max_trials"});
      if (ep["timeout"]) {
        const double timeout = r.scalar<double>(ep["timeout"], "tuning.exit_policy.timeout");
        if (timeout < 0) r.fail("tuning.exit_policy.timeout", "must be >= 0");
        o.max_time = std::chrono::duration<double>(timeout);
      }
      if (ep["max_trials"]) {
        o.max_trials = r.scalar<int>(ep["max_trials"], "tuning.exit_policy.max_trials");
        if (o.max_trials < 1) r.fail("tuning.exit_policy.max_trials", "must be >= 1");
      }
    }
    if (t["random_seed"]) o.seed = r.scalar<std::uint64_t>(t["random_seed"], "tuning.random_seed");
    if (const auto s = t["strategy"]) {
      r.expect_map(s, "tuning.strategy", {"name"});
      const auto name = r.scalar<std::string>(s["name"], "tuning.strategy.name");
      const auto strategy = parse_quantize_strategy(name);
      if (!strategy) r.fail("tuning.strategy.name", fmt::format("'{}' is not supported (basic or sensitivity)", name));
      o.strategy = *strategy;
    }
  }
}

}  // namespace docquant::tune
