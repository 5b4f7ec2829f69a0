#include "impasto/data/synthetic.h"

#include <torch/torch.h>

#include <cmath>
#include <opencv2/imgproc.hpp>
#include <random>

namespace impasto {
namespace {

// 8-bit BGR cv::Mat -> canonical RGB tensor.
at::Tensor to_tensor(const cv::Mat& bgr) {
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  auto t = torch::from_blob(rgb.data, {rgb.rows, rgb.cols, 3}, torch::kUInt8).clone();
  return t.permute({2, 0, 1}).unsqueeze(0).to(torch::kFloat32).div(255.0).contiguous();
}

cv::Scalar rgb(double r, double g, double b) { return cv::Scalar(b, g, r); }

}  // namespace

at::Tensor synthetic_landscape(int64_t height, int64_t width, uint64_t seed) {
  const int h = static_cast<int>(height), w = static_cast<int>(width);
  cv::Mat img(h, w, CV_8UC3);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  // Sky: blue at the top to pale near the horizon.
  for (int y = 0; y < h; ++y) {
    const double t = static_cast<double>(y) / h;
    img.row(y).setTo(rgb(110 + 120 * t, 160 + 80 * t, 230 + 20 * t));
  }
  const double s = std::min(h, w) / 256.0;
  auto P = [&](double fx, double fy) { return cv::Point(static_cast<int>(fx * w), static_cast<int>(fy * h)); };
  cv::circle(img, P(0.78, 0.18), static_cast<int>(22 * s), rgb(255, 236, 150), cv::FILLED, cv::LINE_AA);
  // Mountains.
  std::vector<cv::Point> mountains = {P(0, 0.55), P(0.12, 0.36), P(0.25, 0.48), P(0.42, 0.28), P(0.6, 0.5),
                                      P(0.75, 0.38), P(0.9, 0.47), P(1, 0.42), P(1, 0.6), P(0, 0.6)};
  cv::fillPoly(img, std::vector<std::vector<cv::Point>>{mountains}, rgb(120, 130, 160), cv::LINE_AA);
  // Snow caps.
  cv::fillPoly(img, std::vector<std::vector<cv::Point>>{{P(0.42, 0.28), P(0.37, 0.34), P(0.47, 0.34)}}, rgb(240, 240, 245), cv::LINE_AA);
  // Hills with a wavy edge.
  std::vector<cv::Point> hills;
  for (int x = 0; x <= w; x += std::max(1, w / 64))
    hills.emplace_back(x, static_cast<int>(h * (0.58 + 0.05 * std::sin(x * 6.0 / w) + 0.02 * std::sin(x * 17.0 / w))));
  hills.push_back(P(1, 1));
  hills.push_back(P(0, 1));
  cv::fillPoly(img, std::vector<std::vector<cv::Point>>{hills}, rgb(80, 150, 70), cv::LINE_AA);
  // A lake.
  cv::ellipse(img, P(0.25, 0.82), cv::Size(static_cast<int>(0.2 * w), static_cast<int>(0.07 * h)), 0, 0, 360,
              rgb(70, 120, 190), cv::FILLED, cv::LINE_AA);
  // A house: walls, roof, door, windows.
  cv::rectangle(img, P(0.55, 0.62), P(0.78, 0.84), rgb(225, 205, 170), cv::FILLED, cv::LINE_AA);
  cv::fillPoly(img, std::vector<std::vector<cv::Point>>{{P(0.52, 0.63), P(0.665, 0.5), P(0.81, 0.63)}}, rgb(170, 60, 50), cv::LINE_AA);
  cv::rectangle(img, P(0.645, 0.72), P(0.69, 0.84), rgb(110, 70, 40), cv::FILLED, cv::LINE_AA);
  cv::rectangle(img, P(0.575, 0.67), P(0.62, 0.73), rgb(90, 140, 200), cv::FILLED, cv::LINE_AA);
  cv::rectangle(img, P(0.71, 0.67), P(0.755, 0.73), rgb(90, 140, 200), cv::FILLED, cv::LINE_AA);
  // A tree.
  cv::rectangle(img, P(0.88, 0.66), P(0.9, 0.8), rgb(100, 70, 40), cv::FILLED, cv::LINE_AA);
  cv::circle(img, P(0.89, 0.62), static_cast<int>(18 * s), rgb(40, 110, 50), cv::FILLED, cv::LINE_AA);
  // Grain, as in a photo.
  cv::Mat noise(h, w, CV_16SC3);
  std::normal_distribution<double> n(0.0, 4.0);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) noise.at<cv::Vec3s>(y, x) = cv::Vec3s(n(rng), n(rng), n(rng));
  cv::Mat img16;
  img.convertTo(img16, CV_16SC3);
  img16 += noise;
  img16.convertTo(img, CV_8UC3);
  (void)u;
  return to_tensor(img);
}

