// Synthetic training sets (dataset.h): ring8 points, drawn digits (two renderers) and procedural textures. Every
// sample is a pure function of (seed, index) through its own SampleRng; no global generator.
#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <map>
#include <opencv2/core.hpp>
#include <opencv2/freetype.hpp>
#include <opencv2/imgproc.hpp>
#include <string>

#include "impasto/core/error.h"
#include "impasto/data/batch_stream.h"
#include "impasto/data/dataset.h"

namespace impasto::data_detail {
namespace {

constexpr double kPi = 3.14159265358979323846;

using Rgb = std::array<float, 3>;

double luminance(const Rgb& c) { return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]; }
double channel_mean(const Rgb& c) { return (c[0] + c[1] + c[2]) / 3.0; }

// h in [0,1) (turns), s and v in [0,1].
Rgb hsv(double h, double s, double v) {
  h = (h - std::floor(h)) * 6.0;
  const int i = static_cast<int>(h) % 6;
  const double f = h - std::floor(h);
  const double p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
  double r = v, g = t, b = p;
  switch (i) {
    case 0: r = v; g = t; b = p; break;
    case 1: r = q; g = v; b = p; break;
    case 2: r = p; g = v; b = t; break;
    case 3: r = p; g = q; b = v; break;
    case 4: r = t; g = p; b = v; break;
    default: r = v; g = p; b = q; break;
  }
  return {float(r), float(g), float(b)};
}

// Samples rendered supersampled (HWC float RGB at `factor` times the side) and area-averaged down,
// which anti-aliases edges and strokes.
int supersampling(int64_t size) { return size <= 32 ? 4 : size <= 64 ? 3 : size <= 128 ? 2 : 1; }

cv::Mat downsample(const cv::Mat& image, int size) {
  if (image.rows == size) return image;
  cv::Mat out;
  cv::resize(image, out, cv::Size(size, size), 0, 0, cv::INTER_AREA);
  return out;
}

// ---- ring8 ---------------------------------------------------------------------------------------

class Ring8Source final : public SampleSource {
 public:
  explicit Ring8Source(uint64_t seed) : seed_(seed) {}
  std::vector<int64_t> sample_shape() const override { return {2}; }
  int64_t num_classes() const override { return 8; }
  std::string describe() const override { return "synthetic ring8 (8 Gaussians on a circle of radius 2, std 0.02)"; }
  void fill(int64_t index, float* out, int64_t* label) override {
    SampleRng rng(sample_seed(seed_, static_cast<uint64_t>(index)));
    const int64_t mode = rng.below(8);
    const double angle = 2.0 * kPi * static_cast<double>(mode) / 8.0;
    out[0] = static_cast<float>(kRingRadius * std::cos(angle) + kRingStd * rng.normal());
    out[1] = static_cast<float>(kRingRadius * std::sin(angle) + kRingStd * rng.normal());
    *label = mode;
  }

 private:
  uint64_t seed_;
};

// ---- image sets ----------------------------------------------------------------------------------

class ImageSetSource : public SampleSource {
 public:
  ImageSetSource(const DatasetOptions& o, std::string name, int64_t classes)
      : seed_(o.seed), size_(o.size), channels_(o.channels), name_(std::move(name)), classes_(classes) {}
  std::vector<int64_t> sample_shape() const override { return {channels_, size_, size_}; }
  int64_t num_classes() const override { return classes_; }
  std::string describe() const override {
    return "synthetic " + name_ + " " + std::to_string(size_) + "px" + (channels_ == 1 ? " grey" : "");
  }
  void fill(int64_t index, float* out, int64_t* label) override {
    SampleRng rng(sample_seed(seed_, static_cast<uint64_t>(index)));
    const cv::Mat image = render(rng, static_cast<int>(size_), label);  // HWC float RGB, S x S
    write_planar(image.ptr<float>(), image.rows, image.cols, 3, static_cast<int>(channels_), out);
  }

 protected:
  virtual cv::Mat render(SampleRng& rng, int size, int64_t* label) const = 0;

