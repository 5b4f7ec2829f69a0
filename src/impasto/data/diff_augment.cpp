#include "impasto/data/diff_augment.h"

#include <torch/torch.h>

#include <algorithm>

#include "impasto/core/error.h"
#include "impasto/core/text.h"

namespace impasto {
namespace {

// U(0,1) per sample, shaped [N,1,1,1] to broadcast over an image.
at::Tensor per_sample_uniform(const at::Tensor& x, at::Generator& generator) {
  return at::rand({x.size(0), 1, 1, 1}, generator, at::TensorOptions().dtype(x.scalar_type()).device(x.device()));
}

at::Tensor color(const at::Tensor& x, at::Generator& generator) {
  // brightness: + U(-0.5, 0.5)
  at::Tensor y = x + (per_sample_uniform(x, generator) - 0.5);
  // saturation: scale the distance from the per-pixel channel mean by U(0, 2)
  const at::Tensor pixel_mean = y.mean(1, /*keepdim=*/true);
  y = (y - pixel_mean) * (per_sample_uniform(x, generator) * 2.0) + pixel_mean;
  // contrast: scale the distance from the image mean by U(0.5, 1.5)
  const at::Tensor image_mean = y.mean({1, 2, 3}, /*keepdim=*/true);
  return (y - image_mean) * (per_sample_uniform(x, generator) + 0.5) + image_mean;
}

// Integer shift by up to 1/8 of each side (rounded), the uncovered border zero. Gathering from a
// zero-padded copy keeps it differentiable: out[n,:,i,j] = padded[n,:,i+1-dy,j+1-dx] with the
// index clamped into the padding when it leaves the image.
at::Tensor translation(const at::Tensor& x, at::Generator& generator) {
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  const int64_t max_y = static_cast<int64_t>(h * 0.125 + 0.5), max_x = static_cast<int64_t>(w * 0.125 + 0.5);
  const auto long_opts = at::TensorOptions().dtype(at::kLong).device(x.device());
  const at::Tensor dy = at::randint(-max_y, max_y + 1, {n, 1, 1}, generator, long_opts);
  const at::Tensor dx = at::randint(-max_x, max_x + 1, {n, 1, 1}, generator, long_opts);
  const at::Tensor rows = (at::arange(h, long_opts).view({1, h, 1}) + 1 - dy).clamp(0, h + 1);  // [N,H,1]
  const at::Tensor cols = (at::arange(w, long_opts).view({1, 1, w}) + 1 - dx).clamp(0, w + 1);  // [N,1,W]
  const at::Tensor padded = at::constant_pad_nd(x, {1, 1, 1, 1}, 0.0);                         // [N,C,H+2,W+2]
  // Flat index into each padded plane, then one gather over the last dimension.
  const at::Tensor index = (rows * (w + 2) + cols).view({n, 1, h * w}).expand({n, c, h * w});
  return padded.reshape({n, c, (h + 2) * (w + 2)}).gather(2, index).view({n, c, h, w});
}

// Zeroes a square of half the side (rounded) centred at a uniform position, clipped at the border.
at::Tensor cutout(const at::Tensor& x, at::Generator& generator) {
  const int64_t n = x.size(0), h = x.size(2), w = x.size(3);
  const int64_t cut_h = static_cast<int64_t>(h * 0.5 + 0.5), cut_w = static_cast<int64_t>(w * 0.5 + 0.5);
  const auto long_opts = at::TensorOptions().dtype(at::kLong).device(x.device());
  // Centres in [0, side] for even cut sizes, [0, side-1] for odd ones (as the reference does).
  const at::Tensor cy = at::randint(0, h + (1 - cut_h % 2), {n, 1, 1}, generator, long_opts);
  const at::Tensor cx = at::randint(0, w + (1 - cut_w % 2), {n, 1, 1}, generator, long_opts);
  const at::Tensor ys = at::arange(h, long_opts).view({1, h, 1});
  const at::Tensor xs = at::arange(w, long_opts).view({1, 1, w});
  // Inside when cy - cut_h/2 <= y < cy - cut_h/2 + cut_h (and the same in x).
  const at::Tensor top = cy - cut_h / 2, left = cx - cut_w / 2;
  const at::Tensor inside = (ys >= top) & (ys < top + cut_h) & (xs >= left) & (xs < left + cut_w);  // [N,H,W]
  const at::Tensor mask = at::logical_not(inside).to(x.scalar_type()).unsqueeze(1);
  return x * mask;
}

// Rotates every pixel's colour about the grey axis (1,1,1)/sqrt(3) by an angle U(-pi, pi) per
// sample (Rodrigues' formula R = cos t I + sin t [k]x + (1 - cos t) k k^T): the hue turns, grey and
// the distance from grey stay. In the GAN range the axis passes through mid-grey (0). Images with
// other than 3 channels are returned as they are.
at::Tensor hue(const at::Tensor& x, at::Generator& generator) {
  if (x.size(1) != 3) return x;
  const at::Tensor t = (per_sample_uniform(x, generator) * 2.0 - 1.0) * M_PI;  // [N,1,1,1]
  const at::Tensor c = t.cos(), s = t.sin();
  const at::Tensor mean = x.mean(1, /*keepdim=*/true);  // k k^T x = the grey part
  // [k]x x = k x (r, g, b) = (b - g, r - b, g - r) / sqrt(3)
  const at::Tensor r = x.narrow(1, 0, 1), g = x.narrow(1, 1, 1), b = x.narrow(1, 2, 1);
  const at::Tensor cross = at::cat({b - g, r - b, g - r}, 1) / std::sqrt(3.0);
  return c * x + s * cross + (1.0 - c) * mean;
}

// Negates the image (light <-> dark; in the GAN range x -> -x) for half of the samples.
at::Tensor invert(const at::Tensor& x, at::Generator& generator) {
  const at::Tensor flip = (per_sample_uniform(x, generator) < 0.5).to(x.scalar_type());
  return x * (1.0 - 2.0 * flip);
}

using Transform = at::Tensor (*)(const at::Tensor&, at::Generator&);

// Every transform by its policy name, in the order the error messages list them.
const std::vector<std::pair<std::string, Transform>>& transforms() {
  static const std::vector<std::pair<std::string, Transform>> all = {
      {"color", color}, {"translation", translation}, {"cutout", cutout}, {"hue", hue}, {"invert", invert}};
  return all;
}

Transform find_transform(const std::string& name) {
  for (const auto& [known, transform] : transforms())
    if (known == name) return transform;
  return nullptr;
}

std::string valid_names() {
  std::string names;
  for (const auto& [name, transform] : transforms()) names += (names.empty() ? "" : ", ") + name;
  return names;
}

}  // namespace

std::vector<std::string> parse_diff_augment(const std::string& policy, const std::string& option) {
  std::vector<std::string> out;
  if (trim(policy).empty()) return out;
  size_t start = 0;
  while (start <= policy.size()) {
    const size_t comma = std::min(policy.find(',', start), policy.size());
    std::string name = trim(policy.substr(start, comma - start));
    if (name.empty()) throw OptionError(option, "empty name in '" + policy + "'; valid: " + valid_names());
    if (!find_transform(name)) throw OptionError(option, "unknown augmentation '" + name + "'; valid: " + valid_names());
    if (std::find(out.begin(), out.end(), name) != out.end())
      throw OptionError(option, "'" + name + "' is listed twice");
    out.push_back(name);
    start = comma + 1;
  }
  return out;
}

at::Tensor diff_augment(const at::Tensor& images, const std::vector<std::string>& policy, at::Generator& generator) {
  if (policy.empty()) return images;
  TORCH_CHECK(images.dim() == 4, "diff_augment expects [N,C,H,W] images, got ", images.sizes());
  at::Tensor x = images;
  for (const auto& name : policy) {
    const Transform transform = find_transform(name);
    if (!transform) throw OptionError("diffaug", "unknown augmentation '" + name + "'; valid: " + valid_names());
    x = transform(x, generator);
  }
  return x;
}

}  // namespace impasto
