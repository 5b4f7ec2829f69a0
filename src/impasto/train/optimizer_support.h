#pragma once
// Pieces every training recipe (GAN, feed-forward, CycleGAN) shares around its optimizers: the
// learning-rate schedules, gradient norms and clipping, the exponential moving average of weights,
// and what run checkpoints hold (modules, Adam's state, the RNG state).
#include <torch/nn/module.h>
#include <torch/optim/adam.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "impasto/io/weights.h"

namespace impasto {

// The learning-rate factor at `step` (1-based) of `total`: 1 for "constant", else 1 until
// `decay_start`, then to 0 at `total` linearly ("linear": CycleGAN's schedule) or along a half
// cosine ("cosine": Loshchilov & Hutter 2017).
double lr_factor(const std::string& schedule, int64_t step, int64_t total, int64_t decay_start);
// OptionError("schedule") unless constant | linear | cosine.
void check_schedule(const std::string& schedule);

void set_lr(torch::optim::Adam& optimizer, double lr);

// The L2 norm of all gradients together (parameters without a gradient count 0).
double grad_norm(const std::vector<at::Tensor>& parameters);
// Scales the gradients so their joint norm (`norm`, from grad_norm) is at most `max_norm`; no-op
// when max_norm <= 0.
void clip_gradients(const std::vector<at::Tensor>& parameters, double max_norm, double norm);

// theta_ema <- beta * theta_ema + (1 - beta) * theta for the parameters; buffers (batch-norm
// statistics) copied. Both modules must have the same structure.
void ema_update(torch::nn::Module& ema, const torch::nn::Module& model, double beta);

// A module's parameters and buffers under "<prefix>.<name>" (CPU copies), for run checkpoints.
void add_module_state(StateDict& out, const std::string& prefix, const torch::nn::Module& module);

// The default CPU generator's state as "rng.cpu", and its restoration (a no-op when absent).
void add_cpu_rng_state(StateDict& out);
void restore_cpu_rng_state(const StateDict& dict);

// Adam's per-parameter state as named tensors "<prefix>.<index>.{step,exp_avg,exp_avg_sq}", index in
// parameter order: readable, and identical for identical states (LibTorch keys its own state by
// memory address). Parameters without state (no step taken) are left out.
void add_adam_state(StateDict& out, const std::string& prefix, torch::optim::Adam& optimizer);
// The reverse; FormatError(source) for incomplete or mis-shaped state.
void load_adam_state(const StateDict& dict, const std::string& prefix, torch::optim::Adam& optimizer,
                     const std::string& source);

// A recipe's trained state as its run checkpoints hold it: each module's parameters and buffers under
// "<name>." and each optimizer's Adam state under "optimizer.<name>.".
struct TrainingState {
  std::vector<std::pair<std::string, torch::nn::Module*>> modules;
  std::vector<std::pair<std::string, torch::optim::Adam*>> optimizers;

  void add_to(StateDict& out) const;
  // FormatError(source) naming the first missing, unexpected or mis-shaped tensor.
  void load_from(const StateDict& dict, const std::string& source) const;
};

}  // namespace impasto
