#pragma once
// Evaluation of a folder of images (stylized outputs or generated samples): the library side of
// `impasto eval`. It computes, as asked,
//   - set metrics: FID and KID of the `fake` folder against a `real` folder through a feature network
//     chosen by name (metrics/fid.h), and the Inception Score of each set through a classifier
//     (metrics/inception_score.h: `inception`'s 1008 logits, or a classifier the caller provides,
//     such as the digit classifier trained on the fly, train/eval_classifiers.h);
//   - per image: SSIM and content distance against its content image, style distance against one
//     style image (metrics/ssim.h, metrics/style_distance.h), and the time each took.
// It reads files and reports progress through Callbacks; it never prints. Front ends format the
// result (to_json, evaluation_csv).
//
// Folders. Image files are those ending in .jpg .jpeg .png .webp (any case), taken from the folder
// itself (with `recursive` also from its subfolders, named by their path relative to the folder) in
// sorted order. Other files are ignored, and so are the loss charts `impasto stylize` writes next to
// its outputs (`*.losses.png`). A file with an image extension that cannot be read is an error naming
// it (FileError/FormatError): evaluation numbers must be over exactly the images given, so nothing is
// skipped. A missing or empty folder is an OptionError naming the folder's option.
//
// Sizes. With image_size > 0 every image is first resized so its longest side is image_size (aspect
// kept), as `impasto stylize --image-size` does; 0 keeps the sizes read. Set metrics accept images of
// different sizes (features are spatial means, or Inception resizes to 299 itself); consecutive
// images of one size are batched. A content image is resized to its output's exact size before SSIM
// and the content distance (with a warning when the aspect ratios differ by more than 2%). The style
// image is resized so its longest side equals the output's (as stylize does with style_scale 1); its
// Grams are computed once per output size.
//
// Pairing outputs with content images, by name: the key of a file is its path relative to its
// folder without the extension. An output pairs with the content image of the same key; failing
// that, with the content image of the longest key K such that the output's key starts with K
// followed by '_', '-' or '.' (so `photo_starry.png` pairs with `photo.jpg`). An output without a
// content image, or two content images with one key (`a.jpg`, `a.png`), is an OptionError("content")
// naming the files.
//
// Time. `seconds` per row is the wall time of that image's own work: reading it (and its content
// image), resizing, SSIM and the distances; the batched feature and classifier passes of the set
// metrics are shared and not included. `made_seconds` is the time it took to make the image when a
// side file `<key>.json` next to it (as `impasto stylize` writes) has a numeric "seconds".
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "impasto/core/json_options.h"
#include "impasto/core/log.h"
#include "impasto/io/image_folder.h"  // list_image_files
#include "impasto/metrics/fid.h"
#include "impasto/metrics/inception_score.h"
#include "impasto/metrics/ssim.h"
#include "impasto/metrics/style_distance.h"
#include "impasto/nn/backbone.h"

namespace impasto {

struct EvaluationOptions {
  std::string fake;     // required: the folder of images to evaluate
  std::string real;     // reference images: FID and KID of fake against them (and their IS)
  std::string content;  // content images, paired with the fake images by name: SSIM, content loss
  std::string style;    // one style image: the style distance of every fake image
  bool recursive = false;
  int64_t image_size = 0;           // longest side every image is resized to first; 0 = as read
  int64_t max_pixels = 64'000'000;  // larger files are refused from their header (LimitError)

  // FID and KID (when `real` is given).
  FeatureNetworkOptions features;     // name, weights, seed, batch_size
  bool allow_rank_deficient = false;  // FidOptions: allow fewer images than feature dimensions + 1
  int64_t kid_subsets = 100;
  int64_t kid_subset_size = 1000;     // capped by the smaller set

  // Inception Score of each set: `auto` (inception when the feature network is inception, else
  // none), `inception`, `none`, or the name of a classifier passed to evaluate() (e.g. `digits`).
  std::string classifier = "auto";
  std::string classifier_weights;  // inception's weight file when features are not inception's
  // Splits; 0 = 10 (the convention), or fewer for a set of fewer than 10 images. Rows are shuffled
  // (seeded) before they are cut into splits.
  int64_t is_splits = 0;

