#include "job_request.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>
#include <set>

#include "impasto/core/error.h"
#include "impasto/core/text.h"
#include "impasto/style/method.h"

namespace impasto::server {

namespace {

// Text a client sends (a field, the options JSON) is small: no option needs more than this, and
// JSON is never nested deeper than kMaxJsonDepth (nlohmann's copies and comparisons recurse over the
// nesting, so a deep document would overflow the stack long before it is refused).
constexpr size_t kMaxFieldBytes = 64 * 1024;
constexpr int kMaxJsonDepth = 32;

// Throws OptionError(field) when `text` holds JSON nested deeper than kMaxJsonDepth (brackets
// counted outside strings, without parsing).
void check_json_depth(const std::string& text, const std::string& field) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth)
        throw OptionError(field, "JSON nested more than " + std::to_string(kMaxJsonDepth) + " levels deep");
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
}

// `text` as JSON (discarded when it is not JSON), after the depth check.
Json parse_client_json(const std::string& text, const std::string& field) {
  check_json_depth(text, field);
  return Json::parse(text, nullptr, /*allow_exceptions=*/false);
}

bool settable_by_clients(const OptionSpec& spec) { return spec.in_service && spec.role != OptionRole::model; }

// A text field's value as the JSON the method reads: layer lists split at commas as on the command
// line, JSON literals (numbers, true, "quoted", [..]) as themselves, anything else a string.
Json field_value(const OptionSpec* spec, const std::string& text) {
  const std::string t = trim(text);
  if (spec && spec->type == OptionType::layers && !t.empty() && t[0] != '[') {
    Json list = Json::array();
    for (const auto& part : split_commas(t)) list.push_back(part);
    return list;
  }
  Json v = parse_client_json(t, spec ? spec->name : "options");
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

std::vector<double> parse_blend_weights(const std::string& text) {
  Json v = parse_client_json(trim(text), "style_blend_weights");
  std::vector<double> weights;
  if (!v.is_discarded() && v.is_array()) {
    for (const auto& w : v) {
      if (!w.is_number()) throw OptionError("style_blend_weights", "expected numbers, got " + excerpt(json_text(w)));
      weights.push_back(w.get<double>());
    }
  } else {
    for (const auto& part : split_commas(text)) {
      char* end = nullptr;
      const double w = std::strtod(part.c_str(), &end);
      if (end == part.c_str() || *end != '\0') throw OptionError("style_blend_weights", "'" + excerpt(part) + "' is not a number");
      weights.push_back(w);
    }
  }
  for (double w : weights)
    if (!std::isfinite(w) || w < 0) throw OptionError("style_blend_weights", "weights must be finite and >= 0");
  return weights;
}

std::string number_text(double v) { return std::to_string(static_cast<int64_t>(v)); }

// Whether an upload is a video rather than an image: one of the common containers by its
// signature (so that a damaged one is reported as a video), or not an image by its header and a
// container with a video stream by FFmpeg's probe. `header` gets what the probe read (read once;
// the limits are checked later), and stays empty for a damaged video, whose errors come later.
bool content_is_video(const FormField& field, std::optional<VideoInfo>& header) {
  const std::string& b = field.content;
  if (b.empty()) return false;
  const bool signature = (b.size() >= 8 && b.compare(4, 4, "ftyp") == 0) || b.rfind("\x1a\x45\xdf\xa3", 0) == 0 ||
                         (b.size() >= 12 && b.rfind("RIFF", 0) == 0 && b.compare(8, 4, "AVI ") == 0);
  if (!signature) {
    const std::vector<uint8_t> head(b.begin(), b.begin() + std::min<size_t>(b.size(), 64 * 1024));
    try {
      probe_image(head, "content");
      return false;
    } catch (const Error&) {
    }
  }
  VideoLimits unlimited;
  unlimited.max_pixels = std::numeric_limits<int64_t>::max();
  try {
    header = probe_video_bytes(b, "content", unlimited);
    return true;
  } catch (const Error&) {
    return signature;
  }
}

// The file extension a container is kept under.
std::string video_extension(const std::string& container) {
  if (container.find("mp4") != std::string::npos) return "mp4";
  if (container.find("matroska") != std::string::npos) return "mkv";
  if (container == "avi") return "avi";
  return "video";
}

// The server's limits on top of the method's own checks (bounded work per job), from the schema: a
// value over an option's limit is refused, an unset option whose default is over it runs at the
// limit; the output size (an output_side option, 0 = the content's) stays within the limits too.
void apply_limits(JobRequest& r, const OptionSchema& schema, const ServerOptions& limits) {
  for (const OptionSpec& spec : schema.options()) {
    if (spec.service_limit.empty() && !spec.service_max) continue;
    const std::optional<double> named = limits.option_limit(spec.service_limit);
    if (!named && !spec.service_max) continue;
    const double cap = named ? *named : *spec.service_max;
    const bool given = r.options.contains(spec.name);
    const Json& value = given ? r.options[spec.name] : spec.default_value;
    if (!value.is_number()) continue;
    if (value.get<double>() > cap) {
      if (given) throw OptionError(spec.name, "at most " + number_text(cap) + " on this server");
      r.options[spec.name] = static_cast<int64_t>(cap);
    }
  }
  const int64_t content_h = r.content_video ? r.content_video->height : r.content.image.height();
  const int64_t content_w = r.content_video ? r.content_video->width : r.content.image.width();
  const int64_t content_side = std::max(content_h, content_w);
  const OptionSpec* output_side = nullptr;
  for (const OptionSpec& spec : schema.options()) {
    if (spec.role != OptionRole::output_side) continue;
    output_side = &spec;
    const Json& value = r.options.contains(spec.name) ? r.options[spec.name] : spec.default_value;
    const double side = value.is_number() ? value.get<double>() : 0;
    const std::optional<double> side_limit = limits.option_limit(spec.service_limit);
    if (side == 0 && side_limit && content_side > *side_limit)
      throw OptionError(spec.name, "0 keeps the content's size, " + std::to_string(content_side) +
                                       " px, over this server's limit of " + number_text(*side_limit));
    if (side > 0) {
      const double scale = side / static_cast<double>(content_side);
      const double pixels = content_h * scale * content_w * scale;
      if (pixels > static_cast<double>(limits.max_pixels))
        throw OptionError(spec.name, "the output would have " + std::to_string(static_cast<int64_t>(pixels)) +
                                         " pixels, over this server's limit of " + std::to_string(limits.max_pixels));
    }
  }
  // Sizes that multiply the output side (a style image at style_scale times it) stay within the
  // side limit too: 16 x 1024 px would be a 16384 px style image.
  if (!output_side) return;
  const std::optional<double> side_limit = limits.option_limit(output_side->service_limit);
  const Json& side_value = r.options.contains(output_side->name) ? r.options[output_side->name] : output_side->default_value;
  const double side = side_value.is_number() && side_value.get<double>() > 0 ? side_value.get<double>() : static_cast<double>(content_side);
  if (!side_limit) return;
  for (const OptionSpec& spec : schema.options()) {
    if (spec.role != OptionRole::output_scale) continue;
    const Json& value = r.options.contains(spec.name) ? r.options[spec.name] : spec.default_value;
    if (!value.is_number()) continue;
    const double scaled = value.get<double>() * side;
    if (scaled > *side_limit)
      throw OptionError(spec.name, number_text(value.get<double>()) + " x the output's " + number_text(side) + " px is " +
                                       number_text(std::round(scaled)) + " px, over this server's limit of " + number_text(*side_limit) +
                                       " px (" + output_side->name + " x " + spec.name + " <= " + number_text(*side_limit) + ")");
  }
}

// The method a request names, or the one its options (and a model) imply.
std::string implied_method(const std::string& named, const std::string& model, const Json& options) {
  if (!named.empty()) return named;
  std::vector<std::string> keys;
  for (auto it = options.begin(); it != options.end(); ++it) keys.push_back(it.key());
  // A model names the method whose model option it is for: with several methods that take models,
  // the first registered one that the other options fit (a model alone means the first).
  if (!model.empty())
    for (const auto& m : method_registry().methods())
      if (const OptionSpec* spec = m->description().options.find_role(OptionRole::model)) {
        std::vector<std::string> with_model = keys;
        if (std::find(with_model.begin(), with_model.end(), spec->name) == with_model.end()) with_model.push_back(spec->name);
        if (method_registry().method_for(with_model) == m->name()) return m->name();
      }
  return method_registry().method_for(keys);
}

// Seeds a page's script reads back exactly (JavaScript numbers are doubles).
constexpr uint64_t kMaxExactSeed = (uint64_t{1} << 53) - 1;

// A whole number in [lo, hi] written in decimal digits only.
uint64_t parse_count(const std::string& field, const std::string& text, uint64_t lo, uint64_t hi) {
  const std::string t = trim(text);
  if (t.empty() || t.size() > 19 || t.find_first_not_of("0123456789") != std::string::npos)
    throw OptionError(field, "'" + excerpt(t) + "' is not a whole number");
  const uint64_t v = std::stoull(t);
  if (v < lo || v > hi) throw OptionError(field, "must be in " + std::to_string(lo) + ".." + std::to_string(hi) + ", got " + t);
  return v;
}

}  // namespace

