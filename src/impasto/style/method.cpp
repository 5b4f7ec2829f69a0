#include "impasto/style/method.h"

#include <algorithm>
#include <stdexcept>

#include "impasto/core/error.h"
#include "impasto/core/text.h"
#include "impasto/style/adain.h"
#include "impasto/style/gatys.h"
#include "impasto/style/network.h"

namespace impasto {

Json to_json(const StepRecord& r) {
  Json cl = Json::object(), sl = Json::object();
  for (const auto& [n, v] : r.content_layers) cl[n] = v;
  for (const auto& [n, v] : r.style_layers) sl[n] = v;
  Json j{{"scale", r.scale}, {"height", r.height}, {"width", r.width}, {"step", r.step},
         {"total", r.total}, {"content", r.content}, {"style", r.style}, {"tv", r.tv},
         {"content_layers", cl}, {"style_layers", sl}, {"elapsed_s", r.elapsed_s}};
  if (r.temporal != 0) j["temporal"] = r.temporal;
  return j;
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
    r.temporal = j.value("temporal", 0.0);
    for (const auto& [name, v] : j.at("content_layers").items()) r.content_layers.emplace_back(name, v.get<double>());
    for (const auto& [name, v] : j.at("style_layers").items()) r.style_layers.emplace_back(name, v.get<double>());
    r.elapsed_s = j.value("elapsed_s", 0.0);
  } catch (const Json::exception& e) {
    throw FormatError(source, std::string("not a step record: ") + e.what());
  }
  return r;
}

bool MethodCapabilities::explains(const std::string& section) const {
  return std::find(explain_sections.begin(), explain_sections.end(), section) != explain_sections.end();
}

Json MethodDescription::to_json(bool service_view) const {
  const MethodCapabilities& c = capabilities;
  return Json{{"name", name},
              {"description", summary},
              {"options", options.to_json(!service_view)},
              {"capabilities",
               {{"min_styles", c.min_styles},
                {"max_styles", c.max_styles},
                {"iterative", c.iterative},
                {"masks", c.masks},
                {"init_image", c.init_image},
                {"temporal", c.temporal},
                {"model", options.find_role(OptionRole::model) != nullptr},
                {"explain", c.explain_sections}}}};
}

Json Method::check(const Json& options) const { return description().options.resolve(options, "method " + name()); }

std::string Method::model_kind(const std::string& path) const {
  throw FormatError(path, "method " + name() + " takes no model file");
}

std::string Method::backbone(const Json& options) const {
  const OptionSpec* spec = description().options.find_role(OptionRole::backbone);
  if (!spec) return "";
  const Json chosen = options.contains(spec->name) && !options[spec->name].is_null() ? options[spec->name] : spec->default_value;
  return chosen.is_string() ? chosen.get<std::string>() : "";
}

void check_style_count(const MethodDescription& m, size_t count) {
  const auto& c = m.capabilities;
  if (!c.takes_styles() && count > 0)
    throw OptionError("style", "method " + m.name + " takes no style image (its style is in the network)");
  if (count < static_cast<size_t>(c.min_styles))
    throw OptionError("style", "no style image given; method " + m.name + " needs at least " + std::to_string(c.min_styles));
  if (count > static_cast<size_t>(c.max_styles))
    throw OptionError("style", std::to_string(count) + " style images given; method " + m.name + " takes at most " +
                                   std::to_string(c.max_styles));
}

// ---- registry ---------------------------------------------------------------------------------------

void MethodRegistry::add(std::shared_ptr<const Method> method) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& spec : method->description().options.options())
    for (const auto& other : methods_) {
      if (other->name() == method->name()) continue;
      const OptionSpec* same = other->description().options.find(spec.name);
      if (same && same->type != spec.type)
        throw std::logic_error("option '" + spec.name + "' of method " + method->name() + " is a " + to_string(spec.type) +
                               " but a " + to_string(same->type) + " in method " + other->name());
    }
  for (auto& m : methods_)
    if (m->name() == method->name()) {
      m = std::move(method);
      return;
    }
  methods_.push_back(std::move(method));
}

bool MethodRegistry::remove(const std::string& name) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto before = methods_.size();
  methods_.erase(std::remove_if(methods_.begin(), methods_.end(), [&](const auto& m) { return m->name() == name; }),
                 methods_.end());
  return methods_.size() != before;
}

std::shared_ptr<const Method> MethodRegistry::find(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& m : methods_)
    if (m->name() == name) return m;
  return nullptr;
}

const Method& MethodRegistry::get(const std::string& name) const {
  auto m = find(name);
  if (!m) throw OptionError("method", "unknown method '" + name + "'; valid: " + join(names()));
  return *m;  // methods are never destroyed while registered; removal is for tests
}

std::vector<std::string> MethodRegistry::names() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> out;
  for (const auto& m : methods_) out.push_back(m->name());
  return out;
}

std::vector<std::shared_ptr<const Method>> MethodRegistry::methods() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return methods_;
}

std::string MethodRegistry::method_for(const std::vector<std::string>& option_names) const {
  const auto fallback = find(default_);
  std::vector<std::string> unknown_to_default;
  for (const auto& o : option_names)
    if (!fallback || !fallback->description().options.contains(o)) unknown_to_default.push_back(o);
  if (unknown_to_default.empty()) return default_;
  std::vector<std::string> fitting;
  for (const auto& m : methods()) {
    bool all = m->name() != default_;
    for (const auto& o : unknown_to_default) all = all && m->description().options.contains(o);
    if (all) fitting.push_back(m->name());
  }
  return fitting.size() == 1 ? fitting[0] : default_;
}

void register_builtin_methods(MethodRegistry& registry) {
  register_gatys_method(registry);
  register_network_method(registry);
  register_adain_method(registry);
}

MethodRegistry& method_registry() {
  // Never destroyed: sessions may outlive static destruction order (server threads at exit).
  static MethodRegistry* registry = [] {
    auto* r = new MethodRegistry;
    register_builtin_methods(*r);
    return r;
  }();
  return *registry;
}

std::unique_ptr<Session> open_session(const std::string& method, const Json& options, const StyleSet& styles,
                                      ResourceCache* cache) {
  return method_registry().get(method).open(options, styles, cache);
}

StylizeResult stylize_once(const std::string& method, const Json& options, const StylizeInputs& inputs,
                           const StylizeHooks& hooks) {
  return open_session(method, options, StyleSet{inputs.styles, inputs.init})->stylize(inputs.content, hooks);
}

}  // namespace impasto