 private:
  uint64_t seed_;
  int64_t size_;
  int64_t channels_;
  std::string name_;
  int64_t classes_;
};

// ---- digits --------------------------------------------------------------------------------------

// A digit 0-9 in a random Hershey face (sometimes italic), glyph height 50-80% of the side, stroke
// 5-11% of the side, rotated within +-15 degrees, shifted a little, in two colours whose luminance
// differs by at least 0.4, on a faintly graded background, with mild Gaussian noise.
// Two fixed palettes make two domains of the same digits, for unpaired translation (CycleGAN):
// `digits-paper` dark blue-black ink on cream paper, `digits-neon` glowing cyan-to-magenta ink on a
// near-black ground. Translating one into the other is a known mapping (recolour, keep the digit).
enum class DigitPalette { random, paper, neon };

class DigitsSource final : public ImageSetSource {
 public:
  DigitsSource(const DatasetOptions& o, DigitPalette palette)
      : ImageSetSource(o, o.synthetic, 10), palette_(palette) {}

 protected:
  cv::Mat render(SampleRng& rng, int size, int64_t* label) const override {
    static const int kFaces[8] = {cv::FONT_HERSHEY_SIMPLEX, cv::FONT_HERSHEY_PLAIN, cv::FONT_HERSHEY_DUPLEX,
                                  cv::FONT_HERSHEY_COMPLEX, cv::FONT_HERSHEY_TRIPLEX, cv::FONT_HERSHEY_COMPLEX_SMALL,
                                  cv::FONT_HERSHEY_SCRIPT_SIMPLEX, cv::FONT_HERSHEY_SCRIPT_COMPLEX};
    const int digit = static_cast<int>(rng.below(10));
    *label = digit;
    int font = kFaces[rng.below(8)];
    if (rng.chance(0.25)) font |= cv::FONT_ITALIC;
    const double fill = rng.uniform(0.5, 0.8);
    const double stroke = rng.uniform(0.05, 0.11);
    const double angle = rng.uniform(-15.0, 15.0);
    const double shift_x = rng.uniform(-1.0, 1.0), shift_y = rng.uniform(-1.0, 1.0);

    const int ss = supersampling(size);
    const int side = size * ss;
    const std::string text(1, static_cast<char>('0' + digit));
    const int thickness = std::max(1, static_cast<int>(std::lround(stroke * side)));
    // Font scale for the wanted height: glyph heights scale linearly with the font scale.
    int baseline = 0;
    const cv::Size unit = cv::getTextSize(text, font, 1.0, 1, &baseline);
    const double scale = std::max(0.1, (fill * side - thickness) / std::max(1, unit.height));
    const cv::Size box = cv::getTextSize(text, font, scale, thickness, &baseline);
    const int pad = 2 * thickness + 4;
    cv::Mat glyph = cv::Mat::zeros(box.height + baseline + 2 * pad, box.width + 2 * pad, CV_8U);
    cv::putText(glyph, text, cv::Point(pad, pad + box.height), font, scale, cv::Scalar(255), thickness, cv::LINE_AA);
    const cv::Rect ink = cv::boundingRect(glyph);
    if (ink.area() == 0) return cv::Mat(size, size, CV_32FC3, cv::Scalar::all(0.5));  // cannot happen for digits

    // Fit the inked box (not the font's cell) to the wanted height, at most 85% of the width.
    const double zoom = std::min(fill * side / ink.height, 0.85 * side / ink.width);
    const double rad = angle * kPi / 180.0;
    const double half_w = 0.5 * zoom * (std::abs(std::cos(rad)) * ink.width + std::abs(std::sin(rad)) * ink.height);
    const double half_h = 0.5 * zoom * (std::abs(std::sin(rad)) * ink.width + std::abs(std::cos(rad)) * ink.height);
    // A small shift: up to 8% of the side, never pushing the glyph out of the picture.
    const double room_x = std::clamp(0.5 * side - half_w - 1.0, 0.0, 0.08 * side);
    const double room_y = std::clamp(0.5 * side - half_h - 1.0, 0.0, 0.08 * side);
    const cv::Point2f centre(ink.x + 0.5f * ink.width, ink.y + 0.5f * ink.height);
    cv::Mat warp = cv::getRotationMatrix2D(centre, angle, zoom);
    warp.at<double>(0, 2) += 0.5 * side + shift_x * room_x - centre.x;
    warp.at<double>(1, 2) += 0.5 * side + shift_y * room_y - centre.y;
    cv::Mat ink_mask;
    cv::warpAffine(glyph, ink_mask, warp, cv::Size(side, side), cv::INTER_LINEAR, cv::BORDER_CONSTANT, 0);
    cv::Mat mask;
    ink_mask.convertTo(mask, CV_32F, 1.0 / 255.0);
    mask = downsample(mask, size);

    // Colours: luminance apart by >= 0.4 and channel means by >= 0.3 (so grey samples keep contrast).
    Rgb fg{}, bg{};
    bool found = palette_ != DigitPalette::random;
    if (palette_ == DigitPalette::paper) {
      fg = hsv(rng.uniform(0.55, 0.70), rng.uniform(0.3, 0.7), rng.uniform(0.08, 0.25));
      bg = hsv(rng.uniform(0.08, 0.14), rng.uniform(0.08, 0.25), rng.uniform(0.88, 0.98));
    } else if (palette_ == DigitPalette::neon) {
      fg = hsv(rng.uniform(0.45, 0.90), rng.uniform(0.55, 0.85), rng.uniform(0.85, 1.0));
      bg = hsv(rng.uniform(0.60, 0.75), rng.uniform(0.3, 0.6), rng.uniform(0.03, 0.15));
    }
    for (int attempt = 0; attempt < 200 && !found; ++attempt) {
      for (auto& c : fg) c = static_cast<float>(rng.uniform());
      for (auto& c : bg) c = static_cast<float>(rng.uniform());
      found = std::abs(luminance(fg) - luminance(bg)) >= 0.4 && std::abs(channel_mean(fg) - channel_mean(bg)) >= 0.3;
    }
    if (!found) {
      fg = {1.0f, 1.0f, 1.0f};
      bg = {0.0f, 0.0f, 0.0f};
    }
    // A faint linear gradient across the background, up to +-0.06.
    const double grad_angle = rng.uniform(0.0, 2.0 * kPi), grad = rng.uniform(0.0, 0.06);
    const double gx = std::cos(grad_angle) * grad, gy = std::sin(grad_angle) * grad;
    const double noise = rng.uniform(0.0, 0.04);
    cv::Mat out(size, size, CV_32FC3);
    for (int y = 0; y < size; ++y) {
      const float* m = mask.ptr<float>(y);
      float* o = out.ptr<float>(y);
      for (int x = 0; x < size; ++x) {
        const double u = 2.0 * (x + 0.5) / size - 1.0, v = 2.0 * (y + 0.5) / size - 1.0;
        const double shade = gx * u + gy * v;
        for (int c = 0; c < 3; ++c) {
          const double value = (bg[c] + shade) * (1.0 - m[x]) + fg[c] * m[x] + noise * rng.normal();
          o[3 * x + c] = static_cast<float>(std::clamp(value, 0.0, 1.0));
        }
      }
    }
    return out;
  }

