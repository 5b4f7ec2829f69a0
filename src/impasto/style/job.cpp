#include "impasto/style/job.h"

#include <torch/torch.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <sstream>

#include "impasto/core/text.h"
#include "impasto/io/chart.h"
#include "impasto/io/image_folder.h"
#include "impasto/io/grid.h"
#include "impasto/io/image_ops.h"
#include "impasto/io/text_file.h"

namespace impasto {

std::string output_stem(const std::string& output) {
  const auto slash = output.find_last_of('/');
  const auto dot = output.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return output;
  return output.substr(0, dot);
}

at::Tensor loss_curves(const std::vector<StepRecord>& records) {
  // x: steps counted across all levels.
  std::vector<double> x;
  for (size_t i = 0; i < records.size(); ++i) x.push_back(static_cast<double>(i + 1));
  auto series = [&](const std::string& name, auto value) {
    ChartSeries s{name, x, {}};
    for (const auto& r : records) s.y.push_back(value(r));
    return s;
  };
  std::vector<ChartSeries> terms = {series("total", [](const StepRecord& r) { return r.total; }),
                                    series("content", [](const StepRecord& r) { return r.content; }),
                                    series("style", [](const StepRecord& r) { return r.style; })};
  if (!records.empty() && records.back().tv > 0) terms.push_back(series("tv", [](const StepRecord& r) { return r.tv; }));
  std::vector<ChartSeries> layers;
  if (!records.empty()) {
    for (size_t k = 0; k < records.back().style_layers.size(); ++k)
      layers.push_back(series(records.back().style_layers[k].first,
                              [k](const StepRecord& r) { return k < r.style_layers.size() ? r.style_layers[k].second : 0.0; }));
  }
  ChartOptions o;
  o.title = "weighted loss terms";
  const at::Tensor left = line_chart(terms, o);
  o.title = "style loss per layer";
  const at::Tensor right = line_chart(layers, o);
  return make_grid({left, right}, 2, o.height, 0);
}

namespace {

}  // namespace

void check_stylize_job(const StylizeJob& job, const MethodDescription& method) {
  check_gan_style_options(job.gan_styles);
  const GanStyleOptions& gan = job.gan_styles;
  // A latent file's row count is known once it is read; it brings at least one style.
  check_style_count(method, job.styles.size() + (gan.enabled() ? (gan.latents.empty() ? size_t(gan.count) : 1) : 0));
  if (gan.enabled() && !job.masks.empty())
    throw OptionError("masks", "masks belong to style files; they cannot be combined with --style-gan");
  const MethodCapabilities& can = method.capabilities;
  if (!job.masks.empty() && !can.masks) throw OptionError("masks", "method " + method.name + " takes no masks");
  if (!job.init_image.empty() && !can.init_image)
    throw OptionError("init_image", "method " + method.name + " takes no init image");
  if (!gan.enabled() && !job.style_blend_weights.empty() && job.style_blend_weights.size() != job.styles.size())
    throw OptionError("style_blend_weights", "got " + std::to_string(job.style_blend_weights.size()) +
                                                 " weights for " + std::to_string(job.styles.size()) + " style images");
  if (!job.masks.empty() && job.masks.size() != job.styles.size())
    throw OptionError("masks", "got " + std::to_string(job.masks.size()) + " masks for " +
                                   std::to_string(job.styles.size()) + " style images (use '' for a style without a mask)");
  if (job.save_every < 0) throw OptionError("save_every", "must be >= 0");
  if (!job.format.empty() && !known_image_extension(job.format))
    throw OptionError("format", "unknown image format '" + job.format + "'; valid: png, jpg, webp, bmp, tif");
}

StyleSet read_style_set(const StylizeJob& job, const ImageReadOptions& read_options, GanStyles* generated) {
  StyleSet shared;
  for (size_t i = 0; i < job.styles.size(); ++i) {
    StyleInput s;
    s.name = job.styles[i];
    s.image = read_image(job.styles[i], read_options).rgb;
    s.weight = job.style_blend_weights.empty() ? 1.0 : job.style_blend_weights[i];
    if (!job.masks.empty() && !job.masks[i].empty()) s.mask = to_single_channel(read_image(job.masks[i], read_options).rgb);
    shared.styles.push_back(std::move(s));
  }
  if (job.gan_styles.enabled()) {
    GanStyles painted = generate_gan_styles(job.gan_styles);
    const size_t total = job.styles.size() + painted.images.size();
    if (!job.style_blend_weights.empty() && job.style_blend_weights.size() != total)
      throw OptionError("style_blend_weights", "got " + std::to_string(job.style_blend_weights.size()) + " weights for " +
                                                   std::to_string(total) + " styles (" + std::to_string(job.styles.size()) +
                                                   " files and " + std::to_string(painted.images.size()) + " painted by the GAN)");
    for (size_t i = 0; i < painted.images.size(); ++i) {
      StyleInput s;
      s.name = "GAN style " + std::to_string(i + 1) + " of " + job.gan_styles.run;
      s.image = painted.images[i];
      s.weight = job.style_blend_weights.empty() ? 1.0 : job.style_blend_weights[job.styles.size() + i];
      shared.styles.push_back(std::move(s));
    }
    if (generated) *generated = std::move(painted);
  }
  if (!job.init_image.empty()) shared.init = read_image(job.init_image, read_options).rgb;
  return shared;
}

namespace {

// Where one result goes: a file (with the side files beside it) or, with job.write_output, bytes.
struct Destination {
  std::string path;        // "" for bytes
  std::string losses;      // losses.jsonl path, "" for none
  std::string extension;   // ".png" etc.
};

// Stylizes one content image with the job's session and writes the result.
StylizeJobResult stylize_one(Session& session, const MethodDescription& method, const StylizeJob& job, Image content,
                             const std::string& content_name, const Destination& to, const GanStyles& painted,
                             const Callbacks& callbacks) {
  const bool steps = method.capabilities.iterative;
  const bool to_file = !to.path.empty();
  const std::string stem = to_file ? output_stem(to.path) : "";
  std::ofstream losses;
  if (steps && !to.losses.empty()) {
    losses.open(to.losses, std::ios::trunc);
    if (!losses) throw FileError(to.losses, "cannot open for writing");
  }

  StylizeHooks hooks;
  hooks.callbacks = callbacks;
  std::vector<StepRecord> records;
  hooks.on_step = [&](const StepRecord& r) {
    if (losses.is_open()) losses << to_json(r).dump() << '\n';
    records.push_back(r);
  };
  hooks.snapshot_every = to_file ? job.save_every : 0;
  const Json effective = session.options();
  const int levels = effective.contains("scales") ? effective["scales"].get<int>() : 1;
  hooks.on_snapshot = [&](const StepRecord& r, const at::Tensor& image) {
    std::ostringstream name;
    name << stem << '_';
    if (levels > 1) name << 'l' << r.scale + 1 << '_';
    name << std::setw(4) << std::setfill('0') << r.step << to.extension;
    write_image(name.str(), image);
  };

  StylizeResult result = session.stylize(content, hooks);
  if (losses.is_open()) losses.close();
  if (to_file) {
    write_image(to.path, result.image.rgb, result.image.alpha);
  } else {
    job.write_output(encode_image(result.image.rgb, to.extension, result.image.alpha));
  }
  const std::string curves_path = steps && to_file ? stem + ".losses.png" : "";
  if (!curves_path.empty()) write_image(curves_path, loss_curves(records));

  Json summary = result.summary;
  summary["content"] = content_name;
  summary["styles"] = job.styles;
  if (!painted.images.empty()) {
    // The painted styles beside the result, so the summary lists every style as a file (explain
    // --job reads them like any other) and the record says how to paint them again.
    for (size_t i = 0; i < painted.images.size(); ++i) {
      const std::string file = to_file ? stem + ".style-gan-" + std::to_string(i + 1) + ".png" : "GAN style " + std::to_string(i + 1);
      if (to_file) write_image(file, painted.images[i]);
      summary["styles"].push_back(file);
    }
    summary["style_gan"] = painted.record;
  }
  summary["style_blend_weights"] = job.style_blend_weights;
  summary["masks"] = job.masks;
  summary["init_image"] = job.init_image;
  summary["output"] = to_file ? to.path : "-";
  summary["losses"] = steps ? to.losses : "";
  summary["loss_curves"] = curves_path;
  if (to_file) write_text_file(stem + ".json", summary.dump(2) + "\n");
  StylizeJobResult out;
  out.summary = std::move(summary);
  out.width = result.image.width();
  out.height = result.image.height();
  out.seconds = result.seconds;
  out.stopped_early = result.stopped_early;
  out.steps = result.steps;
  out.detail = result.detail;
  out.losses = steps ? to.losses : "";
  return out;
}

}  // namespace

StylizeJobResult run_stylize_job(const StylizeJob& job, const Callbacks& callbacks) {
  // Validate everything cheap before the expensive parts.
  const Method& method = method_registry().get(job.method);
  method.check(job.options);
  if (job.content.empty() && job.content_bytes.empty()) throw OptionError("content", "no content image given");
  check_stylize_job(job, method.description());
  Destination to;
  if (job.write_output) {
    if (job.save_every > 0) throw OptionError("save_every", "snapshots need an output file, not a stream");
    to.extension = "." + lower(job.format.empty() ? "png" : job.format);
    to.losses = job.losses;
  } else {
    check_image_output_path(job.output);  // a bad output path fails now, not after the optimisation
    to.path = job.output;
    to.extension = job.output.substr(output_stem(job.output).size());  // ".png" etc.; checked above
    if (!job.format.empty() && lower(job.format) != lower(to.extension.substr(1)))
      throw OptionError("format", "the output file " + job.output + " takes its format from its extension; "
                                  "--format is for folders and streams (-o -)");
    to.losses = job.losses.empty() ? output_stem(job.output) + ".losses.jsonl" : job.losses;
  }

  ImageReadOptions read_options;
  read_options.max_pixels = job.max_pixels;
  const std::string content_name = job.content.empty() ? "stdin" : job.content;
  Image content = job.content_bytes.empty() ? read_image(job.content, read_options)
                                            : decode_image(job.content_bytes, content_name, read_options);
  GanStyles painted;
  auto session = method.open(job.options, read_style_set(job, read_options, &painted), job.cache);
  return stylize_one(*session, method.description(), job, std::move(content), content_name, to, painted, callbacks);
}

StylizeFolderResult run_stylize_folder(const StylizeJob& job, const Callbacks& callbacks) {
  namespace fs = std::filesystem;
  const auto start = std::chrono::steady_clock::now();
  const Method& method = method_registry().get(job.method);
  method.check(job.options);
  check_stylize_job(job, method.description());
  if (job.write_output) throw OptionError("output", "a folder of images goes into a folder, not a stream");
  if (!job.losses.empty()) throw OptionError("losses", "a folder run writes <name>.losses.jsonl beside each output");
  const std::vector<std::string> files = list_image_files(job.content, /*recursive=*/false, "content");
  std::error_code ec;
  if (job.output.empty()) throw OptionError("output", "give the output folder");
  if (fs::exists(job.output, ec) && !fs::is_directory(job.output, ec))
    throw OptionError("output", job.output + " is a file; a folder of images needs an output folder");
  if (fs::exists(job.output, ec) && fs::equivalent(job.output, job.content, ec))
    throw OptionError("output", job.output + " is the content folder: the results would replace the photos; choose another folder");
  // Output names: the input's, with the extension of `format` when given; two inputs on one output
  // (a.jpg and a.png with --format png) are refused before any work.
  std::vector<std::string> outputs;
  std::map<std::string, std::string> taken;
  for (const std::string& file : files) {
    const fs::path name = job.format.empty() ? fs::path(file) : fs::path(file).replace_extension("." + lower(job.format));
    const std::string out = (fs::path(job.output) / name).string();
    if (taken.count(out))
      throw OptionError("format", taken[out] + " and " + file + " would both be written to " + out);
    taken[out] = file;
    outputs.push_back(out);
  }
  fs::create_directories(job.output, ec);
  if (ec) throw FileError(job.output, "cannot create the output folder: " + ec.message());

  ImageReadOptions read_options;
  read_options.max_pixels = job.max_pixels;
  GanStyles painted;
  auto session = method.open(job.options, read_style_set(job, read_options, &painted), job.cache);
  Callbacks per_image = callbacks;
  per_image.progress = nullptr;  // one bar over the images
  std::vector<SkippedImage> skipped;
  std::vector<std::string> written;
  bool stopped = false, partial = false;  // stop requested; the last image stopped before its end
  const int64_t total = static_cast<int64_t>(files.size());
  int64_t done = 0;
  for (int64_t i = 0; i < total && !stopped; ++i) {
    const std::string input = (fs::path(job.content) / files[size_t(i)]).string();
    Image content;
    try {
      content = read_image(input, read_options);
    } catch (const Error& e) {  // FileError, FormatError, LimitError: this file, not the run
      const std::string what = e.what();
      callbacks.warn("skipping " + (what.rfind(input, 0) == 0 ? what : input + ": " + what));
      skipped.push_back(SkippedImage{input, what});
    }
    if (content.rgb.defined()) {
      Destination to;
      to.path = outputs[size_t(i)];
      to.extension = fs::path(to.path).extension().string();
      to.losses = output_stem(to.path) + ".losses.jsonl";
      const StylizeJobResult one = stylize_one(*session, method.description(), job, std::move(content), input, to, painted, per_image);
      written.push_back(to.path);
      partial = one.stopped_early;
    }
    done = i + 1;
    ProgressEvent e;
    e.stage = "stylize " + std::to_string(total) + " images";
    e.step = i + 1;
    e.total = total;
    e.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    callbacks.report(e);
    if (partial || callbacks.stop_requested()) stopped = true;
  }
  StylizeFolderResult result;
  result.images = total;
  result.outputs = std::move(written);
  result.skipped = std::move(skipped);
  result.stopped_early = partial || (stopped && done < total);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.options = session->options();
  return result;
}

}  // namespace impasto
