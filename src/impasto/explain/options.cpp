// ExplainOptions <-> JSON and their checks.
#include <cmath>

#include "impasto/core/error.h"
#include "impasto/explain/explain.h"

namespace impasto::explain {

ExplainOptions ExplainOptions::quick() {
  ExplainOptions o;
  o.ablation = false;
  o.sweeps = false;
  o.analysis_size = 256;
  o.deletion_trials = 1;
  o.gallery_iterations = 30;
  o.gallery_size = 128;
  return o;
}

void to_json(Json& j, const ExplainOptions& o) {
  j = Json{{"ablation", o.ablation},
           {"sweeps", o.sweeps},
           {"gallery_iterations", o.gallery_iterations},
           {"gallery_size", o.gallery_size},
           {"style_weight_factors", o.style_weight_factors},
           {"style_scale_factors", o.style_scale_factors},
           {"strengths", o.strengths},
           {"input_scales", o.input_scales},
           {"analysis_size", o.analysis_size},
           {"deletion_fraction", o.deletion_fraction},
           {"deletion_mode", o.deletion_mode},
           {"deletion_trials", o.deletion_trials},
           {"deletion_region", o.deletion_region},
           {"gram_channels", o.gram_channels},
           {"gram_differences", o.gram_differences},
           {"map_cells", o.map_cells},
           {"style_images", o.style_images},
           {"loss", o.loss},
           {"discriminator", o.discriminator},
           {"latent_strips", o.latent_strips},
           {"latent_steps", o.latent_steps},
           {"traversal_dims", o.traversal_dims},
           {"traversal_steps", o.traversal_steps},
           {"traversal_range", o.traversal_range},
           {"ema", o.ema},
           {"seed", o.seed},
           {"device", o.device}};
}

ExplainOptions explain_options_from_json(const Json& j) {
  ExplainOptions o;
  JsonReader r(j);
  r.get("ablation", o.ablation).get("sweeps", o.sweeps).get("gallery_iterations", o.gallery_iterations);
  r.get("gallery_size", o.gallery_size).get("style_weight_factors", o.style_weight_factors);
  r.get("style_scale_factors", o.style_scale_factors).get("strengths", o.strengths).get("input_scales", o.input_scales);
  r.get("analysis_size", o.analysis_size).get("deletion_fraction", o.deletion_fraction);
  r.get("deletion_mode", o.deletion_mode).get("deletion_trials", o.deletion_trials).get("deletion_region", o.deletion_region);
  r.get("gram_channels", o.gram_channels).get("gram_differences", o.gram_differences).get("map_cells", o.map_cells);
  r.get("style_images", o.style_images).get("loss", o.loss).get("discriminator", o.discriminator);
  r.get("latent_strips", o.latent_strips).get("latent_steps", o.latent_steps).get("traversal_dims", o.traversal_dims);
  r.get("traversal_steps", o.traversal_steps).get("traversal_range", o.traversal_range).get("ema", o.ema);
  r.get("seed", o.seed).get("device", o.device);
  r.reject_unknown();
  return o;
}

namespace {

void check_positive_list(const std::vector<double>& values, const std::string& option, double hi) {
  for (double v : values)
    if (!(std::isfinite(v) && v > 0 && v <= hi))
      throw OptionError(option, "every value must be in (0, " + std::to_string(static_cast<int>(hi)) + "]");
}

}  // namespace

void check_explain_options(const ExplainOptions& o) {
  if (o.gallery_iterations < 1 || o.gallery_iterations > 100000) throw OptionError("gallery_iterations", "must be in 1..100000");
  if (o.gallery_size < 0 || o.gallery_size > 4096) throw OptionError("gallery_size", "must be in 0..4096 (0 = the result's size)");
  if (o.analysis_size != 0 && (o.analysis_size < 16 || o.analysis_size > 8192))
    throw OptionError("analysis_size", "must be 0 (as is) or in 16..8192");
  check_positive_list(o.style_weight_factors, "style_weight_factors", 1000);
  check_positive_list(o.style_scale_factors, "style_scale_factors", 16);
  check_positive_list(o.input_scales, "input_scales", 8);
  for (double s : o.strengths)
    if (!(s >= 0 && s <= 1)) throw OptionError("strengths", "every value must be in 0..1");
  if (!(o.deletion_fraction > 0 && o.deletion_fraction < 1)) throw OptionError("deletion_fraction", "must be in (0, 1)");
  if (o.deletion_mode != "blur" && o.deletion_mode != "grey")
    throw OptionError("deletion_mode", "unknown value '" + o.deletion_mode + "'; valid: blur, grey");
  if (o.deletion_trials < 1 || o.deletion_trials > 100) throw OptionError("deletion_trials", "must be in 1..100");
  if (o.deletion_region < 1 || o.deletion_region > 256) throw OptionError("deletion_region", "must be in 1..256");
  if (o.gram_channels < 2 || o.gram_channels > 1024) throw OptionError("gram_channels", "must be in 2..1024");
  if (o.gram_differences < 0 || o.gram_differences > 1000) throw OptionError("gram_differences", "must be in 0..1000");
  if (o.map_cells < 1 || o.map_cells > 256) throw OptionError("map_cells", "must be in 1..256");
  if (!o.loss.is_object()) throw OptionError("loss", "must be a JSON object of gatys options");
  if (o.latent_strips < 1 || o.latent_strips > 64) throw OptionError("latent_strips", "must be in 1..64");
  if (o.latent_steps < 2 || o.latent_steps > 64) throw OptionError("latent_steps", "must be in 2..64");
  if (o.traversal_dims < 1 || o.traversal_dims > 256) throw OptionError("traversal_dims", "must be in 1..256");
  if (o.traversal_steps < 2 || o.traversal_steps > 64) throw OptionError("traversal_steps", "must be in 2..64");
  if (!(o.traversal_range > 0 && o.traversal_range <= 10)) throw OptionError("traversal_range", "must be in (0, 10]");
}

}  // namespace impasto::explain
