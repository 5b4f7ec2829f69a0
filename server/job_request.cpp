#include "job_request.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "impasto/core/error.h"

namespace impasto::server {

const std::vector<std::string>& allowed_options(const std::string& method) {
  static const std::vector<std::string> gatys = {
      "backbone",      "backbone_seed", "content_layers", "content_weight", "image_size", "init",
      "iterations",    "learning_rate", "normalisation",  "optimizer",      "pooling",    "preserve_colors",
      "scales",        "seed",          "style_layers",   "style_scale",    "style_weight", "tv_weight"};
  static const std::vector<std::string> network = {"image_size", "preserve_colors", "strength"};
  static const std::vector<std::string> none;
  if (method == "gatys") return gatys;
  if (method == "network") return network;
  return none;
}

namespace {

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    const std::string part = trim(text.substr(start, comma - start));
    if (!part.empty()) parts.push_back(part);
    start = comma + 1;
  }
  return parts;
}

// A text field's value as the JSON the method's parser reads: layer lists split at commas as on the
// command line, JSON literals (numbers, true, "quoted", [..]) as themselves, anything else a string.
Json field_value(const std::string& key, const std::string& text) {
  const std::string t = trim(text);
  if (key.size() > 7 && key.compare(key.size() - 7, 7, "_layers") == 0 && !t.empty() && t[0] != '[') {
    Json list = Json::array();
    for (const auto& part : split_commas(t)) list.push_back(part);
    return list;
  }
  Json v = Json::parse(t, nullptr, /*allow_exceptions=*/false);
  if (!v.is_discarded()) return v;
  return t;
}

UploadedImage decode_upload(const FormField& field, const std::string& role, int64_t max_pixels) {
  const std::string source = role + (field.filename.empty() ? "" : " '" + field.filename + "'");
  if (field.content.empty()) throw FormatError(source, "empty upload");
  UploadedImage u;
  u.filename = field.filename;
  u.bytes = field.content;
  const std::vector<uint8_t> bytes(field.content.begin(), field.content.end());
  u.format = probe_image(bytes, source).format;
  ImageReadOptions read;
  read.max_pixels = max_pixels;
  u.image = decode_image(bytes, source, read);  // pixel limit from the header first, then truncation
  return u;
}

double number_option(const Json& options, const std::string& key, double fallback) {
  auto it = options.find(key);
  if (it == options.end() || it->is_null()) return fallback;
  if (!it->is_number()) throw OptionError(key, "must be a number, got " + it->dump());
  return it->get<double>();
}

std::vector<double> parse_blend_weights(const std::string& text) {
  Json v = Json::parse(trim(text), nullptr, false);
  std::vector<double> weights;
  if (!v.is_discarded() && v.is_array()) {
    for (const auto& w : v) {
      if (!w.is_number()) throw OptionError("style_blend_weights", "expected numbers, got " + w.dump());
      weights.push_back(w.get<double>());
    }
  } else {
    for (const auto& part : split_commas(text)) {
      char* end = nullptr;
      const double w = std::strtod(part.c_str(), &end);
      if (end == part.c_str() || *end != '\0') throw OptionError("style_blend_weights", "'" + part + "' is not a number");
      weights.push_back(w);
    }
  }
  for (double w : weights)
    if (!std::isfinite(w) || w < 0) throw OptionError("style_blend_weights", "weights must be finite and >= 0");
  return weights;
}

// The server's limits on top of the method's own checks: bounded work per job.
void apply_limits(JobRequest& r, const ServerOptions& limits) {
  const int64_t content_side = std::max(r.content.image.height(), r.content.image.width());
  if (r.method == "gatys") {
    const double iterations = number_option(r.options, "iterations", 300);
    if (!r.options.contains("iterations") && iterations > limits.max_iterations) r.options["iterations"] = limits.max_iterations;
    else if (iterations > limits.max_iterations)
      throw OptionError("iterations", "at most " + std::to_string(limits.max_iterations) + " on this server");
    const double size = number_option(r.options, "image_size", 512);
    if (!r.options.contains("image_size") && size > limits.max_side) r.options["image_size"] = limits.max_side;
    else if (size > limits.max_side)
      throw OptionError("image_size", "at most " + std::to_string(limits.max_side) + " on this server");
    else if (size == 0 && content_side > limits.max_side)
      throw OptionError("image_size", "0 keeps the content's size, " + std::to_string(content_side) +
                                         " px, over this server's limit of " + std::to_string(limits.max_side));
    if (r.options.contains("init") && r.options["init"].is_string() && r.options["init"] == "image")
      throw OptionError("init", "'image' needs an init image, which the service does not take; valid: content, noise");
  } else {
    const double size = number_option(r.options, "image_size", 0);
    if (size > 0) {
      const double scale = size / static_cast<double>(content_side);
      const double pixels = r.content.image.height() * scale * r.content.image.width() * scale;
      if (pixels > static_cast<double>(limits.max_pixels))
        throw OptionError("image_size", "the output would have " + std::to_string(static_cast<int64_t>(pixels)) +
                                           " pixels, over this server's limit of " + std::to_string(limits.max_pixels));
    }
  }
}

}  // namespace