 private:
  DigitPalette palette_;
};

// ---- digits-ttf ----------------------------------------------------------------------------------

// A second renderer of digits, independent of the Hershey one above, for measuring recipes on data
// they were not tuned on: glyphs of the system's TrueType faces (DejaVu, Liberation, FreeFont when
// installed; see kTrueTypeFaces) rasterised by FreeType through OpenCV's freetype module, filled
// (not stroked), glyph height 50-85% of the side, rotated within +-12 degrees and sheared within
// +-0.2, placed anywhere the glyph fits, in a saturated ink on a two-colour gradient ground (any
// hue, light-on-dark or dark-on-light), a soft drop shadow one time in three, mild noise.
const char* const kTrueTypeFaces[] = {
    "dejavu/DejaVuSans.ttf", "dejavu/DejaVuSans-Bold.ttf", "dejavu/DejaVuSans-Oblique.ttf",
    "dejavu/DejaVuSans-BoldOblique.ttf", "dejavu/DejaVuSans-ExtraLight.ttf", "dejavu/DejaVuSansCondensed.ttf",
    "dejavu/DejaVuSansCondensed-Bold.ttf", "dejavu/DejaVuSansMono.ttf", "dejavu/DejaVuSansMono-Bold.ttf",
    "dejavu/DejaVuSerif.ttf", "dejavu/DejaVuSerif-Bold.ttf", "dejavu/DejaVuSerif-Italic.ttf",
    "dejavu/DejaVuSerif-BoldItalic.ttf", "dejavu/DejaVuSerifCondensed.ttf", "dejavu/DejaVuSerifCondensed-Bold.ttf",
    "liberation2/LiberationSans-Regular.ttf", "liberation2/LiberationSans-Bold.ttf",
    "liberation2/LiberationSans-Italic.ttf", "liberation2/LiberationSerif-Regular.ttf",
    "liberation2/LiberationSerif-Bold.ttf", "liberation2/LiberationSerif-Italic.ttf",
    "liberation2/LiberationMono-Regular.ttf", "liberation2/LiberationMono-Bold.ttf",
    "freefont/FreeSans.ttf", "freefont/FreeSansBold.ttf", "freefont/FreeSansOblique.ttf", "freefont/FreeSerif.ttf",
    "freefont/FreeSerifBold.ttf", "freefont/FreeSerifItalic.ttf", "freefont/FreeMono.ttf", "freefont/FreeMonoBold.ttf"};
const char* const kTrueTypeRoot = "/usr/share/fonts/truetype/";

// The faces of kTrueTypeFaces present on this machine (FileError naming the package when none is).
const std::vector<std::string>& installed_truetype_faces() {
  static const std::vector<std::string> faces = [] {
    std::vector<std::string> found;
    for (const char* face : kTrueTypeFaces) {
      const std::string path = std::string(kTrueTypeRoot) + face;
      if (std::filesystem::exists(path)) found.push_back(path);
    }
    if (found.empty())
      throw FileError(std::string(kTrueTypeRoot) + "dejavu/DejaVuSans.ttf",
                      "digits-ttf draws with TrueType faces and none is installed (apt-get install fonts-dejavu-core)");
    return found;
  }();
  return faces;
}

// White glyph on black (8-bit, one channel), filled by FreeType at `height` pixels. One FreeType
// object per face and thread: FreeType faces are not safe to share between threads.
cv::Mat truetype_glyph(const std::string& face, const std::string& text, int height) {
  thread_local std::map<std::string, cv::Ptr<cv::freetype::FreeType2>> fonts;
  cv::Ptr<cv::freetype::FreeType2>& font = fonts[face];
  if (!font) {
    font = cv::freetype::createFreeType2();
    font->loadFontData(face, 0);
  }
  int baseline = 0;
  const cv::Size box = font->getTextSize(text, height, -1, &baseline);
  const int pad = height / 4 + 4;
  cv::Mat canvas = cv::Mat::zeros(box.height + baseline + 2 * pad, box.width + 2 * pad, CV_8UC3);  // freetype draws on 8UC3 only
  font->putText(canvas, text, cv::Point(pad, pad + box.height), height, cv::Scalar::all(255), -1, cv::LINE_AA, true);
  cv::Mat grey;
  cv::extractChannel(canvas, grey, 0);
  return grey;
}

class DigitsTrueTypeSource final : public ImageSetSource {
 public:
  explicit DigitsTrueTypeSource(const DatasetOptions& o) : ImageSetSource(o, o.synthetic, 10) {
    installed_truetype_faces();  // fails here, not in a worker, when no face is installed
  }

