#include "impasto/train/eval_classifiers.h"

#include <torch/torch.h>

#include <chrono>
#include <cstdio>

namespace impasto {

ImageClassifier trained_digit_classifier(const DigitClassifierOptions& options, const Callbacks& callbacks) {
  callbacks.info("training the digit classifier for the Inception Score (" + std::to_string(options.steps) +
                 " steps on rendered digits)");
  const auto start = std::chrono::steady_clock::now();
  DigitClassifierResult trained = train_digit_classifier(options);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  char description[256];
  std::snprintf(description, sizeof description,
                "digit classifier trained on the fly (%lld steps on rendered %s, seed %llu, %.1f s): "
                "accuracy %.3f on held-out digits",
                static_cast<long long>(options.steps), options.synthetic.c_str(),
                static_cast<unsigned long long>(options.seed), seconds, trained.accuracy);
  ImageClassifier c;
  c.name = "digits";
  c.description = description;
  std::shared_ptr<DigitClassifierImpl> net = trained.net.ptr();
  c.logits = [net](const at::Tensor& images) {
    torch::NoGradGuard no_grad;
    return net->forward(images.to(torch::kCPU, torch::kFloat32));
  };
  callbacks.info(c.description);
  return c;
}

ClassifierFactories trained_classifiers() {
  ClassifierFactories factories;
  // One judge per labelled digit set: `digits` (the Hershey renderer, all palettes) and `digits-ttf`
  // (the TrueType renderer), each trained on its own set.
  for (const char* set : {"digits", "digits-ttf"}) {
    factories[set] = [set](const Callbacks& callbacks) {
      DigitClassifierOptions options;
      options.synthetic = set;
      ImageClassifier c = trained_digit_classifier(options, callbacks);
      c.name = set;
      return c;
    };
  }
  return factories;
}

}  // namespace impasto
