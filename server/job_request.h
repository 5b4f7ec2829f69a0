#pragma once
// A stylization request as it arrives (multipart form fields), checked completely before anything
// is queued: the fields, every option against the method's own strict parser and the server's
// limits, and every uploaded image (format, truncation, pixel count from the header, then a decode).
// No HTTP types here, so the same path is unit-tested and fuzzed (server/fuzz/).
//
// Fields: `content` (file, required: a photo, or a video for a job that stylizes every frame), `style` (file, as many as the method takes),
// `style_gan` (the name of a GAN in the models folder that paints style images for the request, with
// `style_seed`, `style_count`, `style_truncation`), `model` (name of a
// trained network, for a method with a model option; none: the service runs the method's built-in
// model, where it has one), `mask_N` (file, optional: the region of style image N, white = that
// style here, for a method that takes masks), `method` (any registered method; implied by
// the options, and by `model`), `options` (a JSON object of method options), `format` (png | jpeg |
// webp) and any method option as its own text field (`iterations=200`, `style_layers=relu1_1,relu2_1`),
// with the names of the CLI's JSON config. What a client may set, and up to which limit, is the
// method's option schema's (style/method.h, core/option_schema.h); anything else is an error naming it.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "impasto/core/json_options.h"
#include "impasto/io/image.h"
#include "impasto/io/video.h"
#include "server_options.h"

namespace impasto::server {

struct FormField {
  std::string name;
  std::string filename;      // set for file fields
  std::string content_type;
  std::string content;
};

struct UploadedImage {
  std::string filename;      // as sent (for display only; never used as a path)
  std::string format;        // png, jpeg, webp, bmp, tiff (from the bytes)
  std::string bytes;
  Image image;               // decoded
};

// Style pictures a GAN of the models folder paints for a request (fields `style_gan`: its name,
// `style_seed`, `style_count`, `style_truncation`, `style_category`; style/gan_styles.h): the service adds them after
// the uploaded style images, as if they had been uploaded, and records how they were made.
struct GanStyleRequest {
  std::string gan;             // "" = none
  std::optional<uint64_t> seed;  // none: the service draws one (and reports it)
  int64_t count = 1;
  double truncation = 0;
  std::optional<int64_t> category;  // a GAN with latent categories: this one's pictures (none: drawn)

  bool enabled() const { return !gan.empty(); }
};
inline constexpr int64_t kMaxServiceGanStyles = 8;

struct JobRequest {
  std::string method;        // a registered method
  std::string model;         // methods with a model option: the model's name in the catalogue ("" = built-in)
  Json options = Json::object();  // the method's options as given (server-side paths not included)
  std::vector<double> style_blend_weights;
  std::string format = "png";     // png | jpeg | webp; a video's result: mp4 (default) | webm
  UploadedImage content;          // a video's bytes with no image (content_video says so)
  std::optional<VideoInfo> content_video;
  std::vector<UploadedImage> styles;
  std::vector<UploadedImage> masks;  // empty, or one per style, uploaded or painted (no bytes = no mask for that style)
  GanStyleRequest gan_styles;        // painted after `styles`
};

// The style_seed / style_count / style_truncation / style_category fields (also the query of GET /v1/gans/{name}/styles);
// OptionError naming the field.
void parse_gan_style_field(GanStyleRequest& request, const std::string& field, const std::string& text);
// Those fields' names without "style_": the query parameters of GET /v1/gans/{name}/styles.
const std::vector<std::string>& gan_style_parameters();
bool is_gan_style_parameter(const std::string& name);

// Options a client may set for `method` (paths, devices and tiling are the operator's; the model is
// named by the `model` field).
std::vector<std::string> client_options(const std::string& method);

// Throws OptionError (a field or option: unknown, missing, wrong type or value, over a limit),
// FormatError (an upload that is not a supported image or is cut off) or LimitError (an image
// with more pixels than options.max_pixels).
JobRequest parse_job_request(const std::vector<FormField>& fields, const ServerOptions& options);

}  // namespace impasto::server
