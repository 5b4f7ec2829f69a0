// explain_stylization: the report on a gatys or network stylization (see explain.h).
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <tuple>

#include "impasto/core/error.h"
#include "impasto/core/runtime.h"
#include "impasto/explain/attribution.h"
#include "impasto/explain/detail.h"
#include "impasto/explain/figures.h"
#include "impasto/io/image.h"
#include "impasto/io/text_file.h"
#include "impasto/core/resource_cache.h"
#include "impasto/io/chart.h"
#include "impasto/io/image_ops.h"
#include "impasto/nn/adain.h"
#include "impasto/nn/cyclegan_nets.h"
#include "impasto/nn/precision.h"
#include "impasto/style/adain.h"
#include "impasto/style/network.h"

namespace impasto::explain {
using namespace detail;

namespace {

std::string base_name(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string size_text(const at::Tensor& image) {
  return std::to_string(image.size(3)) + "x" + std::to_string(image.size(2));
}

// Opens a section; when a stop was requested it is marked as skipped and false is returned.
bool begin(ReportWriter& report, Progress& progress, const std::string& id, const std::string& title,
           const std::string& intro = "") {
  report.section(id, title, intro);
  if (progress.stopped()) {
    report.skip("interrupted");
    return false;
  }
  progress.stage(title);
  return true;
}

// ---- gatys: re-optimisations ------------------------------------------------------------------

struct GalleryRun {
  std::string name;
  std::string caption;
  Json options;
  at::Tensor image;
  StepRecord measured;
};

// Re-optimisations already made, by their options (the all-layers run is also the x1 entry of both
// sweeps).
using GalleryCache = std::map<std::string, at::Tensor>;

// Runs gatys with `options` (the run's effective options with changes).
at::Tensor reoptimise(const Json& options, const StylizeInputs& inputs, const Callbacks& callbacks, GalleryCache& cache) {
  const std::string key = options.dump();
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  StylizeHooks hooks;
  hooks.callbacks = callbacks;
  StylizeResult r = stylize_once("gatys", options, inputs, hooks);
  if (!r.stopped_early) cache[key] = r.image.rgb;
  return r.image.rgb;
}

Json gallery_base(const GatysOptions& resolved, const ExplainOptions& options, int64_t result_h, int64_t result_w) {
  Json j;
  to_json(j, resolved);
  const int64_t longest = std::max(result_h, result_w);
  j["image_size"] = options.gallery_size > 0 ? std::min(options.gallery_size, longest) : longest;
  j["iterations"] = options.gallery_iterations;
  j["scales"] = 1;
  return j;
}

void section_ablation(ReportWriter& report, Progress& progress, const GatysSession& base, const StylizeInputs& inputs,
                      const at::Tensor& result, const ExplainOptions& options, c10::Device device, GalleryCache& cache) {
  const GatysOptions& o = base.resolved_options();
  const Json base_options = gallery_base(o, options, result.size(2), result.size(3));
  double weight_sum = 0;
  for (const auto& [n, w] : o.style_layers) weight_sum += w;
  std::vector<GalleryRun> runs;
  runs.push_back({"all", "all layers", base_options, {}, {}});
  for (const auto& [n, w] : o.style_layers) {
    Json j = base_options;
    j["style_layers"] = Json{{n, weight_sum}};
    runs.push_back({n, n + " alone", j, {}, {}});
  }
  at::Tensor first;
  for (size_t i = 0; i < runs.size(); ++i) {
    if (progress.stopped()) break;
    runs[i].image = reoptimise(runs[i].options, inputs,
                               progress.nested("ablation " + std::to_string(i + 1) + "/" + std::to_string(runs.size()) + " (" +
                                               runs[i].caption + ")"),
                               cache);
  }
  if (!runs.back().image.defined()) {
    report.skip("interrupted");
    return;
  }
  const int64_t h = runs[0].image.size(2), w = runs[0].image.size(3);
  // Measured with the full objective at the gallery size: which statistics each layer alone matches.
  auto measure_session = GatysSession(gatys_options_from_json(base_options));
  const Objective obj = make_objective(measure_session, inputs, h, w, device);
  std::vector<at::Tensor> images = {resize_image(result.cpu(), h, w)};
  std::vector<std::string> captions = {"the result (full run)"};
  Json numbers = Json{{"iterations", options.gallery_iterations}, {"size", {w, h}}, {"layer_weight", weight_sum},
                      {"runs", Json::array()}};
  std::vector<std::string> header = {"run", "content"};
  for (const auto& [n, wt] : o.style_layers) header.push_back("style " + n);
  std::vector<std::vector<std::string>> rows;
  for (auto& run : runs) {
    run.measured = obj.measure(run.image);
    images.push_back(run.image);
    captions.push_back(run.caption);
    numbers["runs"].push_back(Json{{"name", run.name}, {"caption", run.caption}, {"style_layers", run.options["style_layers"]},
                                   {"measured", measured_json(run.measured)}});
    std::vector<std::string> row = {run.caption, format_number(run.measured.content)};
    for (const auto& [n, v] : run.measured.style_layers) row.push_back(format_number(v));
    rows.push_back(row);
  }
  report.figure("ablation", captioned_grid(images, captions, 5, std::clamp<int64_t>(h, 128, 200)), numbers,
                "The picture re-optimised with each style layer alone (weight " + format_number(weight_sum) +
                    ", the sum of all style layer weights, so the style/content balance stays the same), " +
                    std::to_string(options.gallery_iterations) + " iterations at " + std::to_string(w) + "x" +
                    std::to_string(h) + " each, next to the same short run with all layers. Shallow, full-resolution "
                    "layers carry colour and fine texture; deeper and coarser ones larger strokes and structure.");
  report.paragraph("Each run measured with the full objective (weighted terms): a run's own layer is low, the others show "
                   "which statistics come along for free.");
  report.table(header, rows);
}

void section_gatys_sweeps(ReportWriter& report, Progress& progress, const GatysSession& base, const StylizeInputs& inputs,
                          const at::Tensor& result, const ExplainOptions& options, c10::Device device, GalleryCache& cache) {
  const GatysOptions& o = base.resolved_options();
  const Json base_options = gallery_base(o, options, result.size(2), result.size(3));
  struct Sweep {
    std::string name, key, symbol;
    std::vector<double> factors;
    double base;
  };
  const std::vector<Sweep> sweeps = {{"style-weight", "style_weight", "style weight", options.style_weight_factors, *o.style_weight},
                                     {"style-scale", "style_scale", "style scale", options.style_scale_factors, o.style_scale}};
  std::unique_ptr<Objective> obj;
  for (const Sweep& sweep : sweeps) {
    std::vector<at::Tensor> images;
    std::vector<std::string> captions;
    Json entries = Json::array();
    std::vector<std::vector<std::string>> rows;
    for (size_t i = 0; i < sweep.factors.size(); ++i) {
      if (progress.stopped()) break;
      const double factor = sweep.factors[i];
      const double value = sweep.base * factor;
      if (sweep.key == "style_scale" && !(value > 0 && value <= 16)) continue;  // outside what gatys accepts
      Json j = base_options;
      j[sweep.key] = value;
      const at::Tensor image = reoptimise(j, inputs, progress.nested(sweep.symbol + " x" + format_number(factor)), cache);
      if (!obj) {
        auto measure_session = GatysSession(gatys_options_from_json(base_options));
        obj = std::make_unique<Objective>(make_objective(measure_session, inputs, image.size(2), image.size(3), device));
      }
      const StepRecord m = obj->measure(image);
      images.push_back(image);
      captions.push_back("x" + format_number(factor) + " (" + format_number(value) + ")");
      entries.push_back(Json{{"factor", factor}, {sweep.key, value}, {"measured", measured_json(m)}});
      rows.push_back({"x" + format_number(factor), format_number(value), format_number(m.content), format_number(m.style)});
    }
    if (images.empty()) continue;
    const int64_t h = images[0].size(2), w = images[0].size(3);
    report.figure("sweep-" + sweep.name, captioned_grid(images, captions, 0, std::clamp<int64_t>(h, 128, 200)),
                  Json{{"parameter", sweep.key}, {"base", sweep.base}, {"iterations", options.gallery_iterations},
                       {"size", {w, h}}, {"entries", entries}},
                  sweep.symbol + " multiplied by each factor (value in brackets), " + std::to_string(options.gallery_iterations) +
                      " iterations at " + std::to_string(w) + "x" + std::to_string(h) + " each." +
                      (sweep.key == "style_scale" ? " Larger scales show the style image bigger: larger strokes." : ""));
    report.table({"factor", sweep.symbol, "content (run's objective)", "style (run's objective)"}, rows);
  }
  if (progress.stopped()) report.paragraph("Interrupted: the sweeps are incomplete.");
}

// ---- network sections -------------------------------------------------------------------------

// Per-location energy of an activation [1,C,h,w]: sqrt(mean over channels of a^2) -> [h,w].
at::Tensor energy(const at::Tensor& a) { return a[0].pow(2).mean(0).sqrt(); }

// Switches a residual block off for a scope.
struct BlockOff {
  const StyleNetwork& net;
  int64_t block;
  BlockOff(const StyleNetwork& n, int64_t b) : net(n), block(b) { net.set_block_enabled(block, false); }
  ~BlockOff() { net.set_block_enabled(block, true); }
};

void section_activations(ReportWriter& report, const StyleNetwork& net, const at::Tensor& photo, const ExplainOptions& options) {
  torch::NoGradGuard no_grad;
  Activations acts;
  net(photo, &acts);
  if (acts.empty()) {
    report.skip("this generator (a U-Net) has no residual blocks to show");
    return;
  }
  std::vector<at::Tensor> energies, updates;
  std::vector<std::string> names;
  for (size_t k = 0; k < acts.size(); ++k) {
    energies.push_back(energy(acts[k].second));
    names.push_back(acts[k].first);
    if (k > 0) updates.push_back(energy(acts[k].second - acts[k - 1].second));
  }
  double emax = 0, umax = 0;
  for (const auto& e : energies) emax = std::max(emax, e.max().item<double>());
  for (const auto& u : updates) umax = std::max(umax, u.max().item<double>());
  const int64_t ph = photo.size(2), pw = photo.size(3);
  const int64_t cell = std::clamp<int64_t>(ph, 96, 160);
  std::vector<at::Tensor> cells;
  std::vector<std::string> captions;
  Json blocks = Json::array();
  for (size_t k = 0; k < energies.size(); ++k) {
    // The activations are of the padded photo at a quarter of its size: crop to the photo's quarter.
    const int64_t eh = std::min<int64_t>(energies[k].size(0), (ph + 3) / 4), ew = std::min<int64_t>(energies[k].size(1), (pw + 3) / 4);
    const at::Tensor e = energies[k].narrow(0, 0, eh).narrow(1, 0, ew);
    cells.push_back(colorize(resize_nearest(e, cell, std::max<int64_t>(1, cell * ew / eh)), 0, emax, Colormap::heat));
    captions.push_back(names[k] + " energy");
    Json b = Json{{"name", names[k]}, {"channels", acts[k].second.size(1)}, {"mean_energy", e.mean().item<double>()},
                  {"energy_pooled", tensor_json(pooled_map(e, options.map_cells))}};
    if (k > 0) {
      const at::Tensor u = updates[k - 1].narrow(0, 0, eh).narrow(1, 0, ew);
      b["mean_update"] = u.mean().item<double>();
      b["relative_update"] = u.pow(2).mean().sqrt().item<double>() / std::max(1e-12, energies[k - 1].pow(2).mean().sqrt().item<double>());
      b["update_pooled"] = tensor_json(pooled_map(u, options.map_cells));
    }
    blocks.push_back(b);
  }
  for (size_t k = 0; k < updates.size(); ++k) {
    const int64_t eh = std::min<int64_t>(updates[k].size(0), (ph + 3) / 4), ew = std::min<int64_t>(updates[k].size(1), (pw + 3) / 4);
    cells.push_back(colorize(resize_nearest(updates[k].narrow(0, 0, eh).narrow(1, 0, ew), cell, std::max<int64_t>(1, cell * ew / eh)),
                             0, umax, Colormap::heat));
    captions.push_back(names[k + 1] + " update");
  }
  const int64_t columns = static_cast<int64_t>(energies.size());
  at::Tensor grid = captioned_grid(cells, captions, columns, cell);
  grid = hstack({grid, vstack({colour_bar(cell + 20, 0, emax, Colormap::heat, "energy"),
                               colour_bar(cell + 20, 0, umax, Colormap::heat, "update")})});
  report.figure("activations", grid, Json{{"blocks", blocks}, {"size", {pw, ph}}},
                "Top row: the activation energy sqrt(mean_c a^2) entering the residual blocks and after each block, at a quarter "
                "of the photo's resolution (one colour scale for the row). Bottom row: what each block adds, the energy of its "
                "residual (output - input). Bright = strong response.");

  // The strongest channels of the last block.
  const at::Tensor last = acts.back().second[0];
  const at::Tensor strength = last.abs().mean({1, 2});
  const int64_t k = std::min<int64_t>(12, last.size(0));
  const at::Tensor top = std::get<1>(strength.topk(k));
  std::vector<at::Tensor> chans;
  std::vector<std::string> chan_captions;
  Json chan_numbers = Json::array();
  for (int64_t i = 0; i < k; ++i) {
    const int64_t c = top[i].item<int64_t>();
    const at::Tensor a = last[c];
    const double lo = a.min().item<double>(), hi = a.max().item<double>();
    chans.push_back(colorize(a, lo, hi, Colormap::sequential));
    chan_captions.push_back("ch " + std::to_string(c) + " (" + format_number(strength[c].item<double>()) + ")");
    chan_numbers.push_back(Json{{"channel", c}, {"mean_abs", strength[c].item<double>()}, {"min", lo}, {"max", hi}});
  }
  report.figure("activations-channels", captioned_grid(chans, chan_captions, 6, 96),
                Json{{"layer", acts.back().first}, {"channels", chan_numbers}},
                "The " + std::to_string(k) + " channels of " + acts.back().first +
                    " with the largest mean |activation| (each scaled to its own range, viridis).");
}

void section_blocks(ReportWriter& report, const StyleNetwork& net, const at::Tensor& photo) {
  const int64_t n = net.num_blocks();
  if (n == 0) {
    report.skip("this generator (a U-Net) has no residual blocks to switch off");
    return;
  }
  torch::NoGradGuard no_grad;
  const at::Tensor full = net(photo).clamp(0, 1);
  std::vector<at::Tensor> images = {full}, diffs;
  std::vector<std::string> captions = {"all blocks on"}, diff_captions;
  Json entries = Json::array();
  std::vector<std::vector<std::string>> rows;
  std::vector<at::Tensor> diff_maps;
  auto record = [&](const std::string& label, const at::Tensor& out) {
    const at::Tensor d = (out - full).abs().mean(1)[0];
    const double mean = d.mean().item<double>();
    images.push_back(out);
    captions.push_back(label + " (" + format_number(mean) + ")");
    diff_maps.push_back(d);
    diff_captions.push_back(label);
    entries.push_back(Json{{"off", label}, {"mean_abs_change", mean}, {"max_abs_change", d.max().item<double>()}});
    rows.push_back({label, format_number(mean), format_number(d.max().item<double>())});
  };
  for (int64_t b = 1; b <= n; ++b) {
    BlockOff off(net, b);
    record("block " + std::to_string(b) + " off", net(photo).clamp(0, 1));
  }
  {
    std::vector<std::unique_ptr<BlockOff>> all;
    for (int64_t b = 1; b <= n; ++b) all.push_back(std::make_unique<BlockOff>(net, b));
    record("all blocks off", net(photo).clamp(0, 1));
  }
  double dmax = 0;
  for (const auto& d : diff_maps) dmax = std::max(dmax, d.max().item<double>());
  const int64_t cell = std::clamp<int64_t>(photo.size(2), 96, 180);
  report.figure("blocks", captioned_grid(images, captions, std::min<int64_t>(n + 2, 8), cell), Json{{"blocks", entries}},
                "The network's output (strength 1, no colour preservation) with one residual block switched off at a time "
                "(the block passes its input through), and with all of them off. In brackets: the mean absolute change "
                "of the pixels (0..1).");
  for (auto& d : diff_maps) d = colorize(d, 0, dmax, Colormap::heat);
  at::Tensor grid = captioned_grid(diff_maps, diff_captions, std::min<int64_t>(n + 1, 8), cell);
  grid = hstack({grid, colour_bar(cell + 20, 0, dmax, Colormap::heat, "|change|")});
  report.figure("blocks-change", grid, Json{{"blocks", entries}, {"max", dmax}},
                "Where switching each block off changes the picture: |output - output with the block off|, mean over RGB, "
                "one colour scale.");
  report.table({"switched off", "mean |change|", "max |change|"}, rows);
}

void section_discriminator(ReportWriter& report, const ExplainOptions& options, const at::Tensor& photo,
                           const at::Tensor& result, c10::Device device) {
  if (options.discriminator.empty()) {
    report.skip("no discriminator given (--discriminator D.pth: a PatchGAN of CycleGAN/pix2pix or the feed-forward trainer)");
    return;
  }
  torch::NoGradGuard no_grad;
  CycleGanDiscriminator d = load_cyclegan_discriminator(options.discriminator, device);
  if (d->options().input_nc != 3)
    throw FormatError(options.discriminator, "the discriminator takes " + std::to_string(d->options().input_nc) +
                                                 " channels; explain needs one for RGB images");
  const at::Tensor lp = patch_logits(*d, photo.to(device)).cpu()[0][0];
  const at::Tensor lr = patch_logits(*d, result.to(device)).cpu()[0][0];
  const double lo = std::min(lp.min().item<double>(), lr.min().item<double>());
  const double hi = std::max(lp.max().item<double>(), lr.max().item<double>());
  const double span = hi > lo ? hi - lo : 1.0;
  const int64_t h = photo.size(2), w = photo.size(3);
  auto overlay = [&](const at::Tensor& image, const at::Tensor& logits) {
    return overlay_heatmap(image.cpu(), resize_nearest((logits - lo) / span, h, w), Colormap::heat, 0.7);
  };
  auto raw = [&](const at::Tensor& logits) { return colorize(resize_nearest(logits, h, w), lo, hi, Colormap::heat); };
  const int64_t cell = std::clamp<int64_t>(h, 128, 256);
  at::Tensor grid = captioned_grid({raw(lp), overlay(photo, lp), raw(lr), overlay(result, lr)},
                                   {"photo: D per patch (mean " + format_number(lp.mean().item<double>()) + ")", "over the photo",
                                    "result: D per patch (mean " + format_number(lr.mean().item<double>()) + ")", "over the result"},
                                   4, cell);
  grid = hstack({grid, colour_bar(cell + 20, lo, hi, Colormap::heat, "D output")});
  report.figure("discriminator", grid,
                Json{{"discriminator", options.discriminator}, {"arch", d->options().arch},
                     {"receptive_field", d->receptive_field()}, {"photo", tensor_json(lp)}, {"result", tensor_json(lr)},
                     {"photo_mean", lp.mean().item<double>()}, {"result_mean", lr.mean().item<double>()}},
                "The discriminator's raw output for each patch (" + std::to_string(d->receptive_field()) + "x" +
                    std::to_string(d->receptive_field()) + " px receptive field) of the photo and of the result, one colour "
                    "scale: higher = judged more like its real training images (least-squares D: 1 real, 0 fake; logistic D: a logit).");
}

void section_network_sweeps(ReportWriter& report, const StyleNetwork& net, const NetworkStylizerOptions& no,
                            const at::Tensor& photo, const Objective& obj, const ExplainOptions& options) {
  torch::NoGradGuard no_grad;
  const int64_t h = photo.size(2), w = photo.size(3);
  const at::Tensor raw = net(photo);
  const int64_t cell = std::clamp<int64_t>(h, 96, 200);
  auto measure_row = [&](const at::Tensor& image, Json& entry, std::vector<std::string>& row) {
    const StepRecord m = obj.measure(image);
    entry["measured"] = measured_json(m);
    row.push_back(format_number(m.content));
    row.push_back(obj.has_style() ? format_number(m.style) : "-");
  };
  {
    std::vector<at::Tensor> images;
    std::vector<std::string> captions;
    Json entries = Json::array();
    std::vector<std::vector<std::string>> rows;
    for (double s : options.strengths) {
      const at::Tensor out = finish_network_output(raw, photo, s, no.preserve_colors);
      images.push_back(out);
      captions.push_back("strength " + format_number(s));
      Json e = Json{{"strength", s}};
      std::vector<std::string> row = {format_number(s)};
      measure_row(out, e, row);
      entries.push_back(e);
      rows.push_back(row);
    }
    report.figure("sweep-strength", captioned_grid(images, captions, 0, cell), Json{{"entries", entries}},
                  "Strength from the photo (0) to the network's full output (1): content + s * (output - content).");
    report.table({"strength", "content loss", "style loss"}, rows);
  }
  {
    std::vector<at::Tensor> images;
    std::vector<std::string> captions;
    Json entries = Json::array();
    std::vector<std::vector<std::string>> rows;
    for (double f : options.input_scales) {
      const int64_t sh = std::max<int64_t>(8, std::llround(h * f)), sw = std::max<int64_t>(8, std::llround(w * f));
      const at::Tensor y = resize_image(net(resize_image(photo, sh, sw)).clamp(0, 1), h, w);
      const at::Tensor out = finish_network_output(y, photo, no.strength, no.preserve_colors);
      images.push_back(out);
      captions.push_back("photo x" + format_number(f) + " (" + std::to_string(sw) + "x" + std::to_string(sh) + ")");
      Json e = Json{{"scale", f}, {"input_size", {sw, sh}}};
      std::vector<std::string> row = {format_number(f)};
      measure_row(out, e, row);
      entries.push_back(e);
      rows.push_back(row);
    }
    report.figure("sweep-input-scale", captioned_grid(images, captions, 0, cell), Json{{"entries", entries}},
                  "The style scale of a network: the photo is given to it at each size and the output resized back to " +
                      std::to_string(w) + "x" + std::to_string(h) + ". The network's strokes have a fixed size in pixels, so a "
                      "smaller input gives relatively larger strokes.");
    report.table({"photo scale", "content loss", "style loss"}, rows);
  }
}

// ---- adain: statistics and the alpha sweep ------------------------------------------------------

// Per channel, sorted by the target's value: the target (painting), the result and the photo.
at::Tensor statistic_chart(const std::string& title, const at::Tensor& target, const at::Tensor& result, const at::Tensor& photo) {
  const at::Tensor order = std::get<1>(target.sort());
  auto series = [&](const std::string& name, const at::Tensor& v) {
    ChartSeries c;
    c.name = name;
    const at::Tensor sorted = v.index_select(0, order).to(torch::kFloat64).contiguous();
    c.y.assign(sorted.data_ptr<double>(), sorted.data_ptr<double>() + sorted.numel());
    for (size_t i = 0; i < c.y.size(); ++i) c.x.push_back(static_cast<double>(i));
    return c;
  };
  ChartOptions o;
  o.title = title;
  o.x_label = "channel (by target)";
  o.log_y = false;
  o.width = 420;
  o.height = 260;
  return line_chart({series("painting (target)", target), series("result (achieved)", result), series("photo", photo)}, o);
}

// The encoder's channel statistics at relu1_1..relu4_1 of the painting(s) (the target: AdaIN sets
// relu4_1's to them, and the decoder was trained to carry them to the shallower layers), the result
// and the photo; how much of the photo's distance to the painting the result closed, per layer.
void section_adain_statistics(ReportWriter& report, const AdainModel& model, const AdainOptions& ao, const at::Tensor& photo,
                              const std::vector<StyleInput>& styles, const at::Tensor& result) {
  torch::NoGradGuard no_grad;
  const std::vector<std::string> layers = {"relu1_1", "relu2_1", "relu3_1", "relu4_1"};
  const std::set<std::string> taps(layers.begin(), layers.end());
  auto features = [&](const at::Tensor& image) {
    // At least 16 px per side and a multiple of 8, as the method encodes.
    const int64_t h = std::max<int64_t>(16, image.size(2) / 8 * 8), w = std::max<int64_t>(16, image.size(3) / 8 * 8);
    FeatureMaps maps = model.encoder->extract(resize_image(image, h, w).to(model.device), taps);
    for (auto& [name, map] : maps) map = to_float32(map);  // the encoder may run in bf16 (nn/precision.h)
    return maps;
  };
  const auto fp = features(photo), fr = features(result);
  std::vector<FeatureMaps> fs;
  double total_weight = 0;
  for (const auto& st : styles) {
    at::Tensor img = st.image.to(torch::kFloat32);
    if (ao.style_size > 0) {
      const auto [h, w] = fit_longest_side(img.size(2), img.size(3), ao.style_size);
      img = resize_image(img, h, w);
    }
    fs.push_back(features(img));
    total_weight += st.weight;
  }
  std::vector<at::Tensor> rows;
  std::vector<std::vector<std::string>> table;
  Json numbers = Json::object();
  for (const auto& layer : layers) {
    const ChannelStatistics p = channel_statistics(fp.at(layer)), r = channel_statistics(fr.at(layer));
    // The blend's target: the weighted mean of the styles' statistics.
    at::Tensor tm, ts;
    for (size_t i = 0; i < styles.size(); ++i) {
      const ChannelStatistics si = channel_statistics(fs[i].at(layer));
      const double w = styles[i].weight / total_weight;
      tm = tm.defined() ? tm + w * si.mean : w * si.mean;
      ts = ts.defined() ? ts + w * si.std : w * si.std;
    }
    auto flat = [](const at::Tensor& t) { return t.reshape({-1}).cpu(); };
    const at::Tensor target_mean = flat(tm), target_std = flat(ts);
    // Distance of a set of statistics to the target, in units of the target's mean std.
    const double scale = target_std.mean().item<double>();
    auto gap = [&](const ChannelStatistics& x) {
      return ((flat(x.mean) - target_mean).abs().mean() + (flat(x.std) - target_std).abs().mean()).item<double>() / scale;
    };
    const double photo_gap = gap(p), result_gap = gap(r);
    const double closed = photo_gap > 0 ? 1 - result_gap / photo_gap : 0;
    table.push_back({layer, format_number(photo_gap), format_number(result_gap), format_number(100 * closed) + "%"});
    auto values = [](const at::Tensor& t) {
      const at::Tensor d = t.to(torch::kFloat64).contiguous();
      return std::vector<double>(d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
    };
    numbers[layer] = Json{{"photo_gap", photo_gap}, {"result_gap", result_gap}, {"closed", closed},
                          {"target_mean", values(target_mean)}, {"target_std", values(target_std)},
                          {"result_mean", values(flat(r.mean))}, {"result_std", values(flat(r.std))},
                          {"photo_mean", values(flat(p.mean))}, {"photo_std", values(flat(p.std))}};
    rows.push_back(hstack({statistic_chart(layer + ": channel means", target_mean, flat(r.mean), flat(p.mean)),
                           statistic_chart(layer + ": channel standard deviations", target_std, flat(r.std), flat(p.std))}));
  }
  report.figure("adain-statistics", vstack(rows), numbers,
                "What AdaIN transfers: each channel's mean and standard deviation at the encoder's layers, for the painting "
                "(the target; with several paintings their blend by weight), the result and the photo. relu4_1's are set "
                "directly (at alpha " + format_number(ao.alpha) + "); the shallower layers follow only as far as the decoder "
                "carries them.");
  report.table({"layer", "photo's distance to the painting", "result's distance", "closed"}, table);
}

// The method again at each alpha (one pass each) at the analysed size, measured with the report's
// objective.
void section_adain_sweep(ReportWriter& report, const Method& method, const Json& session_options, const StyleSet& styles,
                         const Image& content, int64_t longest, const Objective& obj, const ExplainOptions& options) {
  ResourceCache cache;  // the networks loaded once for every alpha
  std::vector<at::Tensor> images;
  std::vector<std::string> captions;
  std::vector<std::vector<std::string>> rows;
  Json entries = Json::array();
  int64_t h = 0, w = 0;
  for (double alpha : options.strengths) {
    Json o = session_options;
    o["alpha"] = alpha;
    o["image_size"] = longest;
    at::Tensor out = method.open(o, styles, &cache)->stylize(content, StylizeHooks{}).image.rgb;
    if (h == 0) {
      h = out.size(2);
      w = out.size(3);
    }
    out = resize_image(out, h, w);
    const StepRecord m = obj.measure(resize_image(out, obj.h, obj.w));
    images.push_back(out);
    captions.push_back("alpha " + format_number(alpha));
    entries.push_back(Json{{"alpha", alpha}, {"measured", measured_json(m)}});
    rows.push_back({format_number(alpha), format_number(m.content), obj.has_style() ? format_number(m.style) : "-"});
  }
  report.figure("sweep-alpha", captioned_grid(images, captions, 0, std::clamp<int64_t>(h, 96, 200)), Json{{"entries", entries}},
                "The content-style trade-off at run time: the decoder's input is alpha * AdaIN(photo, painting) + (1 - alpha) * "
                "the photo's features (alpha 0 is the decoder's reconstruction of the photo).");
  report.table({"alpha", "content loss", "style loss"}, rows);
}

// ---- inputs ------------------------------------------------------------------------------------

// An input as shown in the report: at most 1024 px on its longer side, RGB.
at::Tensor preview(const at::Tensor& image) {
  at::Tensor t = image.to(torch::kCPU, torch::kFloat32);
  if (t.size(1) == 1) t = t.expand({-1, 3, -1, -1});
  const auto [h, w] = bounded_size(t.size(2), t.size(3), 1024);
  return resize_image(t, h, w);
}

void section_inputs(ReportWriter& report, const Stylization& s, const at::Tensor& result, const std::vector<StyleInput>& styles) {
  const int64_t width = 320;
  report.image(report.input_image("content.png", preview(s.inputs.content.rgb)), "content (" + size_text(s.inputs.content.rgb) + ")", width);
  for (size_t i = 0; i < styles.size(); ++i) {
    const std::string file = "style-" + std::to_string(i + 1) + ".png";
    std::string caption = "style " + std::to_string(i + 1) + ": " + base_name(styles[i].name) + " (" + size_text(styles[i].image) + ")";
    if (styles.size() > 1) caption += ", blend weight " + format_number(styles[i].weight);
    report.image(report.input_image(file, preview(styles[i].image)), caption, width);
    if (styles[i].mask.defined())
      report.image(report.input_image("mask-" + std::to_string(i + 1) + ".png", preview(styles[i].mask)),
                   "mask of style " + std::to_string(i + 1), width);
  }
  report.image(report.input_image("result.png", result), "result (" + size_text(result) + ")", width);
}

std::vector<StyleInput> read_styles(const std::vector<std::string>& paths) {
  std::vector<StyleInput> styles;
  for (const auto& p : paths) {
    StyleInput s;
    s.name = p;
    s.image = read_image(p).rgb;
    styles.push_back(std::move(s));
  }
  return styles;
}

}  // namespace

std::string explain_stylization(const Stylization& s, const ExplainOptions& options, const std::string& out_dir,
                                const Callbacks& callbacks) {
  check_explain_options(options);
  const auto start = std::chrono::steady_clock::now();
  if (!s.inputs.content.rgb.defined()) throw OptionError("content", "no content image given");
  const Method& method = method_registry().get(s.method);
  const MethodCapabilities& can = method.description().capabilities;
  const c10::Device device = resolve_device(options.device);
  // Sections by what the method says of itself: its own Gatys objective (losses measured with the
  // run's options, re-optimised ablation and sweeps), or a style network (blocks, realism, sweeps).
  const bool objective_method = can.explains("objective");
  const bool network_method = can.explains("network");
  const bool adain_method = can.explains("adain");

  // Check and open the method first: bad options fail before any work. What the loss sections
  // measure with: the run's own objective (a method with one reads gatys options, so its session is
  // a GatysSession on them), or the measurement options with their own style images.
  const Json method_options = method.check(s.options);
  check_style_count(method.description(), s.inputs.styles.size());
  const StyleSet style_set{s.inputs.styles, s.inputs.init};
  std::unique_ptr<Session> session;
  std::unique_ptr<GatysSession> measure_only;
  const GatysSession* objective_session = nullptr;
  StylizeInputs measure_inputs = s.inputs;
  if (objective_method) {
    auto own = std::make_unique<GatysSession>(gatys_options_from_json(method_options), style_set);
    objective_session = own.get();
    session = std::move(own);
  } else {
    session = method.open(s.options, style_set, nullptr);
    if (!options.style_images.empty()) measure_inputs.styles = read_styles(options.style_images);
    Json loss = options.loss;
    loss["device"] = options.device;
    measure_only = std::make_unique<GatysSession>(gatys_options_from_json(loss));
    objective_session = measure_only.get();
  }
  const StyleNetwork* network = network_method ? session->network() : nullptr;
  if (network_method && !network) throw Error("method " + s.method + " says it runs a style network but its session has none");
  if (!options.discriminator.empty() && !network_method)
    throw OptionError("discriminator", "a discriminator map is made for network stylizations (--model), not for " + s.method);
  if (!options.discriminator.empty() && !std::filesystem::exists(options.discriminator))
    throw FileError(options.discriminator, "no such discriminator file");

  const int64_t stages = 5 + (objective_method ? 2 : 0) + (network_method ? 4 : 0) + (adain_method ? 2 : 0) + (s.result.defined() ? 0 : 1);
  Progress progress(callbacks, stages);
  at::Tensor result = s.result;
  std::vector<StepRecord> steps = s.steps;
  if (!result.defined()) {
    progress.stage("stylize");
    StylizeHooks hooks;
    hooks.callbacks = progress.nested("stylize");
    hooks.on_step = [&steps](const StepRecord& r) { steps.push_back(r); };
    result = session->stylize(s.inputs.content, hooks).image.rgb;
  }
  if (result.dim() != 4 || result.size(0) != 1 || result.size(1) != 3) throw OptionError("result", "expected one RGB image [1,3,H,W]");
  result = result.to(torch::kCPU, torch::kFloat32).clamp(0, 1);

  std::string title = s.title;
  if (title.empty()) {
    title = "impasto explain: " + s.method;
    if (network) title += network->kind == "transformer_net" ? " (TransformerNet)" : " (CycleGAN generator)";
  }
  ReportWriter report(out_dir, title, "stylization");
  report.summary("method", s.method);
  report.summary("result", size_text(result));
  if (!steps.empty()) report.summary("iterations", std::to_string(steps.size()));
  Json explain_json;
  to_json(explain_json, options);
  report.set_json("explain_options", explain_json);
  report.set_json("method_options", options.shown_options ? options.shown_options(session->options()) : session->options());

  int64_t ah = 0, aw = 0;
  std::tie(ah, aw) = bounded_size(result.size(2), result.size(3), options.analysis_size);
  const at::Tensor analysed = resize_image(result, ah, aw);
  report.summary("analysed at", std::to_string(aw) + "x" + std::to_string(ah));

  if (begin(report, progress, "inputs", "Inputs and result")) section_inputs(report, s, result, measure_inputs.styles);

  std::unique_ptr<Objective> objective;
  auto need_objective = [&]() -> const Objective& {
    if (!objective)
      objective = std::make_unique<Objective>(make_objective(*objective_session, measure_inputs, ah, aw, device));
    return *objective;
  };
  const std::string no_style_note =
      objective_method || !measure_inputs.styles.empty()
          ? ""
          : " No style image was given to measure this network's result against (--style), so only the content and tv terms appear.";
  if (begin(report, progress, "losses", "Loss decomposition",
            "The objective of Gatys et al. (alpha * content + beta * style + tv) evaluated on the result, per layer, and over the "
            "iterations of the run." + no_style_note))
    section_losses(report, need_objective(), analysed, steps);

  AttributionMaps maps;
  if (begin(report, progress, "attribution", "Spatial attribution",
            "Where in the picture each term acts (saliency of the loss, Simonyan et al. 2014)." + no_style_note))
    maps = section_attribution(report, need_objective(), analysed, options);

  if (begin(report, progress, "faithfulness", "Faithfulness of the attribution (deletion test)")) {
    if (maps.empty())
      report.skip("no attribution maps");
    else
      section_faithfulness(report, need_objective(), analysed, maps, options);
  }

  if (begin(report, progress, "gram", "Gram matrices: target vs achieved",
            "The style statistics the loss compares, per style layer, and the channel pairs that still differ most."))
    section_gram(report, need_objective(), analysed, options);

  if (objective_method) {
    GalleryCache cache;
    if (begin(report, progress, "ablation", "Layer ablation: each style layer alone")) {
      if (!options.ablation)
        report.skip("turned off (quick mode or --no-ablation)");
      else
        section_ablation(report, progress, *objective_session, s.inputs, result, options, device, cache);
    }
    if (begin(report, progress, "sweeps", "Style strength and scale sweeps")) {
      if (!options.sweeps)
        report.skip("turned off (quick mode or --no-sweeps)");
      else
        section_gatys_sweeps(report, progress, *objective_session, s.inputs, result, options, device, cache);
    }
  }
  if (network) {
    const StyleNetwork& net = *network;
    const at::Tensor photo = resize_image(s.inputs.content.rgb.to(torch::kFloat32), ah, aw);
    if (begin(report, progress, "activations", "Residual block activations")) section_activations(report, net, photo, options);
    if (begin(report, progress, "blocks", "Residual blocks switched off")) section_blocks(report, net, photo);
    if (begin(report, progress, "discriminator", "Discriminator realism map"))
      section_discriminator(report, options, photo, analysed, device);
    if (begin(report, progress, "sweeps", "Strength and input scale sweeps")) {
      if (!options.sweeps) {
        report.skip("turned off (quick mode or --no-sweeps)");
      } else {
        const auto no = network_stylizer_options_from_json(session->options());
        section_network_sweeps(report, net, no, photo, need_objective(), options);
      }
    }
  }
  if (adain_method) {
    const auto* adain = dynamic_cast<const AdainSession*>(session.get());
    if (!adain) throw Error("method " + s.method + " says it explains as adain but its session is not an AdaIN session");
    const AdainOptions ao = adain_options_from_json(session->options());
    const at::Tensor photo = resize_image(s.inputs.content.rgb.to(torch::kFloat32), ah, aw);
    if (begin(report, progress, "adain-statistics", "AdaIN statistics: target vs achieved"))
      section_adain_statistics(report, adain->model(), ao, photo, s.inputs.styles, analysed);
    if (begin(report, progress, "sweeps", "Alpha sweep")) {
      if (!options.sweeps)
        report.skip("turned off (quick mode or --no-sweeps)");
      else
        section_adain_sweep(report, method, session->options(), style_set, s.inputs.content, std::max(ah, aw), need_objective(), options);
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  report.summary("explain time", format_number(seconds) + " s");
  report.set_json("seconds", seconds);
  return report.finish();
}

std::string explain_stylize_job(const std::string& summary_path, const ExplainOptions& options, const std::string& out_dir,
                                const Callbacks& callbacks) {
  const Json summary = read_json_file(summary_path, "the stylization summary (<stem>.json written by stylize)");
  Stylization s;
  std::string content, output, losses, init;
  std::vector<std::string> styles, masks;
  std::vector<double> weights;
  try {
    s.method = summary.at("method").get<std::string>();
    s.options = summary.at("options");
    content = summary.at("content").get<std::string>();
    output = summary.at("output").get<std::string>();
    styles = summary.value("styles", std::vector<std::string>{});
    masks = summary.value("masks", std::vector<std::string>{});
    weights = summary.value("style_blend_weights", std::vector<double>{});
    losses = summary.value("losses", std::string());
    init = summary.value("init_image", std::string());
  } catch (const Json::exception& e) {
    throw FormatError(summary_path, std::string("not a stylization summary: ") + e.what());
  }
  if (output.empty() || output == "-")
    throw FormatError(summary_path, "the job wrote its result to stdout (output \"-\"), so there is no result file to explain");
  std::error_code exists_ec;
  if (content.empty() || (content == "stdin" && !std::filesystem::exists(content, exists_ec)))
    throw FormatError(summary_path, "the job read its content image from stdin; there is no content file to explain it with");
  // The paths are as the job was given them; a job folder that was moved (or a summary read from
  // another working directory) still works when the files sit beside the summary.
  const std::filesystem::path summary_dir = std::filesystem::path(summary_path).parent_path();
  auto locate = [&](const std::string& path) {
    std::error_code ec;
    if (path.empty() || std::filesystem::exists(path, ec)) return path;
    const std::filesystem::path beside = summary_dir / std::filesystem::path(path).filename();
    return std::filesystem::exists(beside, ec) ? beside.string() : path;  // else the named path's FileError
  };
  content = locate(content);
  output = locate(output);
  losses = locate(losses);
  init = locate(init);
  s.inputs.content = read_image(content);
  for (size_t i = 0; i < styles.size(); ++i) {
    StyleInput in_style;
    in_style.name = styles[i];
    in_style.image = read_image(locate(styles[i])).rgb;
    if (i < weights.size()) in_style.weight = weights[i];
    if (i < masks.size() && !masks[i].empty()) in_style.mask = to_single_channel(read_image(locate(masks[i])).rgb);
    s.inputs.styles.push_back(std::move(in_style));
  }
  if (!init.empty()) s.inputs.init = read_image(init).rgb;
  s.result = read_image(output).rgb;
  if (!losses.empty()) {
    std::ifstream lf(losses);
    if (!lf) throw FileError(losses, "cannot open the step records named by " + summary_path);
    std::string line;
    int64_t number = 0;
    while (std::getline(lf, line)) {
      ++number;
      if (line.empty()) continue;
      try {
        s.steps.push_back(step_record_from_json(Json::parse(line), losses + ":" + std::to_string(number)));
      } catch (const Json::exception&) {
        throw FormatError(losses, "line " + std::to_string(number) + " is not JSON");
      }
    }
  }
  s.title = "impasto explain: " + base_name(content) + (styles.empty() ? "" : " + " + base_name(styles[0])) + " -> " + base_name(output);
  return explain_stylization(s, options, out_dir, callbacks);
}

}  // namespace impasto::explain
