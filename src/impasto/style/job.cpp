#include "impasto/style/job.h"

#include <torch/torch.h>

#include <cstdio>
#include <fstream>
#include <iomanip>
#include <sstream>

#include "impasto/io/chart.h"
#include "impasto/io/grid.h"
#include "impasto/io/image_ops.h"

namespace impasto {

std::string output_stem(const std::string& output) {
  const auto slash = output.find_last_of('/');
  const auto dot = output.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return output;
  return output.substr(0, dot);
}

namespace {

void write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) throw FileError(path, "cannot open for writing");
  f << text;
  if (!f) throw FileError(path, "write failed");
}

}  // namespace

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

Json run_stylize_job(const StylizeJob& job, const Callbacks& callbacks) {
  // Validate everything cheap before the expensive parts.
  auto stylizer = make_stylizer(job.method, job.options);
  if (job.content.empty()) throw OptionError("content", "no content image given");
  if (stylizer->uses_style_images() && job.styles.empty())
    throw OptionError("style", "no style image given; method " + job.method + " needs at least one");
  if (!stylizer->uses_style_images() && (!job.styles.empty() || !job.masks.empty() || !job.init_image.empty()))
    throw OptionError("style", "method " + job.method + " takes no style, mask or init image (its style is in the network)");
  if (!job.style_blend_weights.empty() && job.style_blend_weights.size() != job.styles.size())
    throw OptionError("style_blend_weights", "got " + std::to_string(job.style_blend_weights.size()) +
                                                 " weights for " + std::to_string(job.styles.size()) + " style images");
  if (!job.masks.empty() && job.masks.size() != job.styles.size())
    throw OptionError("masks", "got " + std::to_string(job.masks.size()) + " masks for " +
                                   std::to_string(job.styles.size()) + " style images (use '' for a style without a mask)");
  if (job.save_every < 0) throw OptionError("save_every", "must be >= 0");
  check_image_output_path(job.output);  // a bad output path fails now, not after the optimisation
  const std::string stem = output_stem(job.output);
  const std::string ext = job.output.substr(stem.size());  // ".png" etc.; checked above

  ImageReadOptions read_options;
  read_options.max_pixels = job.max_pixels;
  StylizeInputs inputs;
  inputs.content = read_image(job.content, read_options);
  for (size_t i = 0; i < job.styles.size(); ++i) {
    StyleInput s;
    s.name = job.styles[i];
    s.image = read_image(job.styles[i], read_options).rgb;
    s.weight = job.style_blend_weights.empty() ? 1.0 : job.style_blend_weights[i];
    if (!job.masks.empty() && !job.masks[i].empty()) s.mask = to_single_channel(read_image(job.masks[i], read_options).rgb);
    inputs.styles.push_back(std::move(s));
  }
  if (!job.init_image.empty()) inputs.init = read_image(job.init_image, read_options).rgb;

  const bool steps = stylizer->reports_steps();
  const std::string losses_path = steps ? (job.losses.empty() ? stem + ".losses.jsonl" : job.losses) : "";
  std::ofstream losses;
  if (steps) {
    losses.open(losses_path, std::ios::trunc);
    if (!losses) throw FileError(losses_path, "cannot open for writing");
  }

  StylizeHooks hooks;
  hooks.callbacks = callbacks;
  std::vector<StepRecord> records;
  hooks.on_step = [&](const StepRecord& r) {
    losses << to_json(r).dump() << '\n';
    records.push_back(r);
  };
  hooks.snapshot_every = job.save_every;
  const int levels = stylizer->options().value("scales", 1);  // effective options: defaults filled
  hooks.on_snapshot = [&](const StepRecord& r, const at::Tensor& image) {
    std::ostringstream name;
    name << stem << '_';
    if (levels > 1) name << 'l' << r.scale + 1 << '_';
    name << std::setw(4) << std::setfill('0') << r.step << ext;
    write_image(name.str(), image);
  };

  StylizeResult result = stylizer->stylize(inputs, hooks);
  if (steps) losses.close();
  write_image(job.output, result.image.rgb, result.image.alpha);
  const std::string curves_path = steps ? stem + ".losses.png" : "";
  if (steps) write_image(curves_path, loss_curves(records));

  Json summary = result.summary;
  summary["content"] = job.content;
  summary["styles"] = job.styles;
  summary["style_blend_weights"] = job.style_blend_weights;
  summary["masks"] = job.masks;
  summary["init_image"] = job.init_image;
  summary["output"] = job.output;
  summary["losses"] = losses_path;
  summary["loss_curves"] = curves_path;
  write_text(stem + ".json", summary.dump(2) + "\n");
  return summary;
}

}  // namespace impasto
