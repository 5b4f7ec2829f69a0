#include "impasto/style/int8_calibration.h"

#include <torch/torch.h>

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>

#include "impasto/core/error.h"
#include "impasto/data/synthetic.h"
#include "impasto/io/image.h"
#include "impasto/io/text_file.h"
#include "impasto/nn/int8.h"
#include "impasto/style/network.h"

namespace impasto {

std::string int8_statistics_path(const std::string& model_path) { return model_path + ".int8.json"; }

void calibrate_int8(torch::nn::Module& net, const std::function<at::Tensor(const at::Tensor&)>& run,
                    const std::vector<at::Tensor>& images) {
  torch::NoGradGuard no_grad;
  if (images.empty()) throw OptionError("calibration", "no calibration images");
  reset_int8_ranges(net);
  {
    Int8Calibration moments(Int8Calibration::Pass::moments);
    for (const at::Tensor& image : images) run(image);
  }
  fix_channel_normalisation(net);
  Int8Calibration ranges(Int8Calibration::Pass::ranges);
  for (const at::Tensor& image : images) run(image);
}

std::vector<at::Tensor> builtin_calibration_pictures() {
  std::vector<at::Tensor> pictures;
  for (uint64_t seed : {11, 12, 13, 14}) pictures.push_back((synthetic_landscape(256, 320, seed) * 255).round() / 255);
  return pictures;
}

std::string weights_fingerprint(torch::nn::Module& net) {
  uint64_t hash = 1469598103934665603ULL;  // FNV-1a offset basis
  auto mix = [&](const at::Tensor& t) {
    const at::Tensor bytes = t.detach().to(torch::kCPU, torch::kFloat32).contiguous();
    const auto* p = static_cast<const unsigned char*>(bytes.data_ptr());
    for (size_t i = 0, n = static_cast<size_t>(bytes.numel()) * sizeof(float); i < n; ++i) {
      hash ^= p[i];
      hash *= 1099511628211ULL;  // FNV prime
    }
  };
  for (const auto& p : net.named_parameters()) mix(p.value());
  for (const auto& b : net.named_buffers()) mix(b.value());
  char text[17];
  std::snprintf(text, sizeof text, "%016" PRIx64, hash);
  return text;
}

Json int8_statistics_json(torch::nn::Module& net, const std::vector<std::string>& images) {
  Json points = Json::object();
  for (const auto& [key, s] : int8_statistics(net)) {
    Json point{{"range", Json::array({s.lo, s.hi})}};
    if (!s.shift.empty()) {
      point["shift"] = s.shift;
      point["scale"] = s.scale;
    }
    points[key] = point;
  }
  select_int8_engine();
  return Json{{"format", kInt8StatisticsFormat}, {"version", 1}, {"weights", weights_fingerprint(net)},
              {"engine", int8_engine()}, {"images", images}, {"points", points}};
}

Json calibrate_model_file(const std::string& model_path, const std::vector<std::string>& image_paths, const std::string& out,
                          int64_t max_side) {
  if (image_paths.empty()) throw OptionError("images", "no calibration photos given (a few photos like the ones the model will see)");
  StyleNetwork net = load_style_network(model_path, c10::kCPU);
  if (!has_int8_form(net.module()))
    throw OptionError("model", model_path + " is a " + net.kind + " network without an int8 form (TransformerNets and ResNet generators with instance norm have one)");
  std::vector<at::Tensor> images;
  for (const std::string& path : image_paths) {
    at::Tensor rgb = read_image(path).rgb;
    const int64_t h = rgb.size(2), w = rgb.size(3), side = std::max(h, w);
    if (side > max_side) {
      const double k = static_cast<double>(max_side) / static_cast<double>(side);
      rgb = at::upsample_bilinear2d(rgb, {std::max<int64_t>(1, std::llround(h * k)), std::max<int64_t>(1, std::llround(w * k))}, false,
                                    c10::nullopt, c10::nullopt);
    }
    images.push_back(rgb.clamp(0, 1));
  }
  calibrate_int8(net.module(), [&net](const at::Tensor& image) { return net(image); }, images);
  const Json j = int8_statistics_json(net.module(), image_paths);
  write_text_file(out.empty() ? int8_statistics_path(model_path) : out, j.dump(1) + "\n");
  return j;
}

Json read_int8_statistics(const std::string& path, torch::nn::Module& net) {
  const std::string text = read_whole_file(path);
  if (text.size() > (16u << 20)) throw FormatError(path, "an int8 statistics file of " + std::to_string(text.size()) + " bytes is too large");
  Json j;
  try {
    j = Json::parse(text);
  } catch (const std::exception& e) {
    throw FormatError(path, std::string("not JSON: ") + e.what());
  }
  if (!j.is_object() || j.value("format", "") != kInt8StatisticsFormat)
    throw FormatError(path, std::string("not an int8 statistics file (\"format\": \"") + kInt8StatisticsFormat + "\" expected)");
  if (j.value("version", 0) != 1) throw FormatError(path, "unsupported version (1 expected)");
  const std::string fingerprint = weights_fingerprint(net);
  if (j.value("weights", "") != fingerprint)
    throw FormatError(path, "measured for other weights (fingerprint " + j.value("weights", std::string("none")) + ", the model's is " +
                                fingerprint + "): run impasto calibrate again");
  if (!j.contains("points") || !j["points"].is_object()) throw FormatError(path, "no \"points\" object");
  std::map<std::string, Int8PointStatistics> statistics;
  auto numbers = [&](const Json& value, const std::string& what) {
    if (!value.is_array()) throw FormatError(path, what + " should be a list of numbers");
    std::vector<float> out;
    for (const Json& v : value) {
      if (!v.is_number()) throw FormatError(path, what + " should be a list of numbers");
      out.push_back(v.get<float>());
    }
    return out;
  };
  for (const auto& [key, value] : j["points"].items()) {
    const Json& range = value.is_object() && value.contains("range") ? value["range"] : Json();
    if (!range.is_array() || range.size() != 2 || !range[0].is_number() || !range[1].is_number())
      throw FormatError(path, "the point '" + key + "' should have a \"range\": [lo, hi]");
    Int8PointStatistics& s = statistics[key];
    s.lo = range[0].get<double>();
    s.hi = range[1].get<double>();
    if (value.contains("shift")) s.shift = numbers(value["shift"], "the shift of '" + key + "'");
    if (value.contains("scale")) s.scale = numbers(value["scale"], "the scale of '" + key + "'");
  }
  set_int8_statistics(net, statistics, path);
  return j;
}

}  // namespace impasto
