// explain_run: the report on a training run folder (see explain.h): its logged curves and, for a GAN,
// what its generator does along latent paths.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "impasto/core/error.h"
#include "impasto/core/runtime.h"
#include "impasto/explain/detail.h"
#include "impasto/explain/figures.h"
#include "impasto/io/chart.h"
#include "impasto/io/grid.h"
#include "impasto/io/image.h"
#include "impasto/io/weights.h"
#include "impasto/nn/gan_model.h"
#include "impasto/io/run_dir.h"

namespace impasto::explain {
using namespace detail;
namespace fs = std::filesystem;

namespace {

// The chart a logged key belongs to.
std::string group_of(const std::string& key) {
  if (key.rfind("style/", 0) == 0) return "style loss per layer";
  if (key == "d_real" || key == "d_fake") return "discriminator outputs";
  if (key.rfind("grad_norm", 0) == 0) return "gradient norms";
  if (key.rfind("lr", 0) == 0) return "learning rates";
  if (key == "images_per_s") return "throughput (images/s)";
  if (key.find("loss") != std::string::npos || key.rfind("gp", 0) == 0 || key.rfind("cycle", 0) == 0 ||
      key.rfind("idt", 0) == 0 || key == "adversarial" || key == "content" || key == "style" || key == "tv")
    return "losses";
  return "other";
}

bool is_loss_group(const std::string& group) { return group == "losses" || group == "style loss per layer"; }

void section_curves(ReportWriter& report, const std::vector<Json>& log) {
  if (log.empty()) {
    report.skip("log.jsonl holds no records yet");
    return;
  }
  std::vector<std::string> keys;  // in first-seen order
  for (const Json& r : log)
    for (auto it = r.begin(); it != r.end(); ++it)
      if (it->is_number() && it.key() != "step" && it.key() != "skipped_files" &&
          std::find(keys.begin(), keys.end(), it.key()) == keys.end())
        keys.push_back(it.key());
  std::vector<std::string> groups;
  std::map<std::string, std::vector<ChartSeries>> series;
  for (const auto& key : keys) {
    ChartSeries s{key, {}, {}};
    for (const Json& r : log) {
      auto it = r.find(key);
      if (it == r.end() || !it->is_number()) continue;
      s.x.push_back(r.value("step", 0.0));
      s.y.push_back(it->get<double>());
    }
    const std::string g = group_of(key);
    if (!series.count(g)) groups.push_back(g);
    series[g].push_back(std::move(s));
  }
  // A fixed order of the charts: losses first.
  const std::vector<std::string> rank = {"losses", "style loss per layer", "discriminator outputs", "gradient norms",
                                         "learning rates", "throughput (images/s)", "other"};
  std::stable_sort(groups.begin(), groups.end(), [&](const std::string& a, const std::string& b) {
    return std::find(rank.begin(), rank.end(), a) < std::find(rank.begin(), rank.end(), b);
  });
  for (const auto& g : groups) {
    auto& ss = series[g];
    bool positive = true;
    double lo = INFINITY, hi = 0;
    Json numbers = Json::object();
    for (const auto& s : ss) {
      for (double y : s.y) positive = positive && y > 0, lo = std::min(lo, y), hi = std::max(hi, y);
      numbers[s.name] = Json{{"step", s.x}, {"value", s.y}};
    }
    ChartOptions co;
    co.title = g;
    co.log_y = positive && hi > 100 * lo;
    co.width = 720;
    std::string name = "curves-" + g.substr(0, g.find(' '));
    std::replace(name.begin(), name.end(), '/', '-');
    report.figure(name, line_chart(ss, co), numbers, g + " over the training steps, as logged in log.jsonl" +
                                                         (co.log_y ? " (log scale)." : "."));
  }
  // The decomposition of the loss at the end: mean of each loss key over the last tenth of the log.
  const size_t tail = std::max<size_t>(1, log.size() / 10);
  std::vector<Bar> bars;
  Json numbers = Json::object();
  for (const auto& g : groups) {
    if (!is_loss_group(g)) continue;
    for (const auto& s : series[g]) {
      const size_t n = std::min(tail, s.y.size());
      double sum = 0;
      for (size_t i = s.y.size() - n; i < s.y.size(); ++i) sum += s.y[i];
      bars.push_back({s.name, sum / static_cast<double>(n), g == "losses" ? 0 : 1});
      numbers[s.name] = sum / static_cast<double>(n);
    }
  }
  if (!bars.empty()) {
    BarChartOptions bo;
    bo.title = "loss terms at the end of training (mean of the last " + std::to_string(tail) + " records)";
    bo.value_label = "value as logged";
    report.figure("curves-final", bar_chart(bars, bo), Json{{"records", tail}, {"means", numbers}},
                  "The logged loss terms averaged over the last tenth of the log.");
  }
}

at::Tensor sample_cell(const at::Tensor& samples, int64_t i) { return samples[i].unsqueeze(0); }

std::string short_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2g", std::fabs(v) < 1e-12 ? 0.0 : v);
  return buf;
}

void section_samples(ReportWriter& report, GanModel& model, const std::string& run_dir, const ExplainOptions& options) {
  const at::Tensor z = sample_gan_latents(model.nets, 16, 0, options.seed);
  const at::Tensor samples = generate(model, z);
  if (samples.dim() != 4) {
    const at::Tensor many = generate(model, sample_gan_latents(model.nets, 1000, 0, options.seed));
    report.figure("samples", scatter_plot(many), Json{{"points", tensor_json(many.narrow(0, 0, 200))}},
                  "1000 samples of the point generator (the first 200 in the numbers).");
    return;
  }
  std::vector<at::Tensor> images;
  for (int64_t i = 0; i < samples.size(0); ++i) images.push_back(sample_cell(samples, i));
  const int64_t cell = std::max<int64_t>(64, samples.size(2));
  report.figure("samples", captioned_grid(images, {}, 8, cell), Json{{"seed", options.seed}, {"count", 16}},
                "16 samples from seeded latents (" + std::string(model.ema ? "EMA" : "raw") + " weights, step " +
                    std::to_string(model.step) + ").");
  const std::string real = run_dir + "/samples/real.png";
  if (fs::exists(real)) report.image(report.input_image("real.png", read_image(real).rgb), "training data (samples/real.png)", 480);
}

void section_interpolation(ReportWriter& report, GanModel& model, const ExplainOptions& options) {
  const int64_t n = options.latent_strips, k = options.latent_steps, zd = model.nets.z_dim;
  const at::Tensor ends = sample_gan_latents(model.nets, 2 * n, 0, options.seed + 1);
  std::vector<at::Tensor> rows;
  std::vector<double> ts;
  for (int64_t j = 0; j < k; ++j) {
    const double t = static_cast<double>(j) / (k - 1);
    ts.push_back(t);
    rows.push_back(slerp(ends.narrow(0, 0, n), ends.narrow(0, n, n), t));
  }
  const at::Tensor z = at::stack(rows, 1).reshape({n * k, zd});
  const at::Tensor images = generate(model, z);
  std::vector<at::Tensor> cells;
  std::vector<std::string> row_labels, column_labels;
  Json smoothness = Json::array();
  for (int64_t i = 0; i < n * k; ++i) cells.push_back(sample_cell(images, i));
  for (int64_t s = 0; s < n; ++s) row_labels.push_back("path " + std::to_string(s + 1));
  for (double t : ts) column_labels.push_back("t=" + short_number(t));
  // How smooth each path is: the mean absolute change between neighbours.
  for (int64_t s = 0; s < n; ++s) {
    Json steps = Json::array();
    for (int64_t j = 1; j < k; ++j) steps.push_back((images[s * k + j] - images[s * k + j - 1]).abs().mean().item<double>());
    smoothness.push_back(steps);
  }
  const int64_t cell = std::max<int64_t>(64, images.size(2));
  report.figure("interpolation", labelled_grid(cells, k, row_labels, column_labels, cell),
                Json{{"t", ts}, {"start", tensor_json(ends.narrow(0, 0, n))}, {"end", tensor_json(ends.narrow(0, n, n))},
                     {"neighbour_change", smoothness}},
                std::to_string(n) + " paths between random latents, spherical interpolation (slerp, White 2016), " +
                    std::to_string(k) + " images each. A good generator changes smoothly along a path.");
}

// Latent categories (nn/gan_nets.h): one row per category, the same noise in every column, so a
// column shows what the code alone changes; with how far apart the categories' pictures are.
void section_categories(ReportWriter& report, GanModel& model, const ExplainOptions& options) {
  torch::NoGradGuard no_grad;
  const int64_t K = model.nets.categories, shown = std::min<int64_t>(K, 16), columns = 8;
  const at::Tensor noise = sample_gan_latents(model.nets, columns, 0, options.seed + 3);
  at::Tensor z = noise.repeat({shown, 1});
  set_latent_categories(z, at::arange(shown, at::kLong).repeat_interleave(columns), K);
  const at::Tensor images = generate(model, z);
  std::vector<at::Tensor> cells;
  std::vector<std::string> row_labels, column_labels;
  for (int64_t i = 0; i < shown * columns; ++i) cells.push_back(sample_cell(images, i));
  for (int64_t k = 0; k < shown; ++k) row_labels.push_back("category " + std::to_string(k));
  for (int64_t j = 0; j < columns; ++j) column_labels.push_back("noise " + std::to_string(j + 1));
  // How much the picture changes with the code alone (the mean over the columns of the mean absolute
  // difference between two categories' pictures), against how much it changes with the noise alone.
  const at::Tensor grid = images.reshape({shown, columns, -1});
  const double across_categories = (grid.unsqueeze(0) - grid.unsqueeze(1)).abs().mean().item<double>() * shown / (shown - 1);
  const double across_noise = (grid.unsqueeze(1) - grid.unsqueeze(2)).abs().mean().item<double>() * columns / (columns - 1);
  const int64_t cell = std::max<int64_t>(64, images.size(2));
  report.figure("categories", labelled_grid(cells, columns, row_labels, column_labels, cell),
                Json{{"categories", K}, {"seed", options.seed + 3}, {"change_with_category", across_categories},
                     {"change_with_noise", across_noise}},
                std::to_string(K) + " latent categories" + (shown < K ? " (the first " + std::to_string(shown) + ")" : "") +
                " (InfoGAN codes the discriminator learnt to read back), the same "
                "noise in each column: what a category decides. The picture changes by " + short_number(across_categories) +
                " on average between two categories and by " + short_number(across_noise) + " between two noise draws (pixels 0..1).");
}

void section_traversal(ReportWriter& report, GanModel& model, const ExplainOptions& options) {
  torch::NoGradGuard no_grad;
  const int64_t zd = model.nets.z_dim, bases = 4;
  const double r = options.traversal_range;
  const at::Tensor base = sample_gan_latents(model.nets, bases, 0, options.seed + 2);
  // Effect of each dimension: mean |G(z with z_d = +r) - G(z with z_d = -r)| over the base latents.
  // The noise dimensions only: latent categories' one-hot coordinates have their own section.
  const int64_t first = model.nets.categories, noise = zd - first;
  std::vector<double> effect(static_cast<size_t>(zd), 0.0);
  const int64_t chunk = std::max<int64_t>(1, 64 / bases);
  for (int64_t d0 = first; d0 < zd; d0 += chunk) {
    const int64_t dn = std::min(chunk, zd - d0);
    at::Tensor plus = base.repeat({dn, 1}), minus = base.repeat({dn, 1});
    for (int64_t i = 0; i < dn; ++i) {
      plus.narrow(0, i * bases, bases).select(1, d0 + i).fill_(r);
      minus.narrow(0, i * bases, bases).select(1, d0 + i).fill_(-r);
    }
    const at::Tensor diff = (generate(model, plus) - generate(model, minus)).abs().reshape({dn, -1}).mean(1);
    for (int64_t i = 0; i < dn; ++i) effect[static_cast<size_t>(d0 + i)] = diff[i].item<double>();
  }
  std::vector<int64_t> order;
  for (int64_t i = first; i < zd; ++i) order.push_back(i);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return effect[a] > effect[b]; });
  const int64_t shown = std::min(options.traversal_dims, noise), k = options.traversal_steps;
  std::vector<at::Tensor> zs;
  std::vector<double> values;
  for (int64_t j = 0; j < k; ++j) values.push_back(-r + 2 * r * j / (k - 1));
  for (int64_t i = 0; i < shown; ++i)
    for (int64_t j = 0; j < k; ++j) {
      at::Tensor z = base[0].clone();
      z[order[i]] = values[static_cast<size_t>(j)];
      zs.push_back(z);
    }
  const at::Tensor images = generate(model, at::stack(zs));
  std::vector<at::Tensor> cells;
  std::vector<std::string> row_labels, column_labels;
  for (int64_t i = 0; i < shown * k; ++i) cells.push_back(sample_cell(images, i));
  for (int64_t i = 0; i < shown; ++i) row_labels.push_back("z" + std::to_string(order[i]));
  for (double v : values) column_labels.push_back("z=" + short_number(v));
  Json dims = Json::array();
  for (int64_t i = 0; i < shown; ++i) dims.push_back(order[i]);
  const int64_t cell = std::max<int64_t>(64, images.size(2));
  report.figure("traversal", labelled_grid(cells, k, row_labels, column_labels, cell),
                Json{{"dims", dims}, {"values", values}, {"effect", effect}, {"base", tensor_json(base[0])}},
                "One latent, one dimension varied at a time from " + format_number(-r) + " to " + format_number(r) +
                    " (rows), for the " + std::to_string(shown) + " dimensions whose change moves the picture most (of " +
                    std::to_string(noise) + (first > 0 ? " noise dimensions" : "") + ").");
  std::vector<Bar> bars;
  for (int64_t i = 0; i < std::min<int64_t>(noise, 20); ++i) bars.push_back({"z" + std::to_string(order[i]), effect[order[i]], 0});
  BarChartOptions bo;
  bo.title = "effect of each latent dimension (the 20 largest)";
  bo.value_label = "mean |G(z_d=+r) - G(z_d=-r)| (pixels 0..1)";
  report.figure("traversal-effect", bar_chart(bars, bo), Json{{"effect", effect}, {"range", r}, {"bases", bases}},
                "How much the picture changes when one latent dimension goes from -r to +r, averaged over " +
                    std::to_string(bases) + " latents; the numbers hold every dimension.");
}

}  // namespace