 protected:
  cv::Mat render(SampleRng& rng, int size, int64_t* label) const override {
    const auto& faces = installed_truetype_faces();
    const int digit = static_cast<int>(rng.below(10));
    *label = digit;
    const std::string& face = faces[size_t(rng.below(int64_t(faces.size())))];
    const double fill = rng.uniform(0.5, 0.85);
    const double angle = rng.uniform(-12.0, 12.0), shear = rng.uniform(-0.2, 0.2);
    const double place_x = rng.uniform(-1.0, 1.0), place_y = rng.uniform(-1.0, 1.0);
    const int ss = supersampling(size);
    const int side = size * ss;
    const cv::Mat glyph = truetype_glyph(face, std::string(1, char('0' + digit)), std::max(8, side));
    const cv::Rect ink = cv::boundingRect(glyph);
    if (ink.area() == 0) return cv::Mat(size, size, CV_32FC3, cv::Scalar::all(0.5));  // a face without digits

    // Inked box scaled to the wanted height (at most 85% of the width), then shear and rotation
    // about its centre; the placement uses the whole room the transformed box leaves.
    const double zoom = std::min(fill * side / ink.height, 0.85 * side / ink.width);
    const cv::Point2d centre(ink.x + 0.5 * ink.width, ink.y + 0.5 * ink.height);
    const double rad = angle * kPi / 180.0, c = std::cos(rad), s = std::sin(rad);
    // A = R * Sh * zoom, Sh = [[1, shear], [0, 1]].
    const double a00 = zoom * c, a01 = zoom * (c * shear - s), a10 = zoom * s, a11 = zoom * (s * shear + c);
    const double half_w = 0.5 * (std::abs(a00) * ink.width + std::abs(a01) * ink.height);
    const double half_h = 0.5 * (std::abs(a10) * ink.width + std::abs(a11) * ink.height);
    const double room_x = std::max(0.0, 0.5 * side - half_w - 1.0), room_y = std::max(0.0, 0.5 * side - half_h - 1.0);
    const double tx = 0.5 * side + place_x * room_x, ty = 0.5 * side + place_y * room_y;
    cv::Mat warp = (cv::Mat_<double>(2, 3) << a00, a01, tx - a00 * centre.x - a01 * centre.y,  //
                    a10, a11, ty - a10 * centre.x - a11 * centre.y);
    cv::Mat ink_mask;
    cv::warpAffine(glyph, ink_mask, warp, cv::Size(side, side), cv::INTER_LINEAR, cv::BORDER_CONSTANT, 0);
    cv::Mat mask;
    ink_mask.convertTo(mask, CV_32F, 1.0 / 255.0);
    cv::Mat shadow;
    const bool shadowed = rng.chance(1.0 / 3.0);
    if (shadowed) {
      const double offset = 0.04 * side;
      cv::Mat shift = (cv::Mat_<double>(2, 3) << 1, 0, offset, 0, 1, offset);
      cv::warpAffine(mask, shadow, shift, mask.size(), cv::INTER_LINEAR, cv::BORDER_CONSTANT, 0);
      // Two box blurs approximate a Gaussian (and cost far less than OpenCV's exact kernel set-up).
      const int blur = 2 * (side / 32) + 1;
      cv::blur(shadow, shadow, cv::Size(blur, blur));
      cv::blur(shadow, shadow, cv::Size(blur, blur));
      shadow = downsample(shadow, size);
    }
    mask = downsample(mask, size);

    // Ink: any hue, saturated; ground: two colours of one lightness band at the other end, drawn
    // again until the luminances differ by at least 0.35 (a saturated blue at full value is darker
    // than most grounds).
    Rgb fg{}, bg0{}, bg1{};
    for (int attempt = 0; attempt < 100; ++attempt) {
      const bool light_ink = rng.chance(0.5);
      const double ink_v = light_ink ? rng.uniform(0.85, 1.0) : rng.uniform(0.05, 0.3);
      fg = hsv(rng.uniform(), rng.uniform(0.4, 1.0), ink_v);
      const double ground_v = light_ink ? rng.uniform(0.05, 0.35) : rng.uniform(0.7, 1.0);
      const double ground_hue = rng.uniform();
      bg0 = hsv(ground_hue, rng.uniform(0.2, 0.8), ground_v);
      bg1 = hsv(ground_hue + rng.uniform(-0.15, 0.15), rng.uniform(0.2, 0.8), std::clamp(ground_v + rng.uniform(-0.1, 0.1), 0.0, 1.0));
      if (std::min(std::abs(luminance(fg) - luminance(bg0)), std::abs(luminance(fg) - luminance(bg1))) >= 0.35) break;
    }
    const double grad_angle = rng.uniform(0.0, 2.0 * kPi), gx = std::cos(grad_angle), gy = std::sin(grad_angle);
    const double noise = rng.uniform(0.0, 0.03);
    cv::Mat out(size, size, CV_32FC3);
    for (int y = 0; y < size; ++y) {
      const float* m = mask.ptr<float>(y);
      const float* sh = shadowed ? shadow.ptr<float>(y) : nullptr;
      float* o = out.ptr<float>(y);
      for (int x = 0; x < size; ++x) {
        const double u = 2.0 * (x + 0.5) / size - 1.0, v = 2.0 * (y + 0.5) / size - 1.0;
        const double t = std::clamp(0.5 + 0.5 * (gx * u + gy * v), 0.0, 1.0);
        const double darken = sh ? 1.0 - 0.6 * sh[x] : 1.0;
        for (int ch = 0; ch < 3; ++ch) {
          const double ground = (bg0[ch] * (1.0 - t) + bg1[ch] * t) * darken;
          const double value = ground * (1.0 - m[x]) + fg[ch] * m[x] + noise * rng.normal();
          o[3 * x + ch] = static_cast<float>(std::clamp(value, 0.0, 1.0));
        }
      }
    }
    return out;
  }
};

// ---- textures ------------------------------------------------------------------------------------

// 2-4 colours in a harmonious scheme (analogous, complementary or triadic hues) whose luminances
// spread by at least 0.3, so every texture has visible structure.
std::vector<Rgb> random_palette(SampleRng& rng, int count) {
  std::vector<Rgb> palette;
  for (int attempt = 0; attempt < 50; ++attempt) {
    palette.clear();
    const double base = rng.uniform();
    const int scheme = static_cast<int>(rng.below(3));
    for (int i = 0; i < count; ++i) {
      double hue = base;
      if (scheme == 0) hue += rng.uniform(-0.08, 0.08) * i;  // analogous
      if (scheme == 1) hue += (i % 2) * 0.5 + rng.uniform(-0.04, 0.04);  // complementary
      if (scheme == 2) hue += i / 3.0 + rng.uniform(-0.04, 0.04);  // triadic
      palette.push_back(hsv(hue, rng.uniform(0.3, 0.95), rng.uniform(0.15, 1.0)));
    }
    double lo = 1, hi = 0;
    for (const auto& c : palette) {
      lo = std::min(lo, luminance(c));
      hi = std::max(hi, luminance(c));
    }
    if (hi - lo >= 0.3) break;
  }
  // Shuffle so the darkest colour is not always first.
  for (int i = count - 1; i > 0; --i) std::swap(palette[size_t(i)], palette[size_t(rng.below(i + 1))]);
  return palette;
}

// Piecewise-linear colour ramp through the palette, t in [0,1].
Rgb ramp(const std::vector<Rgb>& palette, double t) {
  t = std::clamp(t, 0.0, 1.0) * static_cast<double>(palette.size() - 1);
  const size_t i = std::min(static_cast<size_t>(t), palette.size() - 2);
  const float f = static_cast<float>(t - static_cast<double>(i));
  const Rgb& a = palette[i];
  const Rgb& b = palette[i + 1];
  return {a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]), a[2] + f * (b[2] - a[2])};
}

