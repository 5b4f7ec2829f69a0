// The sections about a result's losses, shared by the gatys and network reports: decomposition and
// curves, attribution maps, their faithfulness, Gram matrices.
#include <torch/torch.h>

#include <chrono>
#include <algorithm>
#include <cmath>

#include "impasto/core/error.h"
#include "impasto/explain/attribution.h"
#include "impasto/explain/detail.h"
#include "impasto/explain/figures.h"
#include "impasto/explain/gram.h"
#include "impasto/io/chart.h"
#include "impasto/io/grid.h"
#include "impasto/io/image_ops.h"
#include "impasto/style/color.h"

namespace impasto::explain::detail {

// ---- progress ---------------------------------------------------------------------------------

void Progress::stage(const std::string& name) {
  ++done_;
  ProgressEvent e;
  e.stage = "explain: " + name;
  e.step = std::min(done_, total_);
  e.total = total_;
  e.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  callbacks_.report(e);
  callbacks_.emit(LogLevel::debug, "explain: " + name);
}

Callbacks Progress::nested(const std::string& label) const {
  Callbacks cb = callbacks_;
  if (callbacks_.progress) {
    auto outer = callbacks_.progress;
    cb.progress = [outer, label](const ProgressEvent& inner) {
      ProgressEvent e = inner;
      e.stage = "explain: " + label + " - " + inner.stage;
      outer(e);
    };
  }
  return cb;
}

// ---- objective --------------------------------------------------------------------------------

at::Tensor Objective::work(const at::Tensor& image) const { return luminance ? grey_luminance(image) : image; }

GatysTerms Objective::terms(const at::Tensor& image) const {
  const at::Tensor x = work(image.to(device));
  return gatys_terms(backbone->extract(x, taps), x, targets, o, norm);
}

StepRecord Objective::measure(const at::Tensor& image) const {
  torch::NoGradGuard no_grad;
  const GatysTerms t = terms(image);
  StepRecord r;
  r.height = h;
  r.width = w;
  for (const auto& [name, l] : t.content_layers) r.content_layers.emplace_back(name, l.item<double>());
  for (const auto& [name, l] : t.style_layers) r.style_layers.emplace_back(name, l.item<double>());
  r.content = t.content.item<double>();
  r.style = t.style.item<double>();
  r.tv = t.tv.item<double>();
  r.total = t.total.item<double>();
  return r;
}

Objective make_objective(const GatysSession& session, const StylizeInputs& inputs, int64_t h, int64_t w, c10::Device device) {
  Objective obj;
  obj.o = session.resolved_options();
  obj.backbone = session.backbone();
  obj.backbone->to(device);
  obj.backbone->eval();
  obj.norm = parse_normalisation(*obj.o.normalisation);
  obj.taps = gatys_taps(obj.o);
  obj.device = device;
  obj.h = h;
  obj.w = w;
  obj.luminance = obj.o.preserve_colors == "luminance";
  const GatysWorkImages work = gatys_work_images(obj.o, inputs, h, w, device);
  obj.targets = gatys_targets(*obj.backbone, obj.o, work.content_work, inputs.styles, work.styles, h, w);
  return obj;
}

std::pair<int64_t, int64_t> bounded_size(int64_t h, int64_t w, int64_t longest) {
  if (longest <= 0 || std::max(h, w) <= longest) return {h, w};
  return fit_longest_side(h, w, longest);
}

Json measured_json(const StepRecord& r) {
  Json cl = Json::array(), sl = Json::array();
  for (const auto& [n, v] : r.content_layers) cl.push_back(Json{{"layer", n}, {"value", v}});
  for (const auto& [n, v] : r.style_layers) sl.push_back(Json{{"layer", n}, {"value", v}});
  return Json{{"total", r.total}, {"content", r.content}, {"style", r.style}, {"tv", r.tv},
              {"content_layers", cl}, {"style_layers", sl}};
}

Json tensor_json(const at::Tensor& tensor) {
  const at::Tensor t = tensor.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  if (t.dim() == 0) return t.item<float>();
  Json out = Json::array();
  if (t.dim() == 1) {
    const float* p = t.data_ptr<float>();
    for (int64_t i = 0; i < t.size(0); ++i) out.push_back(p[i]);
    return out;
  }
  for (int64_t i = 0; i < t.size(0); ++i) out.push_back(tensor_json(t[i]));
  return out;
}

// ---- losses -----------------------------------------------------------------------------------

void section_losses(ReportWriter& report, const Objective& obj, const at::Tensor& result, const std::vector<StepRecord>& steps) {
  const StepRecord m = obj.measure(result);
  std::vector<Bar> bars;
  std::vector<std::vector<std::string>> rows;
  const double total = m.total > 0 ? m.total : 1.0;
  auto share = [&](double v) { return format_number(100.0 * v / total) + " %"; };
  for (const auto& [n, v] : m.content_layers) {
    bars.push_back({"content " + n, v, 0});
    rows.push_back({"content", n, format_number(v), share(v)});
  }
  if (obj.has_style())
    for (const auto& [n, v] : m.style_layers) {
      bars.push_back({"style " + n, v, 1});
      rows.push_back({"style", n, format_number(v), share(v)});
    }
  if (*obj.o.tv_weight > 0) {
    bars.push_back({"tv", m.tv, 2});
    rows.push_back({"tv", "", format_number(m.tv), share(m.tv)});
  }
  rows.push_back({"total", "", format_number(m.total), "100 %"});
  BarChartOptions bo;
  bo.title = "weighted loss terms of the result, per layer (total " + format_number(m.total) + ")";
  bo.value_label = "weighted loss (as it enters the total)";
  bo.group_names = {"content", "style", "tv"};
  bo.width = 720;
  Json numbers = measured_json(m);
  numbers["normalisation"] = *obj.o.normalisation;
  numbers["content_weight"] = *obj.o.content_weight;
  numbers["style_weight"] = *obj.o.style_weight;
  numbers["tv_weight"] = *obj.o.tv_weight;
  numbers["size"] = {obj.w, obj.h};
  report.figure("losses-decomposition", bar_chart(bars, bo), numbers,
                "Each layer's weighted term of the objective, measured on the result (" + std::to_string(obj.w) + "x" +
                    std::to_string(obj.h) + ", normalisation " + *obj.o.normalisation + "); the shares add up to the total.");
  report.table({"term", "layer", "weighted value", "share of total"}, rows);

  if (steps.empty()) {
    report.paragraph("No curves: this method makes its result in one pass (no iterations).");
    return;
  }
  std::vector<double> x;
  for (size_t i = 0; i < steps.size(); ++i) x.push_back(static_cast<double>(i + 1));
  auto series = [&](const std::string& name, auto value) {
    ChartSeries s{name, x, {}};
    for (const auto& r : steps) s.y.push_back(value(r));
    return s;
  };
  auto layer_series = [&](bool style) {
    std::vector<ChartSeries> out;
    const auto& last = style ? steps.back().style_layers : steps.back().content_layers;
    for (size_t k = 0; k < last.size(); ++k) {
      const std::string name = last[k].first;
      out.push_back(series(name, [&, style, name](const StepRecord& r) {
        for (const auto& [n, v] : style ? r.style_layers : r.content_layers)
          if (n == name) return v;
        return 0.0;
      }));
    }
    return out;
  };
  std::vector<ChartSeries> terms = {series("total", [](const StepRecord& r) { return r.total; }),
                                    series("content", [](const StepRecord& r) { return r.content; }),
                                    series("style", [](const StepRecord& r) { return r.style; })};
  if (steps.back().tv > 0) terms.push_back(series("tv", [](const StepRecord& r) { return r.tv; }));
  const std::vector<ChartSeries> style_layers = layer_series(true), content_layers = layer_series(false);
  // Each style layer's share of the style term: which statistics are matched first.
  std::vector<ChartSeries> shares = style_layers;
  for (auto& s : shares)
    for (size_t i = 0; i < s.y.size(); ++i) s.y[i] = steps[i].style > 0 ? s.y[i] / steps[i].style : 0.0;

  ChartOptions co;
  co.x_label = "iteration (all levels)";
  co.title = "weighted loss terms";
  std::vector<at::Tensor> charts = {line_chart(terms, co)};
  co.title = "style loss per layer";
  charts.push_back(line_chart(style_layers, co));
  co.title = "share of the style term per layer";
  co.log_y = false;
  charts.push_back(line_chart(shares, co));
  if (content_layers.size() > 1) {
    co.title = "content loss per layer";
    co.log_y = true;
    charts.push_back(line_chart(content_layers, co));
  }
  Json curves = Json::array();
  for (const auto& r : steps) curves.push_back(to_json(r));
  report.figure("losses-curves", make_grid(charts, 2, 400, 0), Json{{"steps", curves}},
                "The terms over the iterations (log scale; a jump marks a new coarse-to-fine level), the style loss of each "
                "layer, and each layer's share of the style term (linear). Values as recorded at the start of each step.");
}

// ---- attribution ------------------------------------------------------------------------------

namespace {

// Which value of a measured record a term name means.
double term_value(const StepRecord& r, const std::string& name) {
  if (name == "content") return r.content;
  if (name == "style") return r.style;
  if (name == "tv") return r.tv;
  for (const auto& [n, v] : r.style_layers)
    if ("style " + n == name) return v;
  for (const auto& [n, v] : r.content_layers)
    if ("content " + n == name) return v;
  return 0.0;
}

}  // namespace

AttributionMaps section_attribution(ReportWriter& report, const Objective& obj, const at::Tensor& result,
                                    const ExplainOptions& options) {
  at::Tensor x = result.detach().to(obj.device).clone().set_requires_grad(true);
  std::vector<std::pair<std::string, at::Tensor>> terms, grads;
  {
    torch::AutoGradMode grad(true);
    const GatysTerms t = obj.terms(x);
    terms.emplace_back("content", t.content);
    if (obj.has_style()) terms.emplace_back("style", t.style);
    if (*obj.o.tv_weight > 0) terms.emplace_back("tv", t.tv);
    if (obj.has_style())
      for (const auto& [n, l] : t.style_layers) terms.emplace_back("style " + n, l);
    if (t.content_layers.size() > 1)
      for (const auto& [n, l] : t.content_layers) terms.emplace_back("content " + n, l);
    grads = term_gradients(x, terms);
  }
  const at::Tensor shown = result.detach().to(torch::kCPU);
  const at::Tensor removed = remove_pixels(shown, torch::ones({1, 1, shown.size(2), shown.size(3)}), options.deletion_mode);
  AttributionMaps maps;
  std::vector<at::Tensor> cells = {shown}, signed_cells = {shown};
  std::vector<std::string> captions = {"result"}, signed_captions = {"result"};
  Json numbers = Json{{"size", {obj.w, obj.h}}, {"grid_cells", options.map_cells}, {"removal_mode", options.deletion_mode},
                      {"maps", Json::array()}};
  std::vector<std::vector<std::string>> rows;
  for (size_t i = 0; i < grads.size(); ++i) {
    const std::string& name = grads[i].first;
    const at::Tensor map = gradient_magnitude(grads[i].second);
    const at::Tensor effect = removal_effect(grads[i].second, shown, removed);
    maps.sensitivity.emplace_back(name, map);
    maps.removal.emplace_back(name, effect);
    const double value = terms[i].second.item<double>();
    const double mx = map.max().item<double>(), mean = map.mean().item<double>();
    const double p99 = torch::quantile(map.flatten(), 0.99).item<double>();
    // Share of the gradient mass in the top `deletion_fraction` of pixels: how concentrated it is.
    const at::Tensor top = top_fraction_mask(map, options.deletion_fraction)[0][0];
    const double total_mass = map.sum().item<double>();
    const double top_share = total_mass > 0 ? (map * top).sum().item<double>() / total_mass : 0.0;
    const double e99 = torch::quantile(effect.abs().flatten(), 0.99).item<double>();
    cells.push_back(overlay_heatmap(shown, normalise_map(map)));
    captions.push_back(name + " (" + format_number(value) + ")");
    signed_cells.push_back(overlay_signed(shown, e99 > 0 ? (effect / e99).clamp(-1, 1) : effect));
    signed_captions.push_back(name + " (sum " + format_number(effect.sum().item<double>()) + ")");
    const at::Tensor pooled = pooled_map(map, options.map_cells);
    const at::Tensor pooled_effect = pooled_map(effect, options.map_cells);
    numbers["maps"].push_back(Json{{"term", name},
                                   {"value", value},
                                   {"grad_max", mx},
                                   {"grad_mean", mean},
                                   {"grad_p99", p99},
                                   {"top_share", top_share},
                                   {"pooled_size", {pooled.size(1), pooled.size(0)}},
                                   {"pooled", tensor_json(pooled)},
                                   {"removal_sum", effect.sum().item<double>()},
                                   {"removal_positive", effect.clamp_min(0).sum().item<double>()},
                                   {"removal_negative", effect.clamp_max(0).sum().item<double>()},
                                   {"removal_abs_p99", e99},
                                   {"removal_pooled", tensor_json(pooled_effect)}});
    rows.push_back({name, format_number(value), format_number(mean), format_number(mx),
                    format_number(100 * top_share) + " %", format_number(effect.sum().item<double>())});
  }
  const int64_t cell = std::clamp<int64_t>(obj.h, 128, 256);
  at::Tensor grid = captioned_grid(cells, captions, 4, cell);
  grid = hstack({grid, colour_bar(std::min<int64_t>(grid.size(2), 300), 0, 1, Colormap::heat, "|dL/dx|")});
  report.figure("attribution", grid, numbers,
                "Sensitivity: the per-pixel gradient magnitude |dL/dx| (L2 over RGB) of each weighted term w.r.t. the "
                "result, coloured over the result in grey: where a small change of the picture changes the term most. "
                "Each map is scaled to its own 99th percentile (1 on the colour bar); compare magnitudes in the table. The "
                "number after a name is the term's value.");
  at::Tensor signed_grid = captioned_grid(signed_cells, signed_captions, 4, cell);
  signed_grid = hstack({signed_grid, colour_bar(std::min<int64_t>(signed_grid.size(2), 300), -1, 1, Colormap::diverging,
                                                "effect")});
  report.figure("attribution-removal", signed_grid, numbers,
                "Removal effect: dL/dx . (" + options.deletion_mode + "(x) - x) per pixel, the first-order change of each "
                "term when that pixel alone is " + (options.deletion_mode == "blur" ? "blurred" : "greyed") +
                    ". Red: removing the pixel raises the term (the pixel carries what the term asks for: the style's "
                    "texture, the photo's structure); blue: lowers it. Each map scaled to its own 99th percentile of "
                    "|effect|; the number is the sum over all pixels (about the change when everything is removed).");
  report.table({"term", "value", "mean |dL/dx|", "max |dL/dx|",
                "gradient mass in the top " + format_number(100 * options.deletion_fraction) + " % of pixels",
                "sum of the removal effect"},
               rows);
  return maps;
}

void section_faithfulness(ReportWriter& report, const Objective& obj, const at::Tensor& result, const AttributionMaps& maps,
                          const ExplainOptions& options) {
  const at::Tensor x = result.detach().to(obj.device);
  // Maps of terms that do not depend on the picture (all zero) have nothing to test.
  std::vector<size_t> tested;
  for (size_t i = 0; i < maps.sensitivity.size(); ++i)
    if (maps.sensitivity[i].second.max().item<double>() > 0) tested.push_back(i);
  std::vector<std::pair<std::string, at::Tensor>> sensitivity, removal;
  for (size_t i : tested) {
    sensitivity.push_back(maps.sensitivity[i]);
    removal.emplace_back(maps.removal[i].first, oriented_effect(maps.removal[i].second));
  }
  auto values = [&obj, &sensitivity](const at::Tensor& image) {
    const StepRecord r = obj.measure(image);
    std::vector<double> out;
    for (const auto& m : sensitivity) out.push_back(term_value(r, m.first));
    return out;
  };
  DeletionOptions d_options;
  d_options.fraction = options.deletion_fraction;
  d_options.mode = options.deletion_mode;
  d_options.trials = options.deletion_trials;
  d_options.seed = options.seed;
  d_options.region = options.deletion_region;
  std::vector<DeletionResult> by_removal, by_sensitivity;
  if (!tested.empty()) {
    by_removal = deletion_tests(values, x, removal, d_options);
    by_sensitivity = deletion_tests(values, x, sensitivity, d_options);  // the same random masks
  }
  Json numbers = Json{{"fraction", d_options.fraction}, {"mode", d_options.mode}, {"trials", d_options.trials},
                      {"seed", d_options.seed},         {"region", d_options.region}, {"terms", Json::array()}};
  std::vector<std::vector<std::string>> rows;
  int faithful_removal = 0, faithful_sensitivity = 0;
  auto ratio = [](const DeletionResult& d) {
    return d.random_change > 0 ? format_number(d.top_change / d.random_change) : std::string("inf");
  };
  for (size_t k = 0; k < by_removal.size(); ++k) {
    const DeletionResult& r = by_removal[k];
    const DeletionResult& s = by_sensitivity[k];
    faithful_removal += r.faithful() ? 1 : 0;
    faithful_sensitivity += s.faithful() ? 1 : 0;
    numbers["terms"].push_back(Json{{"term", r.term},
                                    {"value", r.value},
                                    {"random_changes", r.random_changes},
                                    {"random_change", r.random_change},
                                    {"removal", {{"top_value", r.top_value}, {"top_change", r.top_change}, {"faithful", r.faithful()}}},
                                    {"sensitivity", {{"top_value", s.top_value}, {"top_change", s.top_change}, {"faithful", s.faithful()}}}});
    rows.push_back({r.term, format_number(r.value), format_number(r.random_change), format_number(r.top_change), ratio(r),
                    r.faithful() ? "yes" : "NO", format_number(s.top_change), ratio(s), s.faithful() ? "yes" : "NO"});
  }
  const int n = static_cast<int>(by_removal.size());
  numbers["tested"] = n;
  numbers["faithful_removal"] = faithful_removal;
  numbers["faithful_sensitivity"] = faithful_sensitivity;
  const std::string unit = d_options.region > 1 ? " in " + std::to_string(d_options.region) + "x" +
                                                      std::to_string(d_options.region) + " px regions" : "";
  report.paragraph("Removing (" + d_options.mode + ") the " + format_number(100 * d_options.fraction) +
                   " % of pixels" + unit + " with the largest attribution should change a term more than removing as many "
                   "random pixels (mean of " + std::to_string(d_options.trials) + " draws). Removal-effect maps (ranked in the "
                   "direction of their sum: the pixels whose removal raises a style term, or lowers tv, most): " +
                   std::to_string(faithful_removal) + " of " + std::to_string(n) + " pass; sensitivity maps: " +
                   std::to_string(faithful_sensitivity) + " of " + std::to_string(n) +
                   ". Sensitivity says where the term reacts to small changes of any kind, not what blurring does: it "
                   "often fails for the coarse layers, whose gradients are smooth and which blurring hardly touches.");
  report.table({"term", "value", "change, random pixels", "change, top removal-effect pixels", "ratio", "faithful",
                "change, top sensitivity pixels", "ratio", "faithful"},
               rows);
  // The test as pictures, for the style term (the content term without a style).
  for (size_t k = 0; k < removal.size(); ++k) {
    const std::string& name = removal[k].first;
    if (name != (obj.has_style() ? "style" : "content")) continue;
    const int64_t cell = std::clamp<int64_t>(obj.h, 128, 256);
    const at::Tensor a = remove_pixels(x, top_fraction_mask(removal[k].second, d_options.fraction, d_options.region), d_options.mode);
    const at::Tensor b = remove_pixels(x, top_fraction_mask(sensitivity[k].second, d_options.fraction, d_options.region), d_options.mode);
    const at::Tensor c = remove_pixels(x, random_fraction_mask(obj.h, obj.w, d_options.fraction, d_options.seed, d_options.region),
                                       d_options.mode);
    report.figure("faithfulness",
                  captioned_grid({x.cpu(), a.cpu(), b.cpu(), c.cpu()},
                                 {"result (" + name + " " + format_number(by_removal[k].value) + ")",
                                  "top removal-effect pixels removed (" + format_number(by_removal[k].top_value) + ")",
                                  "top sensitivity pixels removed (" + format_number(by_sensitivity[k].top_value) + ")",
                                  "random pixels removed (change " + format_number(by_removal[k].random_change) + ")"},
                                 4, cell),
                  numbers, "The deletion test for the " + name + " term, as pictures (the numbers cover every term).");
  }
}

// ---- Gram matrices ----------------------------------------------------------------------------

void section_gram(ReportWriter& report, const Objective& obj, const at::Tensor& result, const ExplainOptions& options) {
  if (!obj.has_style()) {
    report.skip("no style image to compare the result's Gram matrices with");
    return;
  }
  torch::NoGradGuard no_grad;
  const at::Tensor x = obj.work(result.detach().to(obj.device));
  std::set<std::string> style_taps;
  for (const auto& [n, w] : obj.o.style_layers) style_taps.insert(n);
  const FeatureMaps features = obj.backbone->extract(x, style_taps);
  for (size_t g = 0; g < obj.targets.groups.size(); ++g) {
    const GatysStyleGroup& group = obj.targets.groups[g];
    const std::string group_name = group.mask.defined() ? "masked style " + std::to_string(g + 1) : "style";
    for (const auto& [layer, layer_weight] : obj.o.style_layers) {
      const at::Tensor& f = features.at(layer);
      at::Tensor mask;
      if (group.mask.defined()) mask = torch::adaptive_avg_pool2d(group.mask, {f.size(2), f.size(3)});
      const at::Tensor achieved = gram_matrix(f, mask)[0].cpu();
      const at::Tensor target = group.grams.at(layer)[0].cpu();
      const double loss = style_loss(achieved.unsqueeze(0), target.unsqueeze(0), obj.norm).item<double>();
      const auto channels = gram_channels_to_show(target, achieved, options.gram_channels);
      const at::Tensor idx = torch::tensor(channels, torch::kLong);
      const at::Tensor t = target.index_select(0, idx).index_select(1, idx);
      const at::Tensor a = achieved.index_select(0, idx).index_select(1, idx);
      const at::Tensor d = a - t;
      // Colour scales clipped at the 99th percentile: a few large entries (a channel that fires
      // everywhere) would otherwise leave the rest of the matrix in one colour.
      const at::Tensor both = torch::cat({t.flatten(), a.flatten()}).to(torch::kFloat32);
      const double lo = both.min().item<double>();
      const double hi = std::max(lo + 1e-12, torch::quantile(both, 0.99).item<double>());
      const double dm = std::max(1e-12, torch::quantile(d.abs().flatten().to(torch::kFloat32), 0.99).item<double>());
      const int64_t side = 200;
      const at::Tensor fig = with_caption(
          hstack({with_caption(matrix_heatmap(t, lo, hi, Colormap::sequential, side), "target (style image)"),
                  with_caption(matrix_heatmap(a, lo, hi, Colormap::sequential, side), "achieved (result)"),
                  colour_bar(side + 20, lo, hi, Colormap::sequential, "Gram (p99 clip)"),
                  with_caption(matrix_heatmap(d, -dm, dm, Colormap::diverging, side), "achieved - target"),
                  colour_bar(side + 20, -dm, dm, Colormap::diverging, "diff (p99 clip)")}),
          "layer " + layer + ": " + std::to_string(target.size(0)) + " channels" +
              (static_cast<int64_t>(channels.size()) < target.size(0) ? " (" + std::to_string(channels.size()) + " shown)" : "") +
              ", style loss " + format_number(loss) + " (unweighted)", 0.5);
      const auto diffs = largest_gram_differences(target, achieved, options.gram_differences);
      Json top = Json::array();
      std::vector<std::vector<std::string>> rows;
      for (const auto& e : diffs) {
        top.push_back(Json{{"i", e.i}, {"j", e.j}, {"target", e.target}, {"achieved", e.achieved}, {"difference", e.difference}});
        rows.push_back({std::to_string(e.i) + ", " + std::to_string(e.j), format_number(e.target), format_number(e.achieved),
                        format_number(e.difference)});
      }
      Json numbers = Json{{"layer", layer},
                          {"group", group_name},
                          {"channels_total", target.size(0)},
                          {"channels", channels},
                          {"target", tensor_json(t)},
                          {"achieved", tensor_json(a)},
                          {"style_loss", loss},
                          {"layer_weight", layer_weight},
                          {"normalisation", *obj.o.normalisation},
                          {"largest_differences", top}};
      std::string name = "gram-" + layer + (g > 0 ? "-g" + std::to_string(g + 1) : "");
      report.figure(name, fig, numbers,
                    group_name + ", layer " + layer + ": per-location Gram matrices F F^T / M of the style image and of the result "
                    "(same colour scale), and their difference; colours saturate at the 99th percentile (exact values in the "
                    "numbers and the table). Rows and columns are channels.");
      report.table({"channels (i, j)", "target", "achieved", "achieved - target"}, rows);
    }
  }
}

}  // namespace impasto::explain::detail
