#pragma once
// L-BFGS for the image being optimised (style/gatys), with a strong-Wolfe line search.
//
// Why not torch::optim::LBFGS as neural-style uses it (learning rate 1, one iteration per call, no
// line search): every iteration then moves by exactly the quasi-Newton step, whatever it does to the
// loss. On a dark, saturated photo with a pale, low-contrast painting those steps are far too short
// and nothing lengthens them: the style loss fell in a straight line, to 0.64 of its start after 60
// iterations at 256 px (issue 17; multiplying the loss by 1e4 changed nothing, so it is not torch's
// absolute thresholds). A line search that enforces the strong Wolfe conditions (Nocedal & Wright
// 2006, "Numerical Optimization", eqs. 3.7 and algorithms 3.5/3.6) lengthens such steps and shortens
// overshooting ones, and its curvature condition guarantees s'y > 0, so every accepted step improves
// the memory: the same run reaches 1e-5 of its start.
//
// One iteration: the direction from the two-loop recursion (Nocedal & Wright alg. 7.4, initial
// Hessian s'y/y'y of the newest pair), a trial step of 1 (the first iteration, without memory, tries
// a step that moves the most-changed pixel by 1/10 of the range: scale-free, unlike 1/|g|_1), and
// the line search; usually the trial step is accepted at once, so an iteration costs one evaluation
// of the objective. Nothing is compared against absolute thresholds of the loss or gradient scale
// (torch's LBFGS drops curvature pairs with s'y <= 1e-10 and stops when max|g| <= 1e-7): the
// objective's scale never changes the path.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <deque>
#include <functional>

namespace impasto {

class ImageLbfgs {
 public:
  // Evaluates the objective at `x` (the tensor given to the constructor, changed in place by the
  // optimiser) and returns it; writes its gradient into `grad` (same shape as x).
  using Objective = std::function<double(const at::Tensor& x, at::Tensor& grad)>;

  struct Options {
    int64_t history = 100;          // curvature pairs kept
    double sufficient_decrease = 1e-4;  // c1 of the Armijo condition
    double curvature = 0.9;         // c2 of the strong Wolfe condition (0.9: quasi-Newton's usual)
    int max_evaluations_per_step = 20;  // line search budget; the best point so far is taken then
    double trial_step = 1;          // first step length tried along the quasi-Newton direction
  };

  ImageLbfgs(at::Tensor x, Objective objective, Options options);

  struct Step {
    double loss = 0;        // at the accepted point (x now holds it)
    int evaluations = 0;    // objective evaluations this step took (the first step's include the start)
    int64_t accepted_evaluation = 0;  // 1-based index (over the optimiser's life) of the accepted point's evaluation
    bool moved = false;     // false when no step lowered the loss (a stationary point, or float precision)
  };
  // One L-BFGS iteration. The first call also evaluates the starting point.
  Step step();

  // The objective now computes the same function more exactly (style/gatys: bf16 evaluations, then
  // fp32): evaluates the current point again, so the next line search compares like with like. The
  // curvature memory is kept (its pairs still describe the function). One evaluation; returns its loss.
  double reevaluate();

  int64_t evaluations() const { return evaluations_; }

 private:
  struct Point {
    double t = 0, loss = 0, slope = 0;  // step length, objective, directional derivative g'd
    at::Tensor grad;
    int64_t evaluation = 0;
  };
  Point evaluate(double t);
  at::Tensor direction() const;
  // Nocedal & Wright alg. 3.6 between a low point (Armijo holds, lowest so far) and a high one.
  Point zoom(Point lo, Point hi, const Point& origin, int& budget);

  at::Tensor x_, start_, dir_, grad_;
  Objective objective_;
  Options options_;
  double loss_ = 0;
  int64_t evaluations_ = 0, last_evaluation_ = 0;
  bool started_ = false, stuck_ = false;  // stuck: not even steepest descent lowers the loss
  std::deque<at::Tensor> s_, y_;
  std::deque<double> rho_;
};

}  // namespace impasto
