// impasto eval: metrics of a folder of outputs (FID/KID against real images, Inception Score, and per
// image SSIM, content loss and style distance), printed as a table and written as CSV and JSON; or
// of a stylized video against its input (--video): the warping error and per-frame distances.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "commands.h"
#include "impasto/core/error.h"
#include "impasto/core/text.h"
#include "impasto/io/text_file.h"
#include "impasto/metrics/evaluate.h"
#include "impasto/metrics/video_metrics.h"
#include "impasto/train/eval_classifiers.h"

namespace impasto::cli {
namespace {

struct EvalFlags {
  EvaluationOptions o;
  std::vector<std::string> style_layers, content_layers;
  std::string csv, json;
  int threads = 0;
  std::string video;
  int64_t content_start = 0, frames = 0;
};

void run_video_evaluation(const EvalFlags& f, Context& context) {
  VideoEvaluationOptions v;
  v.video = f.video;
  v.content = f.o.content;
  v.style = f.o.style;
  v.content_start = f.content_start;
  v.frames = f.frames;
  v.limits.max_pixels = f.o.max_pixels;
  v.backbone = f.o.backbone;
  v.distances = f.o.distances;
  v.device = f.o.device;
  const VideoEvaluation r = evaluate_video(v, context.callbacks());
  std::printf("video: %lld frames of %lldx%lld\n", static_cast<long long>(r.frames), static_cast<long long>(r.width),
              static_cast<long long>(r.height));
  std::printf("  %-16s %.6f   (Lai et al. 2018: flow of the input frames, non-occluded pixels)\n", "warping error", r.warping_error);
  if (r.mean_style_distance >= 0)
    std::printf("  %-16s %s\n  %-16s %s\n", "style distance", format_number(r.mean_style_distance).c_str(), "content distance",
                format_number(r.mean_content_distance).c_str());
  std::string csv = "frame,warping_error,non_occluded,style_distance,content_distance\n";
  Json rows = Json::array();
  for (const auto& m : r.per_frame) {
    auto cell = [](double x) { return x < 0 ? std::string() : format_number(x); };
    csv += std::to_string(m.index) + "," + cell(m.warping_error) + "," + cell(m.non_occluded) + "," + cell(m.style_distance) +
           "," + cell(m.content_distance) + "\n";
    auto value = [](double x) { return x < 0 ? Json() : Json(x); };
    rows.push_back(Json{{"frame", m.index}, {"warping_error", value(m.warping_error)}, {"non_occluded", m.non_occluded},
                        {"style_distance", value(m.style_distance)}, {"content_distance", value(m.content_distance)}});
  }
  if (!f.csv.empty()) write_text_file(f.csv, csv);
  if (!f.json.empty())
    write_text_file(f.json, Json{{"video", v.video}, {"content", v.content}, {"style", v.style}, {"frames", r.frames},
                                 {"width", r.width}, {"height", r.height}, {"warping_error", r.warping_error},
                                 {"style_distance", r.mean_style_distance >= 0 ? Json(r.mean_style_distance) : Json()},
                                 {"content_distance", r.mean_content_distance >= 0 ? Json(r.mean_content_distance) : Json()},
                                 {"warnings", r.warnings}, {"per_frame", rows}}.dump(2) + "\n");
}


std::string score(double mean, double std) { return format_number(mean) + " +- " + format_number(std); }

// Fails before the evaluation (which may take long) when an output file cannot be written.
void check_output_file(const std::string& path) {
  if (path.empty()) return;
  namespace fs = std::filesystem;
  const fs::path parent = fs::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty() && !fs::is_directory(parent, ec)) throw FileError(path, "the folder " + parent.string() + " does not exist");
  if (fs::is_directory(path, ec)) throw FileError(path, "is a folder; expected a file name");
}

void print_set_metrics(const EvaluationResult& r) {
  std::printf("set metrics: %lld fake images", static_cast<long long>(r.fake_images));
  if (r.real_images > 0) std::printf(", %lld real images", static_cast<long long>(r.real_images));
  std::printf("\n");
  if (r.fid) {
    std::printf("  %-10s %s   (features: %s, %lld-d)\n", "FID", format_number(*r.fid).c_str(), r.feature_network.c_str(),
                static_cast<long long>(r.feature_dimensions));
    if (r.fid_rank_deficient)
      std::printf("  %-10s rank-deficient estimate: fewer images than feature dimensions + 1, biased upwards; "
                  "compare only runs with the same image counts\n", "");
  }
  if (r.kid)
    std::printf("  %-10s %s   (%lld subsets of %lld)\n", "KID", score(r.kid->mean, r.kid->std).c_str(),
                static_cast<long long>(r.kid->subsets), static_cast<long long>(r.kid->subset_size));
  auto print_score = [](const char* label, const InceptionScoreResult& s) {
    std::printf("  %-10s %s   (%lld split%s)\n", label, score(s.mean, s.std).c_str(), static_cast<long long>(s.splits),
                s.splits == 1 ? "" : "s");
  };
  if (r.inception_score_fake) print_score("IS fake", *r.inception_score_fake);
  if (r.inception_score_real) print_score("IS real", *r.inception_score_real);
  if (!r.classifier.empty()) std::printf("  %-10s %s: %s\n", "classifier", r.classifier.c_str(), r.classifier_description.c_str());
}

// The per-image rows as aligned columns, then their mean.
void print_rows(const EvaluationResult& r) {
  std::printf("per image: backbone %s, %s normalisation%s\n", r.backbone.c_str(), r.distances.normalisation.c_str(),
              r.options.value("style", "").empty() ? "" : (", style " + r.options.value("style", "")).c_str());
  const auto columns = row_columns(r);
  size_t name_width = 4;
  for (const auto& row : r.rows) name_width = std::max(name_width, row.name.size());
  name_width = std::min<size_t>(name_width, 40);
  std::vector<size_t> widths;
  std::printf("%-*s", static_cast<int>(name_width), "name");
  for (const auto& c : columns) {
    widths.push_back(std::max<size_t>(c.size(), 10));
    std::printf("  %*s", static_cast<int>(widths.back()), c.c_str());
  }
  std::printf("\n");
  auto print_row = [&](const EvaluationRow& row) {
    std::string name = row.name;
    if (name.size() > name_width) name = "..." + name.substr(name.size() - name_width + 3);
    std::printf("%-*s", static_cast<int>(name_width), name.c_str());
    const auto values = row_values(r, row);
    for (size_t k = 0; k < values.size(); ++k)
      std::printf("  %*s", static_cast<int>(widths[k]), values[k] ? format_number(*values[k]).c_str() : "");
    std::printf("\n");
  };
  for (const auto& row : r.rows) print_row(row);
  if (!r.rows.empty()) print_row(r.mean);
}

}  // namespace

