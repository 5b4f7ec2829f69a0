// style/lbfgs: the image optimiser converges on classic hard problems and its path does not depend
// on the objective's scale.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "impasto/style/lbfgs.h"

using namespace impasto;

namespace {

// Rosenbrock's valley, f = (1 - a)^2 + 100 (b - a^2)^2, minimum 0 at (1, 1).
double rosenbrock(const at::Tensor& x, at::Tensor& grad) {
  const double a = x[0].item<double>(), b = x[1].item<double>();
  grad[0] = -2 * (1 - a) - 400 * a * (b - a * a);
  grad[1] = 200 * (b - a * a);
  return (1 - a) * (1 - a) + 100 * (b - a * a) * (b - a * a);
}

// An ill-conditioned quadratic 0.5 * scale * sum_i c_i x_i^2 with curvatures c_i from 1 to 1e4.
ImageLbfgs::Objective quadratic(double scale) {
  const at::Tensor c = at::logspace(0, 4, 500, 10.0, at::kDouble);
  return [c, scale](const at::Tensor& x, at::Tensor& grad) {
    grad.copy_(scale * c * x);
    return 0.5 * scale * (c * x * x).sum().item<double>();
  };
}

}  // namespace

TEST(ImageLbfgs, FindsTheBottomOfRosenbrocksValley) {
  at::Tensor x = torch::tensor({-1.2, 1.0}, at::kDouble);
  ImageLbfgs optimiser(x, rosenbrock, {});
  int steps = 0;
  double previous = 1e300;
  for (; steps < 100 && x.sub(1).abs().max().item<double>() > 1e-6; ++steps) {
    const auto taken = optimiser.step();
    EXPECT_LE(taken.loss, previous);  // every accepted step lowers the loss (sufficient decrease)
    previous = taken.loss;
  }
  EXPECT_NEAR(x[0].item<double>(), 1.0, 1e-6);
  EXPECT_NEAR(x[1].item<double>(), 1.0, 1e-6);
  EXPECT_LT(steps, 60);  // quasi-Newton methods with a Wolfe line search need 30-40 from this start
  EXPECT_LT(optimiser.evaluations(), 2 * steps + 10);
}

TEST(ImageLbfgs, ThePathDoesNotDependOnTheObjectivesScale) {
  // torch::optim::LBFGS compares s'y with 1e-10 and max|g| with 1e-7, so at scale 1e-12 it takes
  // no step at all; here every scale takes the same path.
  const at::Tensor start = at::linspace(-1, 1, 500, at::kDouble);
  std::vector<at::Tensor> ends;
  std::vector<double> reductions;
  for (double scale : {1e-12, 1.0, 1e8}) {
    at::Tensor x = start.clone();
    ImageLbfgs optimiser(x, quadratic(scale), {});
    at::Tensor g = at::empty_like(x);
    const double first = quadratic(scale)(x, g);
    double last = first;
    for (int i = 0; i < 40; ++i) last = optimiser.step().loss;
    ends.push_back(x.clone());
    reductions.push_back(last / first);
  }
  for (size_t i = 1; i < ends.size(); ++i) {
    EXPECT_LT((ends[i] - ends[0]).abs().max().item<double>(), 1e-9) << "scale #" << i;
    EXPECT_NEAR(reductions[i], reductions[0], 1e-6 * reductions[0] + 1e-15);
  }
  EXPECT_LT(reductions[0], 1e-3);  // and it does converge (condition number 1e4, 40 steps)
}

TEST(ImageLbfgs, AtAStationaryPointItStaysPut) {
  at::Tensor x = torch::zeros({500}, at::kDouble);
  ImageLbfgs optimiser(x, quadratic(1.0), {});
  for (int i = 0; i < 3; ++i) {
    const auto taken = optimiser.step();
    EXPECT_FALSE(taken.moved);
    EXPECT_EQ(taken.loss, 0.0);
  }
  EXPECT_EQ(optimiser.evaluations(), 1);
  EXPECT_EQ(x.abs().max().item<double>(), 0.0);
}

TEST(ImageLbfgs, ANonFiniteTrialIsStepBackFrom) {
  // f = sum x^2 where |x| < 2, NaN beyond: the trial steps that leave the domain are shortened.
  at::Tensor x = torch::full({10}, 1.5, at::kDouble);
  ImageLbfgs::Options options;
  options.trial_step = 50;  // far out of the domain on every quasi-Newton step
  ImageLbfgs optimiser(
      x,
      [](const at::Tensor& x, at::Tensor& grad) {
        grad.copy_(2 * x);
        return x.abs().max().item<double>() < 2 ? (x * x).sum().item<double>() : std::nan("");
      },
      options);
  for (int i = 0; i < 20; ++i) optimiser.step();
  EXPECT_LT(x.abs().max().item<double>(), 1e-6);
}