// Smooth value noise: random values on a lattice of `cells` x `cells`, smoothstep-interpolated,
// summed over octaves with halving amplitude; values in [0,1].
class ValueNoise {
 public:
  ValueNoise(SampleRng& rng, int cells, int octaves) {
    for (int o = 0; o < octaves; ++o) {
      const int n = cells << o;
      std::vector<float> lattice(size_t((n + 1) * (n + 1)));
      for (auto& v : lattice) v = static_cast<float>(rng.uniform());
      // Periodic edges, so the noise tiles and has no seam artefacts at the border.
      for (int i = 0; i <= n; ++i) {
        lattice[size_t(i * (n + 1) + n)] = lattice[size_t(i * (n + 1))];
        lattice[size_t(n * (n + 1) + i)] = lattice[size_t(i)];
      }
      layers_.push_back({n, std::move(lattice)});
    }
  }
  // x, y in [0,1).
  double operator()(double x, double y) const {
    double sum = 0, norm = 0, amplitude = 1;
    for (const auto& layer : layers_) {
      const double fx = x * layer.n, fy = y * layer.n;
      const int ix = std::min(static_cast<int>(fx), layer.n - 1), iy = std::min(static_cast<int>(fy), layer.n - 1);
      const double tx = smooth(fx - ix), ty = smooth(fy - iy);
      auto at = [&](int i, int j) { return layer.values[size_t(j * (layer.n + 1) + i)]; };
      const double top = at(ix, iy) + tx * (at(ix + 1, iy) - at(ix, iy));
      const double bottom = at(ix, iy + 1) + tx * (at(ix + 1, iy + 1) - at(ix, iy + 1));
      sum += amplitude * (top + ty * (bottom - top));
      norm += amplitude;
      amplitude *= 0.5;
    }
    return sum / norm;
  }

