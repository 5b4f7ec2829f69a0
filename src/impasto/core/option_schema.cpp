#include "impasto/core/option_schema.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "impasto/core/error.h"
#include "impasto/core/text.h"

namespace impasto {

const char* to_string(OptionType type) {
  switch (type) {
    case OptionType::boolean: return "boolean";
    case OptionType::integer: return "integer";
    case OptionType::number: return "number";
    case OptionType::string: return "string";
    case OptionType::layers: return "layers";
  }
  return "?";
}

const char* to_string(OptionRole role) {
  switch (role) {
    case OptionRole::plain: return "plain";
    case OptionRole::output_side: return "output_side";
    case OptionRole::backbone: return "backbone";
    case OptionRole::backbone_weights: return "backbone_weights";
    case OptionRole::model: return "model";
    case OptionRole::device: return "device";
    case OptionRole::output_scale: return "output_scale";
  }
  return "?";
}

OptionSpec& OptionSpec::with_choices(std::vector<std::string> values) {
  choices = std::move(values);
  return *this;
}

OptionSpec& OptionSpec::with_range(std::optional<double> low, std::optional<double> high) {
  min = low;
  max = high;
  return *this;
}

OptionSpec& OptionSpec::with_role(OptionRole r) {
  role = r;
  return *this;
}

OptionSpec& OptionSpec::operator_only() {
  in_service = false;
  return *this;
}

OptionSpec& OptionSpec::limited_by(std::string limit, std::optional<double> fallback) {
  service_limit = std::move(limit);
  service_max = fallback;
  return *this;
}

OptionSpec& OptionSpec::for_clients(std::vector<std::string> values) {
  service_choices = std::move(values);
  return *this;
}

OptionSpec& OptionSpec::on_page(WebControl control) {
  web = std::move(control);
  return *this;
}

namespace {

OptionSpec make_spec(std::string name, OptionType type, Json default_value, std::string help) {
  OptionSpec s;
  s.name = std::move(name);
  s.type = type;
  s.default_value = std::move(default_value);
  s.help = std::move(help);
  return s;
}

std::string number_text(double v) {
  if (std::isfinite(v) && v == std::floor(v) && std::abs(v) < 1e15) return std::to_string(static_cast<int64_t>(v));
  return Json(v).dump();
}

// Layer lists are parsed by nn/backbone.h (layer_weights_from_json); here only their shape.
void check_layers_shape(const OptionSpec& spec, const Json& value) {
  if (value.is_object()) {
    for (auto it = value.begin(); it != value.end(); ++it)
      if (!it->is_number()) throw OptionError(spec.name, "weight of layer '" + it.key() + "' must be a number");
    return;
  }
  if (value.is_array()) {
    for (const auto& item : value) {
      const bool pair = item.is_array() && item.size() == 2 && item[0].is_string() && item[1].is_number();
      if (!item.is_string() && !pair)
        throw OptionError(spec.name, "expected layer names, name:weight strings or [name, weight] pairs");
    }
    return;
  }
  throw OptionError(spec.name, "expected an object or a list of layers, got " + std::string(value.type_name()));
}

}  // namespace

OptionSpec boolean_option(std::string name, bool default_value, std::string help) {
  return make_spec(std::move(name), OptionType::boolean, default_value, std::move(help));
}
OptionSpec integer_option(std::string name, Json default_value, std::string help) {
  return make_spec(std::move(name), OptionType::integer, std::move(default_value), std::move(help));
}
OptionSpec number_option(std::string name, Json default_value, std::string help) {
  return make_spec(std::move(name), OptionType::number, std::move(default_value), std::move(help));
}
OptionSpec string_option(std::string name, Json default_value, std::string help) {
  return make_spec(std::move(name), OptionType::string, std::move(default_value), std::move(help));
}
OptionSpec layers_option(std::string name, std::string help) {
  return make_spec(std::move(name), OptionType::layers, Json(), std::move(help));
}

OptionSchema::OptionSchema(std::initializer_list<OptionSpec> specs) {
  for (const auto& s : specs) add(s);
}

OptionSchema& OptionSchema::add(OptionSpec spec) {
  if (find(spec.name)) throw std::logic_error("option '" + spec.name + "' declared twice");
  options_.push_back(std::move(spec));
  return *this;
}

const OptionSpec* OptionSchema::find(const std::string& name) const {
  for (const auto& s : options_)
    if (s.name == name) return &s;
  return nullptr;
}

const OptionSpec* OptionSchema::find_role(OptionRole role) const {
  for (const auto& s : options_)
    if (s.role == role) return &s;
  return nullptr;
}

std::vector<std::string> OptionSchema::names() const {
  std::vector<std::string> out;
  for (const auto& s : options_) out.push_back(s.name);
  return out;
}

void OptionSchema::check_value(const OptionSpec& spec, const Json& value) {
  switch (spec.type) {
    case OptionType::boolean:
      if (!value.is_boolean()) throw OptionError(spec.name, "must be true or false, got " + excerpt(json_text(value)));
      return;
    case OptionType::integer:
    case OptionType::number: {
      if (!value.is_number()) throw OptionError(spec.name, "must be a number, got " + excerpt(json_text(value)));
      const double v = value.get<double>();
      if (!std::isfinite(v)) throw OptionError(spec.name, "must be a finite number");
      if (spec.type == OptionType::integer && (!value.is_number_integer() && v != std::floor(v)))
        throw OptionError(spec.name, "must be a whole number, got " + excerpt(json_text(value)));
      if (spec.type == OptionType::integer && std::abs(v) > 9e15)
        throw OptionError(spec.name, "is out of range (" + excerpt(json_text(value)) + ")");
      if ((spec.min && v < *spec.min) || (spec.max && v > *spec.max)) {
        std::string range = spec.min && spec.max ? "in " + number_text(*spec.min) + ".." + number_text(*spec.max)
                            : spec.min           ? ">= " + number_text(*spec.min)
                                                 : "<= " + number_text(*spec.max);
        throw OptionError(spec.name, "must be " + range + " (got " + excerpt(json_text(value)) + ")");
      }
      return;
    }
    case OptionType::string:
      if (!value.is_string()) throw OptionError(spec.name, "must be a string, got " + excerpt(json_text(value)));
      if (!spec.choices.empty() &&
          std::find(spec.choices.begin(), spec.choices.end(), value.get<std::string>()) == spec.choices.end())
        throw OptionError(spec.name, "unknown " + spec.name + " '" + excerpt(value.get<std::string>()) + "'; valid: " + join(spec.choices));
      return;
    case OptionType::layers:
      check_layers_shape(spec, value);
      return;
  }
}

Json OptionSchema::resolve(const Json& given, const std::string& what) const {
  if (!given.is_object()) throw OptionError("options", "expected a JSON object, got " + std::string(given.type_name()));
  for (auto it = given.begin(); it != given.end(); ++it)
    if (!find(it.key())) throw OptionError(it.key(), "unknown option for " + what + "; valid: " + join(names()));
  Json out = Json::object();
  for (const auto& spec : options_) {
    auto it = given.find(spec.name);
    if (it != given.end() && !it->is_null()) {
      check_value(spec, *it);
      // Whole numbers are stored as integers, so `300.0` and `300` read alike.
      out[spec.name] = spec.type == OptionType::integer ? Json(static_cast<int64_t>(it->get<double>())) : *it;
    } else {
      out[spec.name] = spec.default_value;
    }
  }
  return out;
}

Json OptionSchema::to_json(bool all) const {
  Json list = Json::array();
  for (const auto& s : options_) {
    if (!all && !s.in_service) continue;
    Json j{{"name", s.name}, {"type", impasto::to_string(s.type)}, {"default", s.default_value}, {"help", s.help}};
    if (!s.choices.empty()) j["choices"] = s.choices;
    if (s.min) j["min"] = *s.min;
    if (s.max) j["max"] = *s.max;
    if (s.role != OptionRole::plain) j["role"] = impasto::to_string(s.role);
    if (all) j["service"] = s.in_service;
    if (!s.service_choices.empty()) j["service_choices"] = s.service_choices;
    if (!s.service_limit.empty()) j["service_limit"] = s.service_limit;
    if (s.service_max) j["service_max"] = *s.service_max;
    if (!s.web.kind.empty()) {
      Json web{{"kind", s.web.kind}, {"label", s.web.label.empty() ? s.name : s.web.label}};
      if (!s.web.choices.empty()) {
        Json choices = Json::array();
        for (const auto& [value, label] : s.web.choices)
          choices.push_back(Json{{"value", value}, {"label", label.empty() ? excerpt(json_text(value)) : label}});
        web["choices"] = choices;
      }
      web["value"] = s.web.value.is_null() ? s.default_value : s.web.value;
      if (s.web.step > 0) web["step"] = s.web.step;
      j["web"] = web;
    }
    list.push_back(j);
  }
  return list;
}

}  // namespace impasto
