#include "impasto/style/stylizer.h"

#include <torch/torch.h>

#include "impasto/style/gatys.h"
#include "impasto/style/network.h"

namespace impasto {

Json to_json(const StepRecord& r) {
  Json cl = Json::object(), sl = Json::object();
  for (const auto& [n, v] : r.content_layers) cl[n] = v;
  for (const auto& [n, v] : r.style_layers) sl[n] = v;
  return Json{{"scale", r.scale}, {"height", r.height}, {"width", r.width}, {"step", r.step},
              {"total", r.total}, {"content", r.content}, {"style", r.style}, {"tv", r.tv},
              {"content_layers", cl}, {"style_layers", sl}, {"elapsed_s", r.elapsed_s}};
}

StepRecord step_record_from_json(const Json& j, const std::string& source) {
  StepRecord r;
  try {
    r.scale = j.at("scale").get<int>();
    r.height = j.at("height").get<int64_t>();
    r.width = j.at("width").get<int64_t>();
    r.step = j.at("step").get<int64_t>();
    r.total = j.at("total").get<double>();
    r.content = j.at("content").get<double>();
    r.style = j.at("style").get<double>();
    r.tv = j.value("tv", 0.0);
    for (const auto& [name, v] : j.at("content_layers").items()) r.content_layers.emplace_back(name, v.get<double>());
    for (const auto& [name, v] : j.at("style_layers").items()) r.style_layers.emplace_back(name, v.get<double>());
    r.elapsed_s = j.value("elapsed_s", 0.0);
  } catch (const Json::exception& e) {
    throw FormatError(source, std::string("not a step record: ") + e.what());
  }
  return r;
}

StylizerRegistry& stylizer_registry() {
  static StylizerRegistry registry = [] {
    StylizerRegistry r("method", "method");
    r.add("gatys", [](const Json& j) -> std::unique_ptr<Stylizer> {
      return std::make_unique<GatysStylizer>(gatys_options_from_json(j));
    }, "optimisation of the output image (Gatys et al. 2015)");
    r.add("network", [](const Json& j) -> std::unique_ptr<Stylizer> {
      return std::make_unique<NetworkStylizer>(network_stylizer_options_from_json(j));
    }, "one pass of a trained network: fast_neural_style TransformerNet or CycleGAN generator (--model)");
    return r;
  }();
  return registry;
}

std::unique_ptr<Stylizer> make_stylizer(const std::string& method, const Json& options) {
  return stylizer_registry().create(method, options);
}

}  // namespace impasto