void parse_gan_style_field(GanStyleRequest& r, const std::string& field, const std::string& text) {
  if (field == "style_seed") {
    r.seed = parse_count(field, text, 0, kMaxExactSeed);
  } else if (field == "style_count") {
    r.count = static_cast<int64_t>(parse_count(field, text, 1, kMaxServiceGanStyles));
  } else if (field == "style_truncation") {
    const std::string t = trim(text);
    char* end = nullptr;
    const double v = std::strtod(t.c_str(), &end);
    if (t.empty() || end != t.c_str() + t.size() || !std::isfinite(v)) throw OptionError(field, "'" + excerpt(t) + "' is not a number");
    if (v < 0 || v > 10) throw OptionError(field, "must be in 0..10 (0 = off), got " + t);
    r.truncation = v;
  } else if (field == "style_category") {
    r.category = static_cast<int64_t>(parse_count(field, text, 0, 4095));  // at most z_dim - 1 (nn/gan_model checks)
  } else {
    throw OptionError(field, "not a GAN style field");
  }
}

const std::vector<std::string>& gan_style_parameters() {
  static const std::vector<std::string> names = {"seed", "count", "truncation", "category"};
  return names;
}

bool is_gan_style_parameter(const std::string& name) {
  const auto& names = gan_style_parameters();
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::vector<std::string> client_options(const std::string& method) {
  std::vector<std::string> out;
  for (const auto& spec : method_registry().get(method).description().options.options())
    if (settable_by_clients(spec)) out.push_back(spec.name);
  return out;
}

JobRequest parse_job_request(const std::vector<FormField>& fields, const ServerOptions& limits) {
  JobRequest r;
  const FormField* content = nullptr;
  std::vector<const FormField*> styles;
  std::vector<const FormField*> masks;  // by style, nullptr = none
  const FormField* options_json = nullptr;
  std::vector<const FormField*> option_fields;
  std::string method;
  std::string blend;
  std::vector<const FormField*> gan_fields;
  bool format_given = false;
  for (const auto& f : fields) {
    if (f.name.size() > 64) throw OptionError(excerpt(f.name), "unknown field");
    if (f.filename.empty() && f.content.size() > kMaxFieldBytes)
      throw OptionError(f.name, "is " + std::to_string(f.content.size()) + " bytes; a text field holds at most " +
                                    std::to_string(kMaxFieldBytes));
    if (f.name == "content") {
      if (content) throw OptionError("content", "more than one content image; send exactly one");
      content = &f;
    } else if (f.name == "style") {
      styles.push_back(&f);
    } else if (f.name.rfind("mask_", 0) == 0) {
      // mask_N: the region of style image N (1-based).
      const std::string digits = f.name.substr(5);
      if (digits.empty() || digits.size() > 2 || digits.find_first_not_of("0123456789") != std::string::npos || digits[0] == '0')
        throw OptionError(f.name, "masks are fields mask_1, mask_2, ... (one per style image)");
      const size_t n = std::stoul(digits);
      if (masks.size() < n) masks.resize(n, nullptr);
      if (masks[n - 1]) throw OptionError(f.name, "sent twice");
      masks[n - 1] = &f;
    } else if (!f.filename.empty()) {
      throw OptionError(f.name, "unexpected file field; files go in 'content', 'style' and 'mask_N'");
    } else if (f.name == "model") {
      r.model = trim(f.content);
    } else if (f.name == "method") {
      method = trim(f.content);
    } else if (f.name == "options") {
      if (options_json) throw OptionError("options", "sent twice");
      options_json = &f;
    } else if (f.name == "format") {
      r.format = trim(f.content);
      format_given = true;
    } else if (f.name == "style_blend_weights") {
      blend = f.content;
    } else if (f.name == "style_gan") {
      r.gan_styles.gan = trim(f.content);
      if (r.gan_styles.gan.empty() || r.gan_styles.gan.size() > 128) throw OptionError("style_gan", "must name a GAN of GET /v1/models");
    } else if (f.name.rfind("style_", 0) == 0 && is_gan_style_parameter(f.name.substr(6))) {
      gan_fields.push_back(&f);
    } else {
      option_fields.push_back(&f);
    }
  }

  for (const FormField* f : gan_fields) {
    if (!r.gan_styles.enabled()) throw OptionError(f->name, "needs style_gan (the GAN that paints the style images)");
    parse_gan_style_field(r.gan_styles, f->name, f->content);
  }
  // Uploaded and painted style images together.
  const size_t style_count = styles.size() + static_cast<size_t>(r.gan_styles.enabled() ? r.gan_styles.count : 0);

  if (options_json) {
    Json o = parse_client_json(options_json->content, "options");
    if (o.is_discarded()) throw OptionError("options", "not valid JSON");
    if (!o.is_object()) throw OptionError("options", "must be a JSON object of method options, got " + std::string(o.type_name()));
    r.options = std::move(o);
  }
  std::vector<std::string> field_names;
  for (const FormField* f : option_fields) field_names.push_back(f->name);

  // The method: named, or implied by the options and the model.
  {
    Json keys = r.options;
    for (const auto& n : field_names) keys[n] = true;
    r.method = implied_method(method, r.model, keys);
  }
  const MethodDescription& d = method_registry().get(r.method).description();  // OptionError("method") for unknown
  const OptionSchema& schema = d.options;
  const OptionSpec* model_option = schema.find_role(OptionRole::model);
  if (!model_option && !r.model.empty())
    throw OptionError("model", "method " + r.method + " takes style images, not a model; leave out 'method' to use the model");

  for (const FormField* f : option_fields) r.options[f->name] = field_value(schema.find(f->name), f->content);
  const std::vector<std::string> allowed = client_options(r.method);
  for (auto it = r.options.begin(); it != r.options.end(); ++it) {
    const OptionSpec* spec = schema.find(it.key());
    if (!spec || !settable_by_clients(*spec))
      throw OptionError(excerpt(it.key()), "unknown option for method " + r.method + "; valid: " + join(allowed));
    if (it->is_null()) continue;
    OptionSchema::check_value(*spec, *it);
    if (!spec->service_choices.empty() && it->is_string() &&
        std::find(spec->service_choices.begin(), spec->service_choices.end(), it->get<std::string>()) == spec->service_choices.end())
      throw OptionError(it.key(), "'" + excerpt(it->get<std::string>()) + "' is not offered by the service; valid: " + join(spec->service_choices));
  }

  if (!content) throw OptionError("content", "no content image: send the photo as the file field 'content'");
  // A video as content: recognised by its bytes (an image's header comes first).
  std::optional<VideoInfo> video_header;
  const bool video = content_is_video(*content, video_header);
  if (video) {
    if (!format_given) r.format = "mp4";
    if (r.format != "mp4" && r.format != "webm")
      throw OptionError("format", "a video's result is mp4 or webm, not '" + excerpt(r.format) + "'");
  } else {
    if (r.format == "jpg") r.format = "jpeg";
    if (r.format != "png" && r.format != "jpeg" && r.format != "webp")
      throw OptionError("format", "unknown output format '" + excerpt(r.format) + "'; valid: png, jpeg, webp");
  }
  const MethodCapabilities& can = d.capabilities;
  if (!can.takes_styles() && r.gan_styles.enabled())
    throw OptionError("style_gan", "method " + r.method + " carries its style in its model; it takes no style images");
  if (!can.takes_styles() && !styles.empty())
    throw OptionError("style", "method " + r.method + " carries its style in its model; send no style image with it");
  if (style_count < static_cast<size_t>(can.min_styles))
    throw OptionError("style", "no style image: send one or more as the file field 'style', or name a GAN as style_gan");
  if (style_count > static_cast<size_t>(can.max_styles))
    throw OptionError(styles.empty() ? "style_count" : "style", std::to_string(style_count) + " style images; method " + r.method +
                                                                     " takes at most " + std::to_string(can.max_styles));
  if (!blend.empty()) {
    r.style_blend_weights = parse_blend_weights(blend);
    if (r.style_blend_weights.size() != style_count)
      throw OptionError("style_blend_weights", "got " + std::to_string(r.style_blend_weights.size()) + " weights for " +
                                                   std::to_string(style_count) + " style images");
  }

  if (!masks.empty()) {
    if (!can.masks) throw OptionError("mask_" + std::to_string(masks.size()), "method " + r.method + " takes no masks");
    if (masks.size() > style_count)
      throw OptionError("mask_" + std::to_string(masks.size()), "a mask for style image " + std::to_string(masks.size()) +
                                                                    ", but " + std::to_string(style_count) + " style image(s) were sent");
  }

  // The images' headers first: the request's pixels together are bounded before anything is decoded
  // (small files can promise large pictures: a flat 16 MP PNG is a few kilobytes).
  {
    int64_t total = 0;
    auto add = [&](const FormField* f, const std::string& role) {
      if (!f || f->content.empty()) return;
      const std::vector<uint8_t> bytes(f->content.begin(), f->content.end());
      const ImageHeader h = probe_image(bytes, role + (f->filename.empty() ? "" : " '" + excerpt(f->filename) + "'"));
      total += h.width * h.height;
    };
    if (!video) add(content, "content image");
    for (size_t i = 0; i < styles.size(); ++i) add(styles[i], "style image " + std::to_string(i + 1));
    for (size_t i = 0; i < masks.size(); ++i) add(masks[i], "mask " + std::to_string(i + 1));
    if (total > limits.max_request_pixels)
      throw LimitError("request", "its images have " + std::to_string(total) + " pixels together, over this server's limit of " +
                                      std::to_string(limits.max_request_pixels) + "; send fewer or smaller images");
  }
  if (video) {
    VideoLimits video_limits;
    video_limits.max_pixels = limits.max_video_pixels;
    video_limits.max_frames = limits.max_video_frames;
    video_limits.max_seconds = limits.max_video_seconds;
    const std::string source = "content video" + (content->filename.empty() ? "" : " '" + excerpt(content->filename) + "'");
    r.content_video = video_header ? *video_header : probe_video_bytes(content->content, source, video_limits);
    check_video_limits(*r.content_video, video_limits, source);
    r.content.filename = content->filename;
    r.content.bytes = content->content;
    r.content.format = video_extension(r.content_video->container);
  } else {
    r.content = decode_upload(*content, "content image", limits.max_pixels);
  }
  for (size_t i = 0; i < styles.size(); ++i)
    r.styles.push_back(decode_upload(*styles[i], "style image " + std::to_string(i + 1), limits.max_pixels));
  if (!masks.empty()) {
    r.masks.resize(style_count);
    for (size_t i = 0; i < masks.size(); ++i)
      if (masks[i]) r.masks[i] = decode_upload(*masks[i], "mask " + std::to_string(i + 1), limits.max_pixels);
  }
  apply_limits(r, schema, limits);
  return r;
}

}  // namespace impasto::server
