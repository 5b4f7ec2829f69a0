#include "impasto/style/lbfgs.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace impasto {

namespace {

double flat_dot(const at::Tensor& a, const at::Tensor& b) { return at::dot(a.reshape(-1), b.reshape(-1)).item<double>(); }

// The minimiser of the cubic through (t1, f1) and (t2, f2) with slopes g1 and g2, kept inside
// [lo, hi]; the middle of [lo, hi] when the cubic has none or a value is not finite (Nocedal &
// Wright 2006, eq. 3.59).
double cubic_minimiser(double t1, double f1, double g1, double t2, double f2, double g2, double lo, double hi) {
  const double d1 = g1 + g2 - 3 * (f1 - f2) / (t1 - t2);
  const double d2_squared = d1 * d1 - g1 * g2;
  if (d2_squared >= 0) {
    const double d2 = std::copysign(std::sqrt(d2_squared), t2 - t1);
    const double t = t2 - (t2 - t1) * (g2 + d2 - d1) / (g2 - g1 + 2 * d2);
    if (std::isfinite(t)) return std::clamp(t, lo, hi);
  }
  return 0.5 * (lo + hi);
}

}  // namespace

ImageLbfgs::ImageLbfgs(at::Tensor x, Objective objective, Options options)
    : x_(std::move(x)), objective_(std::move(objective)), options_(options) {}

ImageLbfgs::Point ImageLbfgs::evaluate(double t) {
  x_.copy_(start_ + t * dir_);  // under step()'s NoGradGuard
  Point p;
  p.t = t;
  p.grad = at::empty_like(start_);
  p.loss = objective_(x_, p.grad);
  p.slope = flat_dot(p.grad, dir_);
  p.evaluation = ++evaluations_;
  return p;
}

at::Tensor ImageLbfgs::direction() const {
  // Two-loop recursion (Nocedal & Wright alg. 7.4): -H g with H the L-BFGS inverse Hessian, whose
  // initial matrix is gamma I, gamma = s'y / y'y of the newest pair (eq. 7.20).
  at::Tensor q = -grad_;
  const size_t k = s_.size();
  std::vector<double> alpha(k);
  for (size_t i = k; i-- > 0;) {
    alpha[i] = rho_[i] * flat_dot(s_[i], q);
    q.add_(y_[i], -alpha[i]);
  }
  if (k > 0) q.mul_(1.0 / (rho_.back() * flat_dot(y_.back(), y_.back())));
  for (size_t i = 0; i < k; ++i) {
    const double beta = rho_[i] * flat_dot(y_[i], q);
    q.add_(s_[i], alpha[i] - beta);
  }
  return q;
}

ImageLbfgs::Point ImageLbfgs::zoom(Point lo, Point hi, const Point& origin, int& budget) {
  // Nocedal & Wright alg. 3.6: `lo` satisfies the sufficient-decrease condition with the lowest
  // loss so far, the minimiser we want lies between lo and hi.
  const double c1 = options_.sufficient_decrease, c2 = options_.curvature;
  const double max_change = dir_.abs().max().item<double>();
  while (budget > 0) {
    const double a = std::min(lo.t, hi.t), b = std::max(lo.t, hi.t), width = b - a;
    if (width * max_change < 1e-7) break;  // the bracket no longer changes any pixel in float32
    // Safeguard: at least a tenth of the bracket from either end, so it keeps shrinking.
    const double t = cubic_minimiser(lo.t, lo.loss, lo.slope, hi.t, hi.loss, hi.slope, a + 0.1 * width, b - 0.1 * width);
    Point p = evaluate(t);
    --budget;
    if (!std::isfinite(p.loss) || p.loss > origin.loss + c1 * t * origin.slope || p.loss >= lo.loss) {
      hi = std::move(p);
    } else {
      if (std::abs(p.slope) <= -c2 * origin.slope) return p;
      if (p.slope * (hi.t - lo.t) >= 0) hi = lo;
      lo = std::move(p);
    }
  }
  return lo;
}

