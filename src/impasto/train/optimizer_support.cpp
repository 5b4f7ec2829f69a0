#include "impasto/train/optimizer_support.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "impasto/core/error.h"
#include "impasto/nn/backbone.h"
#include "impasto/nn/gan_model.h"

namespace impasto {

double lr_factor(const std::string& schedule, int64_t step, int64_t total, int64_t decay_start) {
  if (schedule == "constant" || step <= decay_start) return 1.0;
  const double span = static_cast<double>(std::max<int64_t>(1, total - decay_start));
  const double progress = std::min(1.0, static_cast<double>(step - decay_start) / span);
  if (schedule == "linear") return 1.0 - progress;
  return 0.5 * (1.0 + std::cos(M_PI * progress));
}

void check_schedule(const std::string& schedule) {
  if (schedule != "constant" && schedule != "linear" && schedule != "cosine")
    throw OptionError("schedule", "unknown schedule '" + schedule + "'; valid: constant, linear, cosine");
}

void set_lr(torch::optim::Adam& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
}

double grad_norm(const std::vector<at::Tensor>& parameters) {
  double sum = 0;
  for (const auto& p : parameters)
    if (p.grad().defined()) sum += p.grad().pow(2).sum().item<double>();
  return std::sqrt(sum);
}

void clip_gradients(const std::vector<at::Tensor>& parameters, double max_norm, double norm) {
  if (max_norm <= 0 || norm <= max_norm) return;
  const double scale = max_norm / (norm + 1e-6);
  for (const auto& p : parameters)
    if (p.grad().defined()) p.grad().mul_(scale);
}

void ema_update(torch::nn::Module& ema, const torch::nn::Module& model, double beta) {
  torch::NoGradGuard no_grad;
  auto ema_params = ema.parameters();
  const auto params = model.parameters();
  for (size_t i = 0; i < ema_params.size(); ++i) ema_params[i].lerp_(params[i], 1.0 - beta);
  auto ema_buffers = ema.buffers();
  const auto buffers = model.buffers();
  for (size_t i = 0; i < ema_buffers.size(); ++i) ema_buffers[i].copy_(buffers[i]);
}

void add_module_state(StateDict& out, const std::string& prefix, const torch::nn::Module& module) {
  for (auto& [name, t] : module_state_dict(module)) out.emplace_back(prefix + "." + name, t.cpu());
}

void add_cpu_rng_state(StateDict& out) {
  out.emplace_back("rng.cpu", at::detail::getDefaultCPUGenerator().get_state());
}

void restore_cpu_rng_state(const StateDict& dict) {
  if (const at::Tensor* rng = find_tensor(dict, "rng.cpu")) {
    at::Generator generator = at::detail::getDefaultCPUGenerator();
    generator.set_state(*rng);
  }
}

namespace {
// LibTorch 1.13 keys optimizer state by the parameter's TensorImpl address, printed.
std::string state_key(const at::Tensor& parameter) { return c10::guts::to_string(parameter.unsafeGetTensorImpl()); }
}  // namespace

void add_adam_state(StateDict& out, const std::string& prefix, torch::optim::Adam& optimizer) {
  const auto& params = optimizer.param_groups().at(0).params();
  for (size_t i = 0; i < params.size(); ++i) {
    auto it = optimizer.state().find(state_key(params[i]));
    if (it == optimizer.state().end()) continue;  // no step taken yet
    const auto& state = static_cast<const torch::optim::AdamParamState&>(*it->second);
    const std::string key = prefix + "." + std::to_string(i) + ".";
    out.emplace_back(key + "step", at::tensor(state.step(), at::kLong));
    out.emplace_back(key + "exp_avg", state.exp_avg().cpu());
    out.emplace_back(key + "exp_avg_sq", state.exp_avg_sq().cpu());
  }
}

void load_adam_state(const StateDict& dict, const std::string& prefix, torch::optim::Adam& optimizer,
                     const std::string& source) {
  const auto& params = optimizer.param_groups().at(0).params();
  for (size_t i = 0; i < params.size(); ++i) {
    const std::string key = prefix + "." + std::to_string(i) + ".";
    const at::Tensor* step = find_tensor(dict, key + "step");
    const at::Tensor* avg = find_tensor(dict, key + "exp_avg");
    const at::Tensor* avg_sq = find_tensor(dict, key + "exp_avg_sq");
    if (!step && !avg && !avg_sq) continue;
    if (!step || !avg || !avg_sq || !avg->sizes().equals(params[i].sizes()) || !avg_sq->sizes().equals(params[i].sizes()))
      throw FormatError(source, "optimizer state " + key + "* is incomplete or does not fit the parameter");
    auto state = std::make_unique<torch::optim::AdamParamState>();
    state->step(step->item<int64_t>());
    state->exp_avg(avg->to(params[i].device()).clone());
    state->exp_avg_sq(avg_sq->to(params[i].device()).clone());
    optimizer.state()[state_key(params[i])] = std::move(state);
  }
}

void TrainingState::add_to(StateDict& out) const {
  for (const auto& [name, module] : modules) add_module_state(out, name, *module);
  for (const auto& [name, optimizer] : optimizers) add_adam_state(out, "optimizer." + name, *optimizer);
}

void TrainingState::load_from(const StateDict& dict, const std::string& source) const {
  for (const auto& [name, module] : modules) load_state_dict(*module, sub_state_dict(dict, name), source);
  for (const auto& [name, optimizer] : optimizers) load_adam_state(dict, "optimizer." + name, *optimizer, source);
}

}  // namespace impasto
