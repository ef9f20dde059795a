// Op types a dynamic quantizer could handle but docquant does not yet: they are
// listed so the decisions say why such a node stays fp32.
#include "quantizer.h"

namespace docquant::quant {

namespace {

class UnsupportedQuantizer final : public Quantizer {
 public:
  UnsupportedQuantizer(std::string op_type, std::string why) : op_type_(std::move(op_type)), why_(std::move(why)) {}

  std::string_view op_type() const noexcept override { return op_type_; }
  std::optional<WeightSpec> weight_spec(const onnx::NodeProto&, const QuantPlan&, const GraphView&) const override {
    return std::nullopt;
  }
  std::optional<std::string> refusal(const onnx::NodeProto&, const QuantPlan&, const GraphView&) const override {
    return why_;
  }
  Rewrite rewrite(const onnx::NodeProto&, const NodeConfig&, RewriteContext&) const override { return {}; }

 private:
  std::string op_type_;
  std::string why_;
};

}  // namespace

std::unique_ptr<Quantizer> make_unsupported_quantizer(std::string op_type, std::string why) {
  return std::make_unique<UnsupportedQuantizer>(std::move(op_type), std::move(why));
}

}  // namespace docquant::quant