CLI::App* add_eval_command(CLI::App& app, Context& context) {
  auto flags = std::make_shared<EvalFlags>();
  auto& f = *flags;
  EvaluationOptions& o = f.o;
  CLI::App* cmd = app.add_subcommand("eval", "Evaluate a folder of outputs: FID, KID, Inception Score, SSIM, content loss, style distance");
  cmd->add_option("--fake", o.fake, "folder of images to evaluate (stylized outputs, generated samples)");
  cmd->add_option("--video", f.video, "a stylized video (or folder of frames) to evaluate against its input (--content): "
                                      "warping error, and per frame the style distance (with --style) and content distance");
  cmd->add_option("--content-start", f.content_start, "video: the input's frame matching the video's first (stylize --start)");
  cmd->add_option("--frames", f.frames, "video: at most this many frames (0 = all)");
  cmd->add_option("--real", o.real, "folder of reference images: FID and KID of --fake against them (and their IS)");
  cmd->add_option("--content", o.content, "folder of content images, paired with --fake by file name: SSIM and content loss");
  cmd->add_option("--style", o.style, "style image: the style distance of every --fake image");
  cmd->add_flag("--recursive", o.recursive, "also read subfolders (files are named by their relative path)");
  cmd->add_option("--image-size", o.image_size, "resize every image to this longest side first (0 = as read)")->capture_default_str();
  cmd->add_option("--max-pixels", o.max_pixels, "refuse input images with more pixels")->capture_default_str();
  cmd->add_option("--features", o.features.name, "feature network for FID/KID: random-multiscale (no download), inception, vgg19, ...")->capture_default_str();
  cmd->add_option("--weights", o.features.weights, "its weight file (inception: pt_inception-2015-12-05-6726825d.pth)");
  cmd->add_option("--features-seed", o.features.seed, "seed of the random-multiscale feature network")->capture_default_str();
  cmd->add_option("--batch-size", o.features.batch_size, "images per forward pass of the feature network and classifier")->capture_default_str();
  cmd->add_flag("--allow-rank-deficient", o.allow_rank_deficient, "FID with fewer images than feature dimensions + 1 (biased upwards)");
  cmd->add_option("--kid-subsets", o.kid_subsets, "KID: random subsets averaged")->capture_default_str();
  cmd->add_option("--kid-subset-size", o.kid_subset_size, "KID: images per subset (capped by the smaller set)")->capture_default_str();
  cmd->add_option("--classifier", o.classifier, "Inception Score by: auto (inception when --features is), inception, digits or digits-ttf (trained on the fly on that digit set, 10-40 s), none")->capture_default_str();
  cmd->add_option("--classifier-weights", o.classifier_weights, "inception weight file for the IS when --features is another network");
  cmd->add_option("--is-splits", o.is_splits, "Inception Score: splits, mean and std over them (0 = 10, or the image count when smaller)")->capture_default_str();
  cmd->add_option("--backbone", o.backbone.name, "network of the per-image content loss and style distance")->capture_default_str();
  cmd->add_option("--backbone-weights", o.backbone.weights, "its weight file (VGGs)");
  cmd->add_option("--pooling", o.backbone.pooling, "VGG pooling: max or avg")->capture_default_str();
  cmd->add_option("--backbone-seed", o.backbone.seed, "seed of the random-multiscale backbone")->capture_default_str();
  cmd->add_option("--style-layers", f.style_layers, "style layers, name or name:weight, comma separated (the backbone's recipe)")->delimiter(',');
  cmd->add_option("--content-layers", f.content_layers, "content layers, name or name:weight (the backbone's recipe)")->delimiter(',');
  cmd->add_option("--normalisation", o.distances.normalisation, "loss normalisation: energy, gatys or mse (the backbone's recipe)");
  cmd->add_option("--ssim-channels", o.ssim.channels, "SSIM on luminance or per rgb channel")->capture_default_str();
  cmd->add_option("--seed", o.seed, "seed of the KID subsets and the IS shuffle")->capture_default_str();
  cmd->add_option("--csv", f.csv, "write one row per image (CSV with a header row)");
  cmd->add_option("--json", f.json, "write everything (set metrics, rows, means, options) as JSON");
  cmd->add_option("--device", o.device, "auto, cpu or cuda")->capture_default_str();
  add_threads_flag(*cmd, f.threads);

  cmd->callback([flags, &context] {
    auto& f = *flags;
    f.o.distances.style_layers = layer_weights_from_json(Json(f.style_layers), "style_layers");
    f.o.distances.content_layers = layer_weights_from_json(Json(f.content_layers), "content_layers");
    check_output_file(f.csv);
    check_output_file(f.json);
    if (!f.video.empty()) {
      if (!f.o.fake.empty()) throw OptionError("video", "evaluate a folder (--fake) or a video (--video), not both");
      run_video_evaluation(f, context);
      return;
    }
    if (f.o.fake.empty()) throw OptionError("fake", "give the folder of images to evaluate (--fake) or a video (--video)");
    EvaluationResult result;
    try {
      result = evaluate(f.o, context.callbacks(), trained_classifiers());
    } catch (const OptionError& e) {
      // FID's too-few-images message names the option that allows it; show it as the flag.
      const std::string option = "allow_rank_deficient";
      std::string detail = e.detail();
      const size_t at = detail.find(option);
      if (at == std::string::npos) throw;
      throw OptionError(e.option(), detail.replace(at, option.size(), "--allow-rank-deficient"));
    }
    if (result.interrupted) {
      std::fprintf(stderr, "interrupted after %zu of %lld images: no set metrics; nothing written\n", result.rows.size(),
                   static_cast<long long>(result.fake_images));
      context.exit_code = 130;
      return;
    }
    if (result.fid || result.kid || result.inception_score_fake) print_set_metrics(result);
    if (!result.backbone.empty()) {
      if (result.fid || result.kid || result.inception_score_fake) std::printf("\n");
      print_rows(result);
    }
    if (!f.csv.empty()) write_text_file(f.csv, evaluation_csv(result));
    if (!f.json.empty()) write_text_file(f.json, to_json(result).dump(2) + "\n");
    if (!context.quiet)
      std::fprintf(stderr, "evaluated %lld images in %.1f s%s%s%s%s\n", static_cast<long long>(result.fake_images), result.seconds,
                   f.csv.empty() ? "" : "; rows in ", f.csv.c_str(), f.json.empty() ? "" : "; everything in ", f.json.c_str());
  });
  return cmd;
}

}  // namespace impasto::cli