  // Per-image distances (when `content` or `style` is given): the backbone and its layers.
  BackboneOptions backbone;
  PerceptualDistanceOptions distances;  // empty fields: the backbone's recipe
  SsimOptions ssim;

  uint64_t seed = 0;  // KID subsets and the IS shuffle
  std::string device = "auto";
};

Json to_json(const EvaluationOptions& options);

// A classifier for the Inception Score: canonical images [N,3,H,W] -> logits [N, classes] (CPU).
struct ImageClassifier {
  std::string name;
  std::string description;  // shown with the scores, e.g. how it was trained and its accuracy
  std::function<at::Tensor(const at::Tensor&)> logits;
};
// Made only when asked for (training one may take seconds); receives evaluate()'s callbacks.
using ClassifierFactory = std::function<ImageClassifier(const Callbacks&)>;
using ClassifierFactories = std::map<std::string, ClassifierFactory>;

struct EvaluationRow {
  std::string name;     // path relative to the fake folder ("mean" for the mean row)
  std::string content;  // path of the paired content image, "" without content images
  int64_t width = 0, height = 0;  // as evaluated
  std::optional<double> ssim;
  std::optional<double> content_loss;  // content distance, total over the content layers
  std::vector<std::pair<std::string, double>> content_layers;
  std::optional<double> style_distance;  // total over the style layers
  std::vector<std::pair<std::string, double>> style_layers;
  double seconds = 0;
  std::optional<double> made_seconds;
};

struct EvaluationResult {
  Json options;  // the effective options (to_json of the options, defaults resolved)
  int64_t fake_images = 0, real_images = 0;

  // Set metrics (present when computed).
  std::string feature_network;
  int64_t feature_dimensions = 0;
  std::optional<double> fid;
  bool fid_rank_deficient = false;  // fewer images than feature dimensions + 1 in a set
  std::optional<KidResult> kid;
  std::string classifier;  // "" without IS
  std::string classifier_description;
  std::optional<InceptionScoreResult> inception_score_fake, inception_score_real;

  // Per-image metrics: one row per fake image, in file order, and their means.
  std::string backbone;  // "" without per-image distances
  PerceptualDistanceOptions distances;  // resolved
  std::vector<EvaluationRow> rows;
  EvaluationRow mean;

  bool interrupted = false;  // stopped through Callbacks::should_stop: rows so far, no set metrics
  double seconds = 0;
};

// Runs the evaluation. Checks everything it can before the expensive work: the folders, the pairing,
// the style image, names (features, classifier, backbone, layers), the KID and IS options, and
// whether FID has enough images for the feature dimension (the error of feature_statistics, under
// the option of the set that is too small) -- then trains or loads the classifier and reads the
// images. `classifiers` adds classifiers by name for the Inception Score.
EvaluationResult evaluate(const EvaluationOptions& options, const Callbacks& callbacks = {},
                          const ClassifierFactories& classifiers = {});

// For each output (relative path) the relative path of its content image, by the rule above.
std::vector<std::string> pair_with_content(const std::vector<std::string>& outputs, const std::vector<std::string>& contents,
                                           const std::string& content_folder);

// The per-image numeric columns present in the result (e.g. width, height, ssim, content_loss,
// style_distance, style:<layer>..., seconds, made_seconds) and a row's values for them.
std::vector<std::string> row_columns(const EvaluationResult& result);
std::vector<std::optional<double>> row_values(const EvaluationResult& result, const EvaluationRow& row);

// Everything, as JSON: set metrics, the classifier, per-image rows, their mean, the options.
Json to_json(const EvaluationResult& result);
// One header line (name[, content], then row_columns) and one line per image; empty cells for values
// not computed.
std::string evaluation_csv(const EvaluationResult& result);

}  // namespace impasto
