#include "impasto/train/digit_classifier.h"

#include <torch/torch.h>

#include "impasto/core/error.h"
#include "impasto/core/runtime.h"
#include "impasto/data/dataset.h"

namespace impasto {

namespace nn = torch::nn;

DigitClassifierImpl::DigitClassifierImpl(int64_t channels) : channels_(channels) {
  if (channels != 1 && channels != 3) throw OptionError("channels", "must be 1 or 3");
  c1 = register_module("c1", nn::Conv2d(nn::Conv2dOptions(channels, 16, 3).padding(1)));
  c2 = register_module("c2", nn::Conv2d(nn::Conv2dOptions(16, 32, 3).padding(1)));
  c3 = register_module("c3", nn::Conv2d(nn::Conv2dOptions(32, 64, 3).padding(1)));
  fc = register_module("fc", nn::Linear(64, 10));
}

at::Tensor DigitClassifierImpl::forward(at::Tensor x) {
  if (x.dim() != 4 || (x.size(1) != 1 && x.size(1) != 3))
    throw OptionError("images", "the digit classifier takes [N,1|3,H,W] images");
  if (x.size(1) != channels_) x = channels_ == 1 ? x.mean(1, true) : x.expand({-1, 3, -1, -1});
  if (x.size(2) != 32 || x.size(3) != 32)
    x = torch::nn::functional::interpolate(
        x, torch::nn::functional::InterpolateFuncOptions().size(std::vector<int64_t>{32, 32}).mode(torch::kBilinear).align_corners(false).antialias(true));
  x = torch::max_pool2d(torch::relu(c1(x * 2 - 1)), 2);
  x = torch::max_pool2d(torch::relu(c2(x)), 2);
  x = torch::max_pool2d(torch::relu(c3(x)), 2).amax({2, 3});  // global max: position-free
  return fc(x);
}

DigitClassifierResult train_digit_classifier(const DigitClassifierOptions& o) {
  if (o.steps < 1) throw OptionError("steps", "must be at least 1");
  seed_everything(o.seed);
  DigitClassifierResult result;
  result.net = DigitClassifier(o.channels);
  torch::optim::Adam optimizer(result.net->parameters(), torch::optim::AdamOptions(2e-3));
  DatasetOptions d;
  d.synthetic = o.synthetic;
  d.size = 32;
  d.channels = o.channels;
  d.batch_size = 64;
  d.seed = o.seed;
  d.workers = 1;
  auto data = make_dataset(d);
  if (data->num_classes() != 10) throw OptionError("synthetic", "'" + o.synthetic + "' is not a labelled digit set");
  data->start(0);
  for (int64_t step = 0; step < o.steps; ++step) {
    Batch b = data->next();
    at::Tensor loss = torch::cross_entropy_loss(result.net->forward(b.samples), b.labels);
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
  }
  result.net->eval();
  torch::NoGradGuard no_grad;
  int64_t right = 0, total = 0;
  for (int i = 0; i < 8; ++i) {  // batches after the training ones: unseen digits
    Batch b = data->next();
    right += (result.net->forward(b.samples).argmax(1) == b.labels).sum().item<int64_t>();
    total += b.labels.size(0);
  }
  result.accuracy = static_cast<double>(right) / static_cast<double>(total);
  return result;
}

}  // namespace impasto
