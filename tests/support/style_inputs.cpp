#include "style_inputs.h"

#include <torch/torch.h>

#include "impasto/data/synthetic.h"

namespace impasto::test {

StylizeInputs landscape_and_painting(int64_t size) {
  StylizeInputs in;
  in.content.rgb = synthetic_landscape(size, size, 1);
  StyleInput s;
  s.name = "painting";
  s.image = synthetic_painting(size, size, 2);
  in.styles.push_back(s);
  return in;
}

at::Tensor photo(int64_t h, int64_t w, uint64_t seed) { return (synthetic_landscape(h, w, seed) * 255).round() / 255; }

TransformerNet published_transformer_net() {
  torch::manual_seed(3);
  TransformerNet net = make_transformer_net();
  net->eval();
  torch::NoGradGuard no_grad;
  const at::Tensor probe = to_255_range(synthetic_landscape(96, 96, 1));
  const at::Tensor raw = net->forward_raw(probe);
  const double k = 64.0 / raw.std().item<double>();
  for (auto& p : net->named_parameters()) {
    if (p.key() == "deconv3.conv2d.weight") p.value().mul_(k);
    if (p.key() == "deconv3.conv2d.bias") p.value().copy_(128.0 - (raw.mean({0, 2, 3}) - p.value()) * k);
  }
  return net;
}

}  // namespace impasto::test