JobRequest parse_job_request(const std::vector<FormField>& fields, const ServerOptions& limits) {
  JobRequest r;
  const FormField* content = nullptr;
  std::vector<const FormField*> styles;
  const FormField* options_json = nullptr;
  std::vector<const FormField*> option_fields;
  std::string method;
  std::string blend;
  for (const auto& f : fields) {
    if (f.name == "content") {
      if (content) throw OptionError("content", "more than one content image; send exactly one");
      content = &f;
    } else if (f.name == "style") {
      styles.push_back(&f);
    } else if (!f.filename.empty()) {
      throw OptionError(f.name, "unexpected file field; files go in 'content' and 'style'");
    } else if (f.name == "model") {
      r.model = trim(f.content);
    } else if (f.name == "method") {
      method = trim(f.content);
    } else if (f.name == "options") {
      if (options_json) throw OptionError("options", "sent twice");
      options_json = &f;
    } else if (f.name == "format") {
      r.format = trim(f.content);
    } else if (f.name == "style_blend_weights") {
      blend = f.content;
    } else {
      option_fields.push_back(&f);
    }
  }

  // The method: named, or implied by a model.
  if (method.empty()) method = r.model.empty() ? "gatys" : "network";
  if (method != "gatys" && method != "network")
    throw OptionError("method", "unknown method '" + method + "'; valid: gatys, network");
  r.method = method;
  if (method == "network" && r.model.empty())
    throw OptionError("model", "method network needs the name of a model (GET /v1/models lists them)");
  if (method == "gatys" && !r.model.empty())
    throw OptionError("model", "method gatys takes style images, not a model; leave out 'method' to use the model");

  if (options_json) {
    Json o = Json::parse(options_json->content, nullptr, false);
    if (o.is_discarded()) throw OptionError("options", "not valid JSON");
    if (!o.is_object()) throw OptionError("options", "must be a JSON object of method options, got " + std::string(o.type_name()));
    r.options = std::move(o);
  }
  for (const FormField* f : option_fields) r.options[f->name] = field_value(f->name, f->content);
  const auto& allowed = allowed_options(method);
  for (auto it = r.options.begin(); it != r.options.end(); ++it)
    if (std::find(allowed.begin(), allowed.end(), it.key()) == allowed.end())
      throw OptionError(it.key(), "unknown option for method " + method + "; valid: " + join(allowed));

  if (r.format == "jpg") r.format = "jpeg";
  if (r.format != "png" && r.format != "jpeg" && r.format != "webp")
    throw OptionError("format", "unknown output format '" + r.format + "'; valid: png, jpeg, webp");

  if (!content) throw OptionError("content", "no content image: send the photo as the file field 'content'");
  if (method == "gatys" && styles.empty()) throw OptionError("style", "no style image: send one or more as the file field 'style'");
  if (method == "network" && !styles.empty()) throw OptionError("style", "a model carries its own style; send no style image with it");
  if (!blend.empty()) {
    r.style_blend_weights = parse_blend_weights(blend);
    if (r.style_blend_weights.size() != styles.size())
      throw OptionError("style_blend_weights", "got " + std::to_string(r.style_blend_weights.size()) + " weights for " +
                                                   std::to_string(styles.size()) + " style images");
  }

  r.content = decode_upload(*content, "content image", limits.max_pixels);
  for (size_t i = 0; i < styles.size(); ++i)
    r.styles.push_back(decode_upload(*styles[i], "style image " + std::to_string(i + 1), limits.max_pixels));
  apply_limits(r, limits);
  return r;
}

}  // namespace impasto::server