double ImageLbfgs::reevaluate() {
  torch::NoGradGuard no_grad;
  if (!started_) return loss_;  // the first step() evaluates the start anyway
  loss_ = objective_(x_, grad_);
  last_evaluation_ = ++evaluations_;
  stuck_ = false;
  return loss_;
}

ImageLbfgs::Step ImageLbfgs::step() {
  torch::NoGradGuard no_grad;
  const int64_t evaluations_before = evaluations_;
  if (!started_) {
    grad_ = at::empty_like(x_);
    loss_ = objective_(x_, grad_);
    last_evaluation_ = ++evaluations_;
    started_ = true;
  }
  start_ = x_.detach().clone();

  dir_ = direction();
  double slope = flat_dot(grad_, dir_);
  if (!(slope < 0) && !s_.empty()) {  // the memory gives no descent direction: forget it
    s_.clear(), y_.clear(), rho_.clear();
    dir_ = -grad_;
    slope = flat_dot(grad_, dir_);
  }
  Step out;
  out.loss = loss_;
  out.accepted_evaluation = last_evaluation_;
  out.evaluations = static_cast<int>(evaluations_ - evaluations_before);
  if (!(slope < 0) || stuck_) return out;  // a stationary point (to float precision)

  const Point origin{0.0, loss_, slope, grad_, last_evaluation_};
  // With memory the quasi-Newton step (length 1) is the natural trial; without, a steepest-descent
  // step that changes the most-changed pixel by a tenth of the range.
  const bool without_memory = s_.empty();
  double t = without_memory ? 0.1 / dir_.abs().max().item<double>() : options_.trial_step;

  // Nocedal & Wright alg. 3.5: grow the trial step until it brackets a strong-Wolfe point, then zoom.
  const double c1 = options_.sufficient_decrease, c2 = options_.curvature;
  int budget = options_.max_evaluations_per_step;
  Point previous = origin, accepted = origin;
  for (int i = 0; budget > 0; ++i) {
    Point p = evaluate(t);
    --budget;
    if (!std::isfinite(p.loss) || p.loss > origin.loss + c1 * t * origin.slope || (i > 0 && p.loss >= previous.loss)) {
      accepted = zoom(previous, std::move(p), origin, budget);
      break;
    }
    if (std::abs(p.slope) <= -c2 * origin.slope) {
      accepted = std::move(p);
      break;
    }
    if (p.slope >= 0) {
      accepted = zoom(p, previous, origin, budget);
      break;
    }
    // Still descending: extrapolate, between a little beyond this step and ten times it.
    const double next = cubic_minimiser(previous.t, previous.loss, previous.slope, p.t, p.loss, p.slope,
                                        p.t + 0.01 * (p.t - previous.t), 10 * p.t);
    previous = std::move(p);
    accepted = previous;  // the best so far, if the budget ends here
    t = next;
  }
  out.evaluations = static_cast<int>(evaluations_ - evaluations_before);

  if (accepted.t == 0) {  // no lower point along this direction: back to the start, memory forgotten
    x_.copy_(start_);
    stuck_ = without_memory;
    s_.clear(), y_.clear(), rho_.clear();
    return out;
  }
  if (accepted.evaluation != evaluations_) x_.copy_(start_ + accepted.t * dir_);

  at::Tensor s = accepted.t * dir_;
  at::Tensor y = accepted.grad - grad_;
  const double sy = flat_dot(s, y);
  // Keep the pair when its curvature is positive relative to its own size (scale-free; the strong
  // Wolfe conditions guarantee it whenever the search ended on a Wolfe point).
  if (sy > 1e-10 * std::sqrt(flat_dot(s, s) * flat_dot(y, y))) {
    if (static_cast<int64_t>(s_.size()) == options_.history) s_.pop_front(), y_.pop_front(), rho_.pop_front();
    s_.push_back(std::move(s));
    y_.push_back(std::move(y));
    rho_.push_back(1.0 / sy);
  }
  grad_ = accepted.grad;
  loss_ = accepted.loss;
  last_evaluation_ = accepted.evaluation;
  out.loss = loss_;
  out.accepted_evaluation = last_evaluation_;
  out.moved = true;
  return out;
}

}  // namespace impasto
