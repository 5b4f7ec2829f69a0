#include "impasto/losses/losses.h"

#include <torch/torch.h>

#include "impasto/core/error.h"
#include "impasto/nn/matmul.h"

namespace impasto {

LossNormalisation parse_normalisation(const std::string& name) {
  if (name == "gatys") return LossNormalisation::gatys;
  if (name == "mse") return LossNormalisation::mse;
  if (name == "energy") return LossNormalisation::energy;
  throw OptionError("normalisation", "unknown normalisation '" + name + "'; valid: energy, gatys, mse");
}

std::string to_string(LossNormalisation n) {
  switch (n) {
    case LossNormalisation::gatys: return "gatys";
    case LossNormalisation::mse: return "mse";
    case LossNormalisation::energy: return "energy";
  }
  return "?";
}

at::Tensor gram_matrix(const at::Tensor& features, const at::Tensor& mask) {
  TORCH_CHECK(features.dim() == 4, "gram_matrix expects [N,C,H,W]");
  const int64_t n = features.size(0), c = features.size(1);
  at::Tensor f = features;
  at::Tensor norm;
  if (mask.defined()) {
    f = features * mask;
    norm = (mask * mask).sum({1, 2, 3}).clamp_min(1e-8).view({-1, 1, 1}) ;
    if (norm.size(0) == 1 && n > 1) norm = norm.expand({n, 1, 1});
  }
  f = f.reshape({n, c, -1});
  auto g = torch::bmm(f, f.transpose(1, 2));
  return mask.defined() ? g / norm : g / static_cast<double>(features.size(2) * features.size(3));
}

at::Tensor content_loss(const at::Tensor& features, const at::Tensor& target, LossNormalisation norm) {
  auto diff2 = (features - target).pow(2);
  switch (norm) {
    case LossNormalisation::gatys: return 0.5 * diff2.sum();
    case LossNormalisation::mse: return diff2.mean();
    case LossNormalisation::energy: return diff2.sum() / target.pow(2).sum().clamp_min(1e-12);
  }
  return diff2.sum();
}

at::Tensor style_loss(const at::Tensor& gram, const at::Tensor& target_gram, LossNormalisation norm) {
  const double c = static_cast<double>(gram.size(-1));
  auto diff2 = (gram - target_gram).pow(2);
  switch (norm) {
    case LossNormalisation::gatys: return diff2.sum() / (4.0 * c * c);
    case LossNormalisation::mse: return diff2.mean() / (c * c);
    case LossNormalisation::energy: return diff2.sum() / target_gram.pow(2).sum().clamp_min(1e-12);
  }
  return diff2.sum();
}

namespace {

// The factor k of L = k sum (G^ - A^)^2 for a Gram of `gram_numel` entries and `channels` channels.
double style_loss_factor(LossNormalisation norm, const at::Tensor& target_gram, int64_t gram_numel, int64_t channels) {
  const double c = static_cast<double>(channels);
  switch (norm) {
    case LossNormalisation::gatys: return 1.0 / (4.0 * c * c);
    case LossNormalisation::mse: return 1.0 / (static_cast<double>(gram_numel) * c * c);
    case LossNormalisation::energy: return 1.0 / std::max(target_gram.pow(2).sum().item<double>(), 1e-12);
  }
  return 1.0;
}

struct FusedStyleLoss : torch::autograd::Function<FusedStyleLoss> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& features, const at::Tensor& target_gram,
                            int64_t norm) {
    const int64_t n = features.size(0), c = features.size(1), h = features.size(2), w = features.size(3), m = h * w;
    // Channels-last features (a bf16 backbone's) are rows [N, M, C] as they lie: G = F'^T F'. bf16
    // features give a float32 Gram (their products are exact in float32; the sums are float32).
    const bool rows = features.suggest_memory_format() == at::MemoryFormat::ChannelsLast && c > 1;
    const at::Tensor f = rows ? features.permute({0, 2, 3, 1}).reshape({n, m, c}) : features.reshape({n, c, m});
    const at::Tensor gram = rows ? dense_bmm(f.transpose(1, 2), f) : dense_bmm(f, f.transpose(1, 2));
    const at::Tensor diff = gram.div_(static_cast<double>(m)) - target_gram;
    const double k = style_loss_factor(static_cast<LossNormalisation>(norm), target_gram, diff.numel(), c);
    // bf16 features: S = D + D^T is rounded to bf16 for the backward product, an error of the order
    // of the bf16 backbone's own backward pass, which the gradient goes through next.
    const at::Tensor sym = diff + diff.transpose(1, 2);
    ctx->save_for_backward({f, f.scalar_type() == at::kBFloat16 ? sym.to(at::kBFloat16) : sym});
    ctx->saved_data["scale"] = 2.0 * k / static_cast<double>(m);
    ctx->saved_data["shape"] = std::vector<int64_t>{n, c, h, w, rows ? 1 : 0};
    return diff.pow(2).sum().mul_(k);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grad) {
    const auto saved = ctx->get_saved_variables();
    const double scale = ctx->saved_data["scale"].toDouble();
    const std::vector<int64_t> s = ctx->saved_data["shape"].toIntVector();
    if (s[4]) {  // rows: dL/dF' = F' S (S = D + D^T is symmetric), back in channels-last layout
      const at::Tensor g = dense_bmm(saved[0], saved[1]).mul_(grad[0] * scale).to(saved[0].scalar_type());
      return {g.view({s[0], s[2], s[3], s[1]}).permute({0, 3, 1, 2}), at::Tensor(), at::Tensor()};
    }
    const at::Tensor grad_f =
        dense_bmm(saved[1], saved[0]).mul_(grad[0] * scale).to(saved[0].scalar_type()).view({s[0], s[1], s[2], s[3]});
    return {grad_f, at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor fused_style_loss(const at::Tensor& features, const at::Tensor& target_gram, LossNormalisation norm) {
  TORCH_CHECK(features.dim() == 4, "fused_style_loss expects [N,C,H,W] features");
  if (target_gram.requires_grad()) return style_loss(gram_matrix(features), target_gram, norm);
  return FusedStyleLoss::apply(features, target_gram, static_cast<int64_t>(norm));
}

at::Tensor tv_loss(const at::Tensor& image) {
  using torch::indexing::Slice;
  auto dy = image.index({Slice(), Slice(), Slice(1, torch::indexing::None), Slice()}) - image.index({Slice(), Slice(), Slice(torch::indexing::None, -1), Slice()});
  auto dx = image.index({Slice(), Slice(), Slice(), Slice(1, torch::indexing::None)}) - image.index({Slice(), Slice(), Slice(), Slice(torch::indexing::None, -1)});
  return (dy.pow(2).sum() + dx.pow(2).sum()) / static_cast<double>(image.numel());
}

}  // namespace impasto