at::Tensor synthetic_painting(int64_t height, int64_t width, uint64_t seed) {
  const int h = static_cast<int>(height), w = static_cast<int>(width);
  cv::Mat img(h, w, CV_8UC3, rgb(20, 35, 80));
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const double s = std::min(h, w) / 256.0;
  // Swirl centres: the flow turns around each of them.
  struct Vortex { double x, y, strength; };
  std::vector<Vortex> vortices;
  for (int i = 0; i < 5; ++i) vortices.push_back({u(rng) * w, u(rng) * h * 0.8, (u(rng) < 0.5 ? -1.0 : 1.0) * (0.6 + u(rng))});
  auto flow = [&](double x, double y) {
    double vx = 1.0, vy = 0.15;  // a gentle drift to the right
    for (const auto& v : vortices) {
      const double dx = x - v.x, dy = y - v.y;
      const double r2 = dx * dx + dy * dy + 400.0 * s * s;
      const double k = v.strength * 4000.0 * s * s / r2;
      vx += -dy * k / std::sqrt(r2) * 1.0;
      vy += dx * k / std::sqrt(r2) * 1.0;
    }
    const double n = std::sqrt(vx * vx + vy * vy) + 1e-9;
    return std::make_pair(vx / n, vy / n);
  };
  const std::vector<cv::Scalar> palette = {rgb(25, 50, 120), rgb(40, 80, 170), rgb(70, 120, 200), rgb(120, 170, 220),
                                           rgb(30, 110, 130), rgb(230, 200, 80), rgb(245, 230, 150), rgb(15, 25, 60)};
  const std::vector<double> palette_p = {0.2, 0.2, 0.16, 0.1, 0.1, 0.1, 0.06, 0.08};
  std::discrete_distribution<int> pick(palette_p.begin(), palette_p.end());
  const int strokes = static_cast<int>(3500 * (static_cast<double>(h) * w) / (256.0 * 256.0));
  for (int i = 0; i < strokes; ++i) {
    double x = u(rng) * w, y = u(rng) * h;
    cv::Scalar c = palette[pick(rng)];
    const double jitter = 0.85 + 0.3 * u(rng);
    c = cv::Scalar(std::min(255.0, c[0] * jitter), std::min(255.0, c[1] * jitter), std::min(255.0, c[2] * jitter));
    const int thickness = std::max(1, static_cast<int>((2 + 3 * u(rng)) * s));
    std::vector<cv::Point> line;
    const double step = 3.0 * s;
    for (int k = 0; k < 6; ++k) {
      line.emplace_back(static_cast<int>(x), static_cast<int>(y));
      auto [dx, dy] = flow(x, y);
      x += dx * step;
      y += dy * step;
    }
    cv::polylines(img, line, false, c, thickness, cv::LINE_AA);
  }
  // Stars: yellow discs with a halo of short strokes.
  for (int i = 0; i < 6; ++i) {
    const cv::Point c(static_cast<int>(u(rng) * w), static_cast<int>(u(rng) * h * 0.6));
    const int r = static_cast<int>((6 + 8 * u(rng)) * s);
    for (int ring = 3; ring >= 1; --ring)
      cv::circle(img, c, r + ring * static_cast<int>(3 * s + 1), ring % 2 ? rgb(240, 220, 120) : rgb(200, 210, 160),
                 std::max(1, static_cast<int>(2 * s)), cv::LINE_AA);
    cv::circle(img, c, r, rgb(250, 240, 170), cv::FILLED, cv::LINE_AA);
  }
  return to_tensor(img);
}

}  // namespace impasto
