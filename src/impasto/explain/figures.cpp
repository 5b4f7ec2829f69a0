#include "impasto/explain/figures.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <opencv2/imgproc.hpp>

#include "impasto/core/error.h"
#include "impasto/io/image_ops.h"

namespace impasto::explain {
namespace {

const auto kFont = cv::FONT_HERSHEY_SIMPLEX;
const cv::Scalar kInk(40, 40, 40);

// Canonical [1,3,H,W] <-> 8-bit BGR cv::Mat.
cv::Mat to_mat(const at::Tensor& image) {
  at::Tensor t = image.detach().to(torch::kCPU, torch::kFloat32);
  if (t.dim() == 3) t = t.unsqueeze(0);
  if (t.size(1) == 1) t = t.expand({-1, 3, -1, -1});
  t = t[0].clamp(0, 1).mul(255).round().to(torch::kUInt8).permute({1, 2, 0}).flip(2).contiguous();
  cv::Mat m(static_cast<int>(t.size(0)), static_cast<int>(t.size(1)), CV_8UC3, t.data_ptr<uint8_t>());
  return m.clone();
}

at::Tensor from_mat(const cv::Mat& bgr) {
  cv::Mat m = bgr.isContinuous() ? bgr : bgr.clone();
  at::Tensor t = torch::from_blob(m.data, {m.rows, m.cols, 3}, torch::kUInt8).clone();
  return t.flip(2).permute({2, 0, 1}).unsqueeze(0).to(torch::kFloat32).div(255.0).contiguous();
}

// A 256-entry BGR lookup table: blue (59,76,192) -> near white -> red (180,4,38), in RGB terms.
cv::Mat diverging_lut() {
  cv::Mat lut(256, 1, CV_8UC3);
  const double lo[3] = {59, 76, 192}, mid[3] = {242, 242, 242}, hi[3] = {180, 4, 38};
  for (int i = 0; i < 256; ++i) {
    const double t = i / 255.0;
    double rgb[3];
    for (int c = 0; c < 3; ++c)
      rgb[c] = t < 0.5 ? lo[c] + (mid[c] - lo[c]) * (t / 0.5) : mid[c] + (hi[c] - mid[c]) * ((t - 0.5) / 0.5);
    lut.at<cv::Vec3b>(i, 0) = cv::Vec3b(static_cast<uint8_t>(std::lround(rgb[2])), static_cast<uint8_t>(std::lround(rgb[1])),
                                        static_cast<uint8_t>(std::lround(rgb[0])));
  }
  return lut;
}

cv::Mat apply_colormap(const cv::Mat& grey8, Colormap colormap) {
  cv::Mat out;
  switch (colormap) {
    case Colormap::heat: cv::applyColorMap(grey8, out, cv::COLORMAP_INFERNO); break;
    case Colormap::sequential: cv::applyColorMap(grey8, out, cv::COLORMAP_VIRIDIS); break;
    case Colormap::diverging: {
      static const cv::Mat lut = diverging_lut();
      cv::applyColorMap(grey8, out, lut);
      break;
    }
  }
  return out;
}

at::Tensor as_2d(const at::Tensor& map) {
  at::Tensor m = map.detach().to(torch::kCPU, torch::kFloat32);
  while (m.dim() > 2) {
    if (m.size(0) != 1) throw OptionError("map", "expected a single map [H,W], [1,H,W] or [1,1,H,W]");
    m = m[0];
  }
  if (m.dim() != 2) throw OptionError("map", "expected a 2-D map");
  return m;
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

// Words of `text` in lines of at most `width` pixels.
std::vector<std::string> wrap(const std::string& text, int width, double scale) {
  std::vector<std::string> lines;
  std::string line, word;
  auto fits = [&](const std::string& s) {
    int base = 0;
    return cv::getTextSize(s, kFont, scale, 1, &base).width <= width;
  };
  auto flush_word = [&] {
    if (word.empty()) return;
    const std::string candidate = line.empty() ? word : line + " " + word;
    if (fits(candidate) || line.empty()) {
      line = candidate;
    } else {
      lines.push_back(line);
      line = word;
    }
    word.clear();
  };
  for (char c : text) {
    if (c == ' ' || c == '\n') {
      flush_word();
      if (c == '\n') {
        lines.push_back(line);
        line.clear();
      }
    } else {
      word += c;
    }
  }
  flush_word();
  if (!line.empty() || lines.empty()) lines.push_back(line);
  return lines;
}

}  // namespace

at::Tensor colorize(const at::Tensor& map, double lo, double hi, Colormap colormap) {
  const at::Tensor m = as_2d(map);
  const double span = hi > lo ? hi - lo : 1.0;
  at::Tensor u8 = ((m - lo) / span).clamp(0, 1).mul(255).round().to(torch::kUInt8).contiguous();
  cv::Mat grey(static_cast<int>(u8.size(0)), static_cast<int>(u8.size(1)), CV_8UC1, u8.data_ptr<uint8_t>());
  return from_mat(apply_colormap(grey, colormap));
}

at::Tensor resize_nearest(const at::Tensor& map, int64_t height, int64_t width) {
  at::Tensor m = as_2d(map).unsqueeze(0).unsqueeze(0);
  namespace F = torch::nn::functional;
  return F::interpolate(m, F::InterpolateFuncOptions().size(std::vector<int64_t>{height, width}).mode(torch::kNearest))[0][0];
}

at::Tensor overlay_heatmap(const at::Tensor& image, const at::Tensor& map01, Colormap colormap, double opacity) {
  const at::Tensor img = image.detach().to(torch::kCPU, torch::kFloat32);
  const int64_t h = img.size(2), w = img.size(3);
  at::Tensor m = as_2d(map01).clamp(0, 1);
  if (m.size(0) != h || m.size(1) != w) m = resize_image(m.unsqueeze(0).unsqueeze(0), h, w)[0][0].clamp(0, 1);
  const at::Tensor grey = (0.299 * img.select(1, 0) + 0.587 * img.select(1, 1) + 0.114 * img.select(1, 2)).unsqueeze(1);
  const at::Tensor base = (0.25 + 0.5 * grey).expand({-1, 3, -1, -1});  // dimmed, so the colours read well
  const at::Tensor colour = colorize(m, 0, 1, colormap);
  const at::Tensor a = (opacity * m).unsqueeze(0).unsqueeze(0);
  return ((1 - a) * base + a * colour).clamp(0, 1);
}

at::Tensor overlay_signed(const at::Tensor& image, const at::Tensor& map, double opacity) {
  const at::Tensor img = image.detach().to(torch::kCPU, torch::kFloat32);
  const int64_t h = img.size(2), w = img.size(3);
  at::Tensor m = as_2d(map).clamp(-1, 1);
  if (m.size(0) != h || m.size(1) != w) {
    namespace F = torch::nn::functional;
    m = F::interpolate(m.unsqueeze(0).unsqueeze(0), F::InterpolateFuncOptions().size(std::vector<int64_t>{h, w}).mode(torch::kBilinear).align_corners(false))[0][0];
  }
  const at::Tensor grey = (0.299 * img.select(1, 0) + 0.587 * img.select(1, 1) + 0.114 * img.select(1, 2)).unsqueeze(1);
  const at::Tensor base = (0.25 + 0.5 * grey).expand({-1, 3, -1, -1});
  const at::Tensor colour = colorize(m, -1, 1, Colormap::diverging);
  const at::Tensor a = (opacity * m.abs()).unsqueeze(0).unsqueeze(0);
  return ((1 - a) * base + a * colour).clamp(0, 1);
}

at::Tensor colour_bar(int64_t height, double lo, double hi, Colormap colormap, const std::string& label) {
  const int h = static_cast<int>(std::max<int64_t>(height, 60));
  const int bar_w = 16, w = 96, top = label.empty() ? 8 : 22, bottom = 8;
  cv::Mat img(h, w, CV_8UC3, cv::Scalar(255, 255, 255));
  const int bar_h = h - top - bottom;
  cv::Mat ramp(bar_h, 1, CV_8UC1);
  for (int y = 0; y < bar_h; ++y) ramp.at<uint8_t>(y, 0) = static_cast<uint8_t>(std::lround(255.0 * (bar_h - 1 - y) / std::max(1, bar_h - 1)));
  cv::Mat coloured = apply_colormap(ramp, colormap);
  cv::Mat wide;
  cv::resize(coloured, wide, cv::Size(bar_w, bar_h), 0, 0, cv::INTER_NEAREST);
  wide.copyTo(img(cv::Rect(4, top, bar_w, bar_h)));
  cv::rectangle(img, cv::Rect(4, top, bar_w, bar_h), kInk, 1);
  for (int k = 0; k < 3; ++k) {
    const double v = lo + (hi - lo) * k / 2.0;
    const int y = top + bar_h - 1 - static_cast<int>(std::lround((bar_h - 1) * k / 2.0));
    cv::line(img, {4 + bar_w, y}, {4 + bar_w + 4, y}, kInk, 1);
    cv::putText(img, number(v), {4 + bar_w + 6, std::clamp(y + 4, 10, h - 2)}, kFont, 0.36, kInk, 1, cv::LINE_AA);
  }
  if (!label.empty()) cv::putText(img, label, {2, 14}, kFont, 0.36, kInk, 1, cv::LINE_AA);
  return from_mat(img);
}

at::Tensor matrix_heatmap(const at::Tensor& matrix, double lo, double hi, Colormap colormap, int64_t side) {
  const at::Tensor m = as_2d(matrix);
  const int64_t rows = m.size(0), cols = m.size(1);
  const int64_t cell = std::max<int64_t>(1, side / std::max(rows, cols));
  const at::Tensor big = colorize(resize_nearest(m, rows * cell, cols * cell), lo, hi, colormap);
  // Margins for the index ticks.
  const int left = 30, bottom = 16, right = 14;
  cv::Mat body = to_mat(big);
  cv::Mat img(body.rows + bottom + 4, body.cols + left + right, CV_8UC3, cv::Scalar(255, 255, 255));
  body.copyTo(img(cv::Rect(left, 4, body.cols, body.rows)));
  for (int64_t idx : {int64_t{0}, rows / 2, rows - 1}) {
    const int y = 4 + static_cast<int>(idx * cell + cell / 2);
    cv::putText(img, std::to_string(idx), {2, y + 4}, kFont, 0.32, kInk, 1, cv::LINE_AA);
  }
  for (int64_t idx : {int64_t{0}, cols / 2, cols - 1}) {
    const int x = left + static_cast<int>(idx * cell + cell / 2);
    const std::string text = std::to_string(idx);
    int base = 0;
    const int tw = cv::getTextSize(text, kFont, 0.32, 1, &base).width;
    cv::putText(img, text, {x - tw / 2, body.rows + 4 + 12}, kFont, 0.32, kInk, 1, cv::LINE_AA);
  }
  return from_mat(img);
}

at::Tensor with_caption(const at::Tensor& image, const std::string& caption, double font_scale) {
  if (caption.empty()) return image;
  cv::Mat body = to_mat(image);
  const int width = std::max(body.cols, 120);
  const auto lines = wrap(caption, width - 6, font_scale);
  const int line_h = static_cast<int>(std::lround(30 * font_scale)) + 4;
  const int band = static_cast<int>(lines.size()) * line_h + 6;
  cv::Mat img(body.rows + band, width, CV_8UC3, cv::Scalar(255, 255, 255));
  body.copyTo(img(cv::Rect((width - body.cols) / 2, band, body.cols, body.rows)));
  for (size_t i = 0; i < lines.size(); ++i)
    cv::putText(img, lines[i], {3, static_cast<int>(i + 1) * line_h}, kFont, font_scale, kInk, 1, cv::LINE_AA);
  return from_mat(img);
}

at::Tensor hstack(const std::vector<at::Tensor>& images, int64_t padding) {
  if (images.empty()) throw OptionError("images", "nothing to lay out");
  int64_t h = 0, w = padding;
  for (const auto& im : images) h = std::max(h, im.size(2)), w += im.size(3) + padding;
  at::Tensor canvas = torch::ones({1, 3, h + 2 * padding, w});
  int64_t x = padding;
  using torch::indexing::Slice;
  for (const auto& im : images) {
    at::Tensor t = im.detach().to(torch::kCPU, torch::kFloat32);
    if (t.size(1) == 1) t = t.expand({-1, 3, -1, -1});
    canvas.index_put_({Slice(), Slice(), Slice(padding, padding + t.size(2)), Slice(x, x + t.size(3))}, t);
    x += t.size(3) + padding;
  }
  return canvas;
}

at::Tensor vstack(const std::vector<at::Tensor>& images, int64_t padding) {
  if (images.empty()) throw OptionError("images", "nothing to lay out");
  int64_t h = padding, w = 0;
  for (const auto& im : images) w = std::max(w, im.size(3)), h += im.size(2) + padding;
  at::Tensor canvas = torch::ones({1, 3, h, w + 2 * padding});
  int64_t y = padding;
  using torch::indexing::Slice;
  for (const auto& im : images) {
    at::Tensor t = im.detach().to(torch::kCPU, torch::kFloat32);
    if (t.size(1) == 1) t = t.expand({-1, 3, -1, -1});
    canvas.index_put_({Slice(), Slice(), Slice(y, y + t.size(2)), Slice(padding, padding + t.size(3))}, t);
    y += t.size(2) + padding;
  }
  return canvas;
}

at::Tensor captioned_grid(const std::vector<at::Tensor>& images, const std::vector<std::string>& captions,
                          int64_t columns, int64_t cell_height) {
  if (images.empty()) throw OptionError("images", "nothing to lay out");
  if (columns <= 0) columns = static_cast<int64_t>(images.size());
  std::vector<at::Tensor> cells;
  for (size_t i = 0; i < images.size(); ++i) {
    at::Tensor im = images[i].detach().to(torch::kCPU, torch::kFloat32);
    if (im.size(1) == 1) im = im.expand({-1, 3, -1, -1}).contiguous();
    const int64_t w = std::max<int64_t>(1, std::llround(static_cast<double>(im.size(3)) * cell_height / im.size(2)));
    if (im.size(2) * 2 <= cell_height) {
      // Small pictures (GAN samples) grow by whole pixels, without smoothing.
      namespace F = torch::nn::functional;
      im = F::interpolate(im, F::InterpolateFuncOptions().size(std::vector<int64_t>{cell_height, w}).mode(torch::kNearest));
    } else {
      im = resize_image(im, cell_height, w);
    }
    cells.push_back(with_caption(im, i < captions.size() ? captions[i] : ""));
  }
  // Same caption band height in a row: pad each cell at the top to the tallest.
  std::vector<at::Tensor> rows;
  for (size_t r = 0; r < cells.size(); r += static_cast<size_t>(columns)) {
    const size_t end = std::min(cells.size(), r + static_cast<size_t>(columns));
    int64_t tallest = 0;
    for (size_t i = r; i < end; ++i) tallest = std::max(tallest, cells[i].size(2));
    std::vector<at::Tensor> row;
    for (size_t i = r; i < end; ++i) {
      at::Tensor c = cells[i];
      if (c.size(2) < tallest) c = torch::cat({torch::ones({1, 3, tallest - c.size(2), c.size(3)}), c}, 2);
      row.push_back(c);
    }
    rows.push_back(hstack(row, 4));
  }
  return vstack(rows, 0);
}

at::Tensor labelled_grid(const std::vector<at::Tensor>& images, int64_t columns, const std::vector<std::string>& row_labels,
                         const std::vector<std::string>& column_labels, int64_t cell_height) {
  if (images.empty() || columns < 1) throw OptionError("images", "nothing to lay out");
  const int64_t rows = (static_cast<int64_t>(images.size()) + columns - 1) / columns;
  const double scale = 0.42;
  int label_w = 0, base = 0;
  for (const auto& l : row_labels) label_w = std::max(label_w, cv::getTextSize(l, kFont, scale, 1, &base).width);
  if (label_w > 0) label_w += 10;
  const int header = column_labels.empty() ? 0 : 20, pad = 3;
  // Cells: every image at cell_height, the width of the widest.
  std::vector<cv::Mat> cells;
  int cell_w = 0;
  for (const auto& im : images) {
    at::Tensor t = im.detach().to(torch::kCPU, torch::kFloat32);
    if (t.size(1) == 1) t = t.expand({-1, 3, -1, -1}).contiguous();
    const int64_t w = std::max<int64_t>(1, std::llround(static_cast<double>(t.size(3)) * cell_height / t.size(2)));
    namespace F = torch::nn::functional;
    t = t.size(2) * 2 <= cell_height
            ? F::interpolate(t, F::InterpolateFuncOptions().size(std::vector<int64_t>{cell_height, w}).mode(torch::kNearest))
            : resize_image(t, cell_height, w);
    cells.push_back(to_mat(t));
    cell_w = std::max(cell_w, static_cast<int>(w));
  }
  const int ch = static_cast<int>(cell_height);
  cv::Mat img(header + static_cast<int>(rows) * (ch + pad) + pad, label_w + static_cast<int>(columns) * (cell_w + pad) + pad,
              CV_8UC3, cv::Scalar(255, 255, 255));
  for (int64_t c = 0; c < columns && c < static_cast<int64_t>(column_labels.size()); ++c) {
    const int tw = cv::getTextSize(column_labels[c], kFont, scale, 1, &base).width;
    const int x = label_w + pad + static_cast<int>(c) * (cell_w + pad) + (cell_w - tw) / 2;
    cv::putText(img, column_labels[c], {std::max(0, x), 14}, kFont, scale, kInk, 1, cv::LINE_AA);
  }
  for (size_t i = 0; i < cells.size(); ++i) {
    const int r = static_cast<int>(i / columns), c = static_cast<int>(i % columns);
    const int y = header + pad + r * (ch + pad), x = label_w + pad + c * (cell_w + pad);
    cells[i].copyTo(img(cv::Rect(x + (cell_w - cells[i].cols) / 2, y, cells[i].cols, cells[i].rows)));
    if (c == 0 && static_cast<size_t>(r) < row_labels.size())
      cv::putText(img, row_labels[r], {4, y + ch / 2 + 5}, kFont, scale, kInk, 1, cv::LINE_AA);
  }
  return from_mat(img);
}

}  // namespace impasto::explain
