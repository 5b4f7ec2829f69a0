#include "impasto/style/gan_styles.h"

#include <torch/torch.h>

#include "impasto/core/error.h"
#include "impasto/core/resource_cache.h"
#include "impasto/io/text_file.h"
#include "impasto/nn/gan_model.h"

namespace impasto {
namespace {

constexpr int64_t kMaxGanStyles = 64;

// Latent rows from a JSON file (see GanStyleOptions::latents) as [n, z_dim] float32.
at::Tensor read_latents(const std::string& file, int64_t z_dim) {
  Json json = read_json_file(file, "the latent file");
  if (json.is_object() && json.contains("style_gan")) json = json["style_gan"];
  if (json.is_object() && json.contains("latents")) json = json["latents"];
  if (!json.is_array() || json.empty())
    throw FormatError(file, "holds no latents: expected [[z...], ...], {\"latents\": [...]} or a stylization summary with style_gan");
  if (static_cast<int64_t>(json.size()) > kMaxGanStyles)
    throw FormatError(file, "holds " + std::to_string(json.size()) + " latents; at most " + std::to_string(kMaxGanStyles));
  std::vector<float> values;
  for (const Json& row : json) {
    if (!row.is_array() || static_cast<int64_t>(row.size()) != z_dim)
      throw FormatError(file, "every latent must be a list of " + std::to_string(z_dim) + " numbers (the generator's z_dim)");
    for (const Json& v : row) {
      if (!v.is_number()) throw FormatError(file, "latents must be numbers");
      values.push_back(v.get<float>());
    }
  }
  return torch::tensor(values).view({static_cast<int64_t>(json.size()), z_dim});
}

}  // namespace

void check_gan_style_options(const GanStyleOptions& o) {
  if (!o.enabled()) {
    if (!o.latents.empty()) throw OptionError("style_latent", "needs --style-gan (the run whose generator makes the styles)");
    return;
  }
  if (o.count < 1 || o.count > kMaxGanStyles)
    throw OptionError("style_count", "must be in 1.." + std::to_string(kMaxGanStyles) + ", got " + std::to_string(o.count));
  if (o.truncation < 0) throw OptionError("style_truncation", "must be >= 0 (0 = off)");
  if (o.category < -1) throw OptionError("style_category", "must be >= 0 (or -1: drawn)");
  if (o.category >= 0 && !o.latents.empty()) throw OptionError("style_category", "is for drawn latents, not with --style-latent");
}

GanStyles generate_gan_styles(const GanStyleOptions& o, c10::Device device, ResourceCache* cache) {
  check_gan_style_options(o);
  GanStyles out;
  if (!o.enabled()) return out;
  const auto load = [&] { return std::make_shared<GanModel>(load_gan_model(o.run, /*prefer_ema=*/true, device)); };
  // Generation only reads the shared generator (eval mode, no gradients): callers may share it.
  const std::shared_ptr<GanModel> shared =
      cache ? cache->get<GanModel>("gan-generator:" + file_version(gan_checkpoint_file(o.run)) + ":" + device.str(), load) : load();
  GanModel& model = *shared;
  if (model.nets.arch == "mlp") throw FormatError(model.source, "this GAN makes points, not pictures: it cannot paint styles");
  at::Tensor z;
  try {
    z = o.latents.empty() ? sample_gan_latents(model.nets, o.count, o.truncation, o.seed, o.category)
                          : read_latents(o.latents, model.nets.z_dim);
  } catch (const OptionError& e) {
    throw OptionError("style_" + e.option(), e.detail());  // the category: --style-category here
  }
  at::Tensor images = generate(model, z);  // [K,C,S,S] in [0,1]
  if (images.size(1) == 1) images = images.expand({-1, 3, -1, -1}).contiguous();
  for (int64_t i = 0; i < images.size(0); ++i) out.images.push_back(images.narrow(0, i, 1).contiguous());
  std::vector<std::vector<float>> rows;
  const at::Tensor zc = z.to(at::kFloat).contiguous();
  for (int64_t i = 0; i < zc.size(0); ++i) {
    const float* p = zc[i].data_ptr<float>();
    rows.emplace_back(p, p + zc.size(1));
  }
  out.record = Json{{"run", o.run},   {"checkpoint", model.source}, {"step", model.step}, {"ema", model.ema},
                    {"count", zc.size(0)}, {"truncation", o.truncation}, {"latents", rows}};
  if (o.category >= 0) out.record["category"] = o.category;
  if (o.latents.empty())
    out.record["seed"] = o.seed;
  else
    out.record["latents_file"] = o.latents;
  return out;
}

}  // namespace impasto
