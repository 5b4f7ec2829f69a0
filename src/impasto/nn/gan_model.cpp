#include "impasto/nn/gan_model.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <filesystem>

#include "impasto/core/error.h"
#include "impasto/io/builtin_models.h"
#include "impasto/nn/backbone.h"

namespace impasto {

Json to_json(const GanNetOptions& o) {
  return Json{{"arch", o.arch},           {"size", o.size},         {"channels", o.channels},
              {"data_dim", o.data_dim},   {"z_dim", o.z_dim},       {"g_width", o.g_width},
              {"d_width", o.d_width},     {"d_norm", o.d_norm},     {"spectral_norm", o.spectral_norm},
              {"minibatch_stddev", o.minibatch_stddev}, {"g_norm", o.g_norm}, {"g_upsample", o.g_upsample},
              {"pack", o.pack},           {"mlp_hidden", o.mlp_hidden}, {"mlp_layers", o.mlp_layers},
              {"categories", o.categories}};
}

GanNetOptions gan_net_options_from_json(const Json& json) {
  GanNetOptions o;
  JsonReader r(json);
  r.get("arch", o.arch).get("size", o.size).get("channels", o.channels).get("data_dim", o.data_dim);
  r.get("z_dim", o.z_dim).get("g_width", o.g_width).get("d_width", o.d_width).get("d_norm", o.d_norm);
  r.get("spectral_norm", o.spectral_norm).get("minibatch_stddev", o.minibatch_stddev).get("mlp_hidden", o.mlp_hidden).get("mlp_layers", o.mlp_layers);
  r.get("g_norm", o.g_norm).get("g_upsample", o.g_upsample).get("pack", o.pack).get("categories", o.categories);
  r.reject_unknown();
  return o;
}

StateDict sub_state_dict(const StateDict& dict, const std::string& prefix) {
  StateDict out;
  const std::string p = prefix + ".";
  for (const auto& [name, tensor] : dict)
    if (name.rfind(p, 0) == 0) out.emplace_back(name.substr(p.size()), tensor);
  return out;
}

std::string gan_checkpoint_file(const std::string& path, bool prefer_ema) {
  namespace fs = std::filesystem;
  const std::string builtin_prefix = "builtin-";
  if (!fs::exists(path) && path.rfind(builtin_prefix, 0) == 0 && path.find('/') == std::string::npos) {
    const std::string relative = path.substr(builtin_prefix.size()) + "/generator.ckpt";
    const std::string file = find_builtin_model(relative);
    if (file.empty()) throw FileError(path, "no such file, and no built-in GAN models/" + relative);
    return file;
  }
  if (!fs::is_directory(path)) return path;
  // generator.ckpt is written right after each training checkpoint, so it is as new as latest.ckpt.
  const std::vector<const char*> order = prefer_ema ? std::vector<const char*>{"/generator.ckpt", "/checkpoints/latest.ckpt"}
                                                    : std::vector<const char*>{"/checkpoints/latest.ckpt", "/generator.ckpt"};
  for (const char* name : order)
    if (fs::is_regular_file(path + name)) return path + name;
  throw FileError(path, "no checkpoints/latest.ckpt or generator.ckpt: not a GAN run folder, or no checkpoint yet");
}

GanModel load_gan_model(const std::string& path, bool prefer_ema, c10::Device device) {
  const std::string file = gan_checkpoint_file(path, prefer_ema);
  Checkpoint checkpoint = load_checkpoint(file);
  if (checkpoint.arch != "gan" || !checkpoint.meta.contains("nets"))
    throw FormatError(file, "not a GAN checkpoint (architecture '" + checkpoint.arch + "')");
  GanModel model;
  model.source = file;
  model.nets = gan_net_options_from_json(checkpoint.meta["nets"]);
  model.step = checkpoint.meta.value("step", int64_t{0});
  model.generator = make_generator(model.nets);
  StateDict weights;
  if (prefer_ema) weights = sub_state_dict(checkpoint.tensors, "G_ema");
  model.ema = !weights.empty();
  if (weights.empty()) weights = sub_state_dict(checkpoint.tensors, "G");
  if (weights.empty()) throw FormatError(file, "holds no generator weights (G.* or G_ema.*)");
  load_state_dict(*model.generator, weights, file);
  model.generator->to(device);
  model.generator->eval();
  return model;
}

at::Tensor sample_latents(int64_t n, int64_t z_dim, double truncation, uint64_t seed) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  at::Tensor z = at::randn({n, z_dim}, generator);
  if (truncation > 0) {
    // Redraw the coordinates outside [-t, t]; each round keeps a fraction P(|z| <= t) of them, so
    // this ends quickly for any t that is not tiny (t = 0.1 keeps 8% per round).
    for (int round = 0; round < 1000; ++round) {
      at::Tensor outside = z.abs() > truncation;
      const int64_t count = outside.sum().item<int64_t>();
      if (count == 0) break;
      z.masked_scatter_(outside, at::randn({count}, generator));
    }
    z.clamp_(-truncation, truncation);
  }
  return z;
}

void set_latent_categories(at::Tensor& z, const at::Tensor& categories, int64_t K) {
  z.narrow(1, 0, K).copy_(at::one_hot(categories.to(at::kLong), K).to(z.scalar_type()));
}

at::Tensor sample_gan_latents(const GanNetOptions& nets, int64_t n, double truncation, uint64_t seed, int64_t category) {
  at::Tensor z = sample_latents(n, nets.z_dim, truncation, seed);
  const int64_t K = nets.categories;
  if (category >= 0 && K == 0) throw OptionError("category", "this generator was trained without latent categories");
  if (K == 0) return z;
  if (category >= K)
    throw OptionError("category", "must be in 0.." + std::to_string(K - 1) + " (the generator's categories), got " + std::to_string(category));
  at::Tensor chosen;
  if (category >= 0) {
    chosen = at::full({n}, category, at::kLong);
  } else {
    auto generator = at::make_generator<at::CPUGeneratorImpl>(seed ^ 0xca7e6041ULL);
    chosen = at::randint(0, K, {n}, generator);
  }
  set_latent_categories(z, chosen, K);
  return z;
}

at::Tensor slerp(const at::Tensor& a, const at::Tensor& b, double t) {
  const auto an = a / a.norm(2, -1, true).clamp_min(1e-12);
  const auto bn = b / b.norm(2, -1, true).clamp_min(1e-12);
  const auto omega = (an * bn).sum(-1, true).clamp(-1.0, 1.0).acos();
  const auto so = omega.sin();
  // Nearly parallel vectors: the formula is 0/0, a straight line is exact to first order.
  const auto parallel = so.abs() < 1e-6;
  const auto wa = at::where(parallel, at::full_like(so, 1.0 - t), at::sin((1.0 - t) * omega) / so);
  const auto wb = at::where(parallel, at::full_like(so, t), at::sin(t * omega) / so);
  return wa * a + wb * b;
}

at::Tensor to_gan_range(const at::Tensor& image) { return image * 2.0 - 1.0; }
at::Tensor from_gan_range(const at::Tensor& image) { return ((image + 1.0) * 0.5).clamp(0.0, 1.0); }

at::Tensor generate(GanModel& model, const at::Tensor& z) {
  torch::NoGradGuard no_grad;
  const auto device = model.generator->parameters().front().device();
  at::Tensor out = model.generator->forward(z.to(device)).cpu();
  return out.dim() == 4 ? from_gan_range(out) : out;
}

}  // namespace impasto
