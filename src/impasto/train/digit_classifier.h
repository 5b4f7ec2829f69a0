#pragma once
// A small CNN that recognises the rendered digits of the `digits` synthetic set (data/dataset.h):
// the judge for GANs and translation networks trained on digits, the way an Inception network
// judges natural images (Salimans et al. 2016). Trained in a few seconds on CPU, deterministically
// for a seed, on its own stream of real digits.
#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <string>

namespace impasto {

class DigitClassifierImpl : public torch::nn::Module {
 public:
  explicit DigitClassifierImpl(int64_t channels = 3);
  // Canonical images [N,C,H,W] in [0,1] -> logits [N,10]. Images of another channel count are
  // converted (RGB -> mean grey, grey -> repeated) and other sizes resized to 32x32.
  at::Tensor forward(at::Tensor images);
  int64_t channels() const { return channels_; }

 private:
  int64_t channels_;
  torch::nn::Conv2d c1{nullptr}, c2{nullptr}, c3{nullptr};
  torch::nn::Linear fc{nullptr};
};
TORCH_MODULE(DigitClassifier);

struct DigitClassifierOptions {
  int64_t channels = 3;
  std::string synthetic = "digits";  // any labelled digit set: digits, digits-paper, digits-neon
  int64_t steps = 800;               // Adam steps on batches of 64 at 32x32
  uint64_t seed = 1000;              // of the weights and of the data (not a GAN's data seed)
};

struct DigitClassifierResult {
  DigitClassifier net{nullptr};  // in eval mode, on the CPU
  double accuracy = 0;           // top-1 on 512 held-out real digits
};

DigitClassifierResult train_digit_classifier(const DigitClassifierOptions& options = {});

}  // namespace impasto