 private:
  static double smooth(double t) { return t * t * (3 - 2 * t); }
  struct Layer {
    int n;
    std::vector<float> values;
  };
  std::vector<Layer> layers_;
};

// Contrast stretch of a field to [0,1] (value noise bunches around 0.5).
void normalise(std::vector<double>& field) {
  const auto [lo, hi] = std::minmax_element(field.begin(), field.end());
  const double a = *lo, span = std::max(1e-9, *hi - *lo);
  for (auto& v : field) v = (v - a) / span;
}

// Families (label): 0 stripes, 1 checks, 2 dots, 3 cellular, 4 flow noise.
class TexturesSource final : public ImageSetSource {
 public:
  explicit TexturesSource(const DatasetOptions& o) : ImageSetSource(o, "textures", 5) {}

 protected:
  cv::Mat render(SampleRng& rng, int size, int64_t* label) const override {
    const int family = static_cast<int>(rng.below(5));
    *label = family;
    const int side = size * std::min(2, supersampling(size));
    cv::Mat image(side, side, CV_32FC3);
    auto put = [&](int x, int y, const Rgb& c) {
      float* p = image.ptr<float>(y) + 3 * x;
      p[0] = c[0];
      p[1] = c[1];
      p[2] = c[2];
    };
    // Coordinates in [0,1) of pixel centres, rotated by `theta` about the centre.
    auto coords = [side](int x, int y, double theta) {
      const double u = (x + 0.5) / side - 0.5, v = (y + 0.5) / side - 0.5;
      return std::make_pair(std::cos(theta) * u + std::sin(theta) * v, -std::sin(theta) * u + std::cos(theta) * v);
    };
    switch (family) {
      case 0: {  // stripes: a periodic profile across a random direction, sharp or soft, maybe wavy
        const auto palette = random_palette(rng, 2 + static_cast<int>(rng.below(2)));
        const double theta = rng.uniform(0.0, kPi), cycles = rng.uniform(2.5, 9.0), phase = rng.uniform();
        const double sharpness = rng.chance(0.5) ? rng.uniform(4.0, 12.0) : 1.0;
        const double wave = rng.chance(0.4) ? rng.uniform(0.02, 0.08) : 0.0, wave_cycles = rng.uniform(1.0, 3.0);
        for (int y = 0; y < side; ++y)
          for (int x = 0; x < side; ++x) {
            const auto [u, v] = coords(x, y, theta);
            const double s = std::sin(2 * kPi * (cycles * (u + wave * std::sin(2 * kPi * wave_cycles * v)) + phase));
            // tanh sharpens the sine into bands; divided so the extremes stay at 0 and 1.
            const double t = 0.5 + 0.5 * std::tanh(sharpness * s) / std::tanh(sharpness);
            put(x, y, ramp(palette, t));
          }
        break;
      }
      case 1: {  // checks: squares of a random size, often turned, sometimes three colours
        const auto palette = random_palette(rng, 2 + static_cast<int>(rng.below(2)));
        const double theta = rng.chance(0.5) ? 0.0 : rng.uniform(0.0, kPi / 2);
        const double cells = rng.uniform(2.0, 8.0), ox = rng.uniform(), oy = rng.uniform();
        const bool rect = rng.chance(0.3);
        const double aspect = rect ? rng.uniform(1.5, 3.0) : 1.0;
        for (int y = 0; y < side; ++y)
          for (int x = 0; x < side; ++x) {
            const auto [u, v] = coords(x, y, theta);
            const int64_t i = static_cast<int64_t>(std::floor(u * cells + ox));
            const int64_t j = static_cast<int64_t>(std::floor(v * cells * aspect + oy));
            const int64_t k = ((i + j) % 2 + 2) % 2;
            const size_t c = palette.size() == 3 && k == 1 && ((i % 2 + 2) % 2) == 1 ? 2 : size_t(k);
            put(x, y, palette[c]);
          }
        break;
      }
      case 2: {  // dots: discs on a square or hexagonal lattice
        const auto palette = random_palette(rng, 2 + static_cast<int>(rng.below(2)));
        const double theta = rng.chance(0.5) ? 0.0 : rng.uniform(0.0, kPi / 3);
        const double cells = rng.uniform(3.0, 8.0), radius = rng.uniform(0.18, 0.42);
        const bool hex = rng.chance(0.5);
        const double ox = rng.uniform(), oy = rng.uniform();
        for (int y = 0; y < side; ++y)
          for (int x = 0; x < side; ++x) {
            const auto [u, v] = coords(x, y, theta);
            double gu = u * cells + ox, gv = v * cells * (hex ? 1.0 / 0.866 : 1.0) + oy;
            const double row = std::floor(gv);
            if (hex && static_cast<int64_t>(row) % 2 != 0) gu += 0.5;  // every other row half a cell over
            const double du = gu - std::floor(gu) - 0.5;
            const double dv = (gv - row - 0.5) * (hex ? 0.866 : 1.0);
            const bool inside = du * du + dv * dv < radius * radius;
            // Three colours: the dots alternate between two, by row.
            const size_t dot = palette.size() == 3 && static_cast<int64_t>(row) % 2 != 0 ? 2 : 1;
            put(x, y, palette[inside ? dot : 0]);
          }
        break;
      }
      case 3: {  // cellular: Voronoi cells, flat colours with dark seams or shaded by distance
        const auto palette = random_palette(rng, 2 + static_cast<int>(rng.below(3)));
        const int count = 6 + static_cast<int>(rng.below(22));
        std::vector<std::pair<double, double>> sites;
        std::vector<size_t> colour;
        for (int i = 0; i < count; ++i) {
          sites.emplace_back(rng.uniform(), rng.uniform());
          colour.push_back(size_t(rng.below(int64_t(palette.size()))));
        }
        const bool shaded = rng.chance(0.5);
        const double seam = rng.uniform(0.01, 0.03);
        std::vector<double> field;
        std::vector<size_t> owner;
        field.reserve(size_t(side) * side);
        for (int y = 0; y < side; ++y)
          for (int x = 0; x < side; ++x) {
            const double u = (x + 0.5) / side, v = (y + 0.5) / side;
            double f1 = 1e9, f2 = 1e9;
            size_t nearest = 0;
            for (size_t i = 0; i < sites.size(); ++i) {
              // Wrapped distance: the pattern tiles, so no cell is cut by the border.
              double du = std::abs(u - sites[i].first), dv = std::abs(v - sites[i].second);
              du = std::min(du, 1 - du);
              dv = std::min(dv, 1 - dv);
              const double d = std::sqrt(du * du + dv * dv);
              if (d < f1) {
                f2 = f1;
                f1 = d;
                nearest = i;
              } else if (d < f2) {
                f2 = d;
              }
            }
            field.push_back(shaded ? f1 : f2 - f1);
            owner.push_back(nearest);
          }
        if (shaded) normalise(field);
        const Rgb dark = {0.05f, 0.05f, 0.05f};
        for (int y = 0; y < side; ++y)
          for (int x = 0; x < side; ++x) {
            const size_t p = size_t(y) * side + x;
            if (shaded) {
              put(x, y, ramp(palette, field[p]));
            } else {
              // Flat cells; the seam's colour is the palette's darkest shade, mixed towards black.
              const Rgb& c = palette[colour[owner[p]]];
              put(x, y, field[p] < seam ? Rgb{c[0] * 0.25f + dark[0], c[1] * 0.25f + dark[1], c[2] * 0.25f + dark[2]} : c);
            }
          }
        break;
      }
      default: {  // flow: fractal value noise, as clouds, marble veins or contour bands
        const auto palette = random_palette(rng, 2 + static_cast<int>(rng.below(3)));
        const ValueNoise noise(rng, 2 + static_cast<int>(rng.below(2)), 3 + static_cast<int>(rng.below(2)));
        const int style = static_cast<int>(rng.below(3));
        const double theta = rng.uniform(0.0, 2 * kPi), cycles = rng.uniform(1.5, 4.0), warp = rng.uniform(0.8, 2.5);
        const double bands = rng.uniform(1.5, 3.5);
        std::vector<double> field;
        field.reserve(size_t(side) * side);
        for (int y = 0; y < side; ++y)
          for (int x = 0; x < side; ++x) {
            const double u = (x + 0.5) / side, v = (y + 0.5) / side;
            const double n = noise(u, v);
            if (style == 0) {
              field.push_back(n);  // clouds
            } else if (style == 1) {  // marble: stripes bent by the noise
              const double along = std::cos(theta) * u + std::sin(theta) * v;
              field.push_back(0.5 + 0.5 * std::sin(2 * kPi * (cycles * along + warp * n)));
            } else {
              field.push_back(n);
            }
          }
        normalise(field);
        if (style == 2)  // contour bands: a saw-tooth of the noise, softened
          for (auto& t : field) t = 0.5 + 0.5 * std::sin(2 * kPi * bands * t);
        for (int y = 0; y < side; ++y)
          for (int x = 0; x < side; ++x) put(x, y, ramp(palette, field[size_t(y) * side + x]));
        break;
      }
    }
    cv::Mat out = downsample(image, size);
    cv::Mat flat = out.reshape(1);
    cv::max(flat, 0.0, flat);
    cv::min(flat, 1.0, flat);
    return out;
  }
};

}  // namespace

std::unique_ptr<SampleSource> make_synthetic_source(const DatasetOptions& options) {
  if (options.synthetic == "ring8") return std::make_unique<Ring8Source>(options.seed);
  if (options.synthetic == "digits") return std::make_unique<DigitsSource>(options, DigitPalette::random);
  if (options.synthetic == "digits-paper") return std::make_unique<DigitsSource>(options, DigitPalette::paper);
  if (options.synthetic == "digits-neon") return std::make_unique<DigitsSource>(options, DigitPalette::neon);
  if (options.synthetic == "digits-ttf") return std::make_unique<DigitsTrueTypeSource>(options);
  return std::make_unique<TexturesSource>(options);
}

}  // namespace impasto::data_detail