std::string explain_run(const std::string& run_dir, const ExplainOptions& options, const std::string& out_dir,
                        const Callbacks& callbacks) {
  check_explain_options(options);
  const auto start = std::chrono::steady_clock::now();
  if (!fs::is_directory(run_dir)) throw FileError(run_dir, "not a folder (expected a training run folder: impasto train ... --out DIR)");
  const std::string config_path = run_dir + "/config.json";
  if (!fs::exists(config_path)) throw FileError(run_dir, "no config.json: not a training run folder (impasto train ... --out DIR)");
  const RunFolder run(run_dir);  // read only: explaining a run writes nothing into it
  const Json config = run.read_config();
  const std::vector<Json> log = run.read_log();
  const std::string checkpoint = run_dir + "/checkpoints/latest.ckpt";
  std::string kind = "unknown";
  if (fs::exists(checkpoint)) {
    const Checkpoint c = load_checkpoint(checkpoint);
    kind = c.meta.value("kind", c.arch);
  }
  const c10::Device device = resolve_device(options.device);
  std::string name = fs::path(run_dir).lexically_normal().filename().string();
  if (name.empty()) name = fs::path(run_dir).lexically_normal().parent_path().filename().string();

  Progress progress(callbacks, 4);
  ReportWriter report(out_dir, "impasto explain: run " + name, "run");
  report.summary("run", run_dir);
  report.summary("kind", kind);
  report.summary("logged records", std::to_string(log.size()));
  if (!log.empty()) report.summary("last logged step", std::to_string(log.back().value("step", int64_t{0})));
  report.set_json("config", config);
  Json explain_json;
  to_json(explain_json, options);
  report.set_json("explain_options", explain_json);

  report.section("curves", "Training curves and final loss terms");
  progress.stage("curves");
  section_curves(report, log);

  const bool gan = kind == "gan-run";
  std::unique_ptr<GanModel> model;
  std::string no_model;
  if (gan) {
    model = std::make_unique<GanModel>(load_gan_model(run_dir, options.ema, device));
  } else if (kind == "unknown") {
    no_model = "no checkpoint in checkpoints/ yet";
  } else {
    no_model = "not a GAN run (" + kind + "); explain a trained style network with --model (e.g. " + run_dir +
               "/model.ckpt or G_A.ckpt) and a photo";
  }
  const bool images = model && model->nets.arch != "mlp";
  auto open = [&](const std::string& id, const std::string& title, const std::string& intro) {
    report.section(id, title, intro);
    if (progress.stopped()) {
      report.skip("interrupted");
      return false;
    }
    progress.stage(title);
    if (!model) {
      report.skip(no_model);
      return false;
    }
    return true;
  };
  if (open("samples", "Samples", "What the generator makes now.")) section_samples(report, *model, run_dir, options);
  if (model && model->nets.categories > 0 && open("categories", "Latent categories", "")) section_categories(report, *model, options);
  if (open("interpolation", "Latent interpolation", "")) {
    if (!images)
      report.skip("a point generator (mlp): see the samples");
    else
      section_interpolation(report, *model, options);
  }
  if (open("traversal", "Latent traversal per dimension", "")) {
    if (!images)
      report.skip("a point generator (mlp): see the samples");
    else
      section_traversal(report, *model, options);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  report.summary("explain time", format_number(seconds) + " s");
  report.set_json("seconds", seconds);
  return report.finish();
}

}  // namespace impasto::explain
