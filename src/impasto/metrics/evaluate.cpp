#include "impasto/metrics/evaluate.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

#include "impasto/core/error.h"
#include "impasto/core/runtime.h"
#include "impasto/io/image.h"
#include "impasto/io/image_folder.h"
#include "impasto/io/image_ops.h"
#include "impasto/nn/inception.h"

namespace impasto {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The pairing key: the relative path without its extension.
std::string key_of(const std::string& relative) {
  const fs::path p(relative);
  return (p.parent_path() / p.stem()).generic_string();
}

std::string join_path(const std::string& folder, const std::string& relative) {
  return (fs::path(folder) / relative).string();
}

at::Tensor load_image(const std::string& path, const EvaluationOptions& o) {
  ImageReadOptions read;
  read.max_pixels = o.max_pixels;
  at::Tensor rgb = read_image(path, read).rgb;
  if (o.image_size > 0) {
    const auto [h, w] = fit_longest_side(rgb.size(2), rgb.size(3), o.image_size);
    if (h != rgb.size(2) || w != rgb.size(3)) rgb = resize_image(rgb, h, w);
  }
  return rgb;
}

c10::Device device_of(torch::nn::Module& module) {
  const auto params = module.parameters();
  return params.empty() ? torch::Device(torch::kCPU) : params.front().device();
}

FeatureMaps extract_features(BackboneImpl& backbone, const at::Tensor& image, const std::set<std::string>& taps) {
  torch::NoGradGuard no_grad;
  return backbone.extract(image.to(device_of(backbone), torch::kFloat32), taps);
}

// A network that cannot take an image (in practice: too small for its padding and pooling) fails
// inside LibTorch; this names the file and the size instead.
[[noreturn]] void throw_network_failure(const c10::Error& e, const std::string& network, const std::string& path,
                                        const at::Tensor& image) {
  std::string message = e.what_without_backtrace();
  message = message.substr(0, message.find('\n'));
  throw FormatError(path, "the " + network + " network cannot take this " + std::to_string(image.size(3)) + "x" +
                              std::to_string(image.size(2)) + " image (" + message +
                              "); use larger images or resize them with image_size");
}

std::set<std::string> names_of(const LayerWeights& layers) {
  std::set<std::string> names;
  for (const auto& [name, weight] : layers) names.insert(name);
  return names;
}

// `inception`'s 1008 logits as a classifier.
ImageClassifier inception_classifier(const Backbone& backbone) {
  ImageClassifier c;
  c.name = "inception";
  c.description = "pytorch-fid's Inception-v3: softmax over its 1008 logits";
  c.logits = [backbone](const at::Tensor& images) {
    return extract_features(*backbone, images, {"logits"}).at("logits").to(torch::kCPU, torch::kFloat32);
  };
  return c;
}

// Batches consecutive images of one size for the set metrics and keeps their features (FID, KID)
// and logits (IS), in order.
class SetPass {
 public:
  // `shared_inception`: the inception backbone is both the feature network and the classifier, so
  // one forward pass gives pool3 and logits.
  SetPass(FeatureNetwork* network, const ImageClassifier* classifier, Backbone shared_inception, int64_t batch_size)
      : network_(network), classifier_(classifier), shared_(std::move(shared_inception)), batch_size_(batch_size) {}

  bool active() const { return network_ != nullptr || classifier_ != nullptr; }

  // `path` names the image in errors.
  void add(const at::Tensor& image, const std::string& path) {
    if (!active()) return;
    if (!pending_.empty() && (pending_.front().sizes() != image.sizes() || static_cast<int64_t>(pending_.size()) >= batch_size_))
      flush();
    if (pending_.empty()) first_path_ = path;
    pending_.push_back(image);
  }

  void finish() { flush(); }

  at::Tensor features() const { return features_.empty() ? at::Tensor() : torch::cat(features_, 0); }
  at::Tensor logits() const { return logits_.empty() ? at::Tensor() : torch::cat(logits_, 0); }

 private:
  void flush() {
    if (pending_.empty()) return;
    const at::Tensor batch = torch::cat(pending_, 0);
    pending_.clear();
    std::string network = shared_ ? "inception" : (network_ ? network_->name() : classifier_->name);
    try {
      if (shared_) {
        FeatureMaps maps = extract_features(*shared_, batch, {"pool3", "logits"});
        features_.push_back(maps.at("pool3").to(torch::kCPU, torch::kFloat32));
        logits_.push_back(maps.at("logits").to(torch::kCPU, torch::kFloat32));
        return;
      }
      if (network_) features_.push_back(network_->features(batch));
      network = classifier_ ? classifier_->name : network;
      if (classifier_) logits_.push_back(classifier_->logits(batch).to(torch::kCPU, torch::kFloat32));
    } catch (const c10::Error& e) {
      throw_network_failure(e, network, first_path_, batch);
    }
  }

  FeatureNetwork* network_;
  const ImageClassifier* classifier_;
  Backbone shared_;
  int64_t batch_size_;
  std::vector<at::Tensor> pending_;
  std::string first_path_;
  std::vector<at::Tensor> features_, logits_;
};

// The Inception Score of logits whose rows are first shuffled with a seeded permutation (the files'
// sorted order need not be random, and IS cuts the rows into contiguous splits).
InceptionScoreResult shuffled_inception_score(const at::Tensor& logits, int64_t splits, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto order = at::randperm(logits.size(0), gen, torch::kLong);
  InceptionScoreOptions o;
  o.splits = splits;
  return inception_score_from_logits(logits.index_select(0, order), o);
}

// The "seconds" of the summary `<key>.json` that `impasto stylize` writes next to its output.
std::optional<double> made_seconds(const std::string& image_path, const Callbacks& callbacks) {
  const fs::path side = fs::path(image_path).replace_extension(".json");
  std::error_code ec;
  if (!fs::is_regular_file(side, ec)) return std::nullopt;
  std::ifstream in(side);
  try {
    const Json j = Json::parse(in);
    if (j.is_object() && j.contains("seconds") && j["seconds"].is_number()) return j["seconds"].get<double>();
  } catch (const Json::exception&) {
    callbacks.warn(side.string() + ": not valid JSON; its \"seconds\" (the time to make the image) are not reported");
  }
  return std::nullopt;
}

Json layers_to_json(const std::vector<std::pair<std::string, double>>& layers) {
  Json j = Json::object();
  for (const auto& [name, value] : layers) j[name] = value;
  return j;
}

Json optional_json(const std::optional<double>& v) { return v ? Json(*v) : Json(); }

Json score_json(const std::optional<InceptionScoreResult>& s) {
  if (!s) return Json();
  return Json{{"mean", s->mean}, {"std", s->std}, {"splits", s->splits}};
}

Json row_json(const EvaluationRow& row) {
  Json j = Json::object();
  j["name"] = row.name;
  if (!row.content.empty()) j["content"] = row.content;
  if (row.width > 0) {
    j["width"] = row.width;
    j["height"] = row.height;
  }
  if (row.ssim) j["ssim"] = *row.ssim;
  if (row.content_loss) {
    j["content_loss"] = *row.content_loss;
    j["content_layers"] = layers_to_json(row.content_layers);
  }
  if (row.style_distance) {
    j["style_distance"] = *row.style_distance;
    j["style_layers"] = layers_to_json(row.style_layers);
  }
  j["seconds"] = row.seconds;
  if (row.made_seconds) j["made_seconds"] = *row.made_seconds;
  return j;
}

// The mean of each value over the rows that have it (layer values by position: every row has the
// same layers).
EvaluationRow mean_row(const std::vector<EvaluationRow>& rows) {
  EvaluationRow mean;
  mean.name = "mean";
  if (rows.empty()) return mean;
  auto average = [&rows](auto get) -> std::optional<double> {
    double sum = 0;
    int64_t n = 0;
    for (const auto& r : rows) {
      const std::optional<double> v = get(r);
      if (v) {
        sum += *v;
        ++n;
      }
    }
    return n ? std::optional<double>(sum / static_cast<double>(n)) : std::nullopt;
  };
  auto average_layers = [&rows](auto get) {
    std::vector<std::pair<std::string, double>> out;
    const auto& first = get(rows.front());
    for (size_t k = 0; k < first.size(); ++k) {
      double sum = 0;
      int64_t n = 0;
      for (const auto& r : rows) {
        const auto& layers = get(r);
        if (k < layers.size()) {
          sum += layers[k].second;
          ++n;
        }
      }
      out.emplace_back(first[k].first, sum / static_cast<double>(n));
    }
    return out;
  };
  mean.ssim = average([](const EvaluationRow& r) { return r.ssim; });
  mean.content_loss = average([](const EvaluationRow& r) { return r.content_loss; });
  mean.style_distance = average([](const EvaluationRow& r) { return r.style_distance; });
  mean.content_layers = average_layers([](const EvaluationRow& r) -> const auto& { return r.content_layers; });
  mean.style_layers = average_layers([](const EvaluationRow& r) -> const auto& { return r.style_layers; });
  mean.seconds = *average([](const EvaluationRow& r) { return std::optional<double>(r.seconds); });
  mean.made_seconds = average([](const EvaluationRow& r) { return r.made_seconds; });
  return mean;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

bool has_content(const EvaluationResult& r) {
  return std::any_of(r.rows.begin(), r.rows.end(), [](const EvaluationRow& row) { return row.ssim.has_value(); });
}
bool has_style(const EvaluationResult& r) {
  return std::any_of(r.rows.begin(), r.rows.end(), [](const EvaluationRow& row) { return row.style_distance.has_value(); });
}
bool has_made_seconds(const EvaluationResult& r) {
  return std::any_of(r.rows.begin(), r.rows.end(), [](const EvaluationRow& row) { return row.made_seconds.has_value(); });
}

}  // namespace

// ---- folders and pairing ------------------------------------------------------------------------

std::vector<std::string> pair_with_content(const std::vector<std::string>& outputs, const std::vector<std::string>& contents,
                                           const std::string& content_folder) {
  std::map<std::string, std::string> by_key;
  for (const auto& c : contents) {
    const auto [it, inserted] = by_key.emplace(key_of(c), c);
    if (!inserted)
      throw OptionError("content", "two content images in " + content_folder + " have the name '" + it->first +
                                       "': " + it->second + " and " + c + "; keep one of them");
  }
  std::vector<std::string> paired;
  for (const auto& output : outputs) {
    const std::string key = key_of(output);
    auto it = by_key.find(key);
    // Else the longest key that is a prefix of the output's, ending where the output's has _ - or .
    for (size_t cut = key.size(); it == by_key.end() && cut-- > 0;)
      if (key[cut] == '_' || key[cut] == '-' || key[cut] == '.') it = by_key.find(key.substr(0, cut));
    if (it == by_key.end())
      throw OptionError("content", "no content image for " + output + " in " + content_folder + ": expected one named " +
                                       key + ".jpg/.png/.webp (or a prefix of that name ending before a _, - or .)");
    paired.push_back(it->second);
  }
  return paired;
}

// ---- options ------------------------------------------------------------------------------------

Json to_json(const EvaluationOptions& o) {
  Json j;
  j["fake"] = o.fake;
  j["real"] = o.real;
  j["content"] = o.content;
  j["style"] = o.style;
  j["recursive"] = o.recursive;
  j["image_size"] = o.image_size;
  j["max_pixels"] = o.max_pixels;
  j["features"] = o.features.name;
  j["weights"] = o.features.weights;
  j["features_seed"] = o.features.seed;
  j["batch_size"] = o.features.batch_size;
  j["allow_rank_deficient"] = o.allow_rank_deficient;
  j["kid_subsets"] = o.kid_subsets;
  j["kid_subset_size"] = o.kid_subset_size;
  j["classifier"] = o.classifier;
  j["classifier_weights"] = o.classifier_weights;
  j["is_splits"] = o.is_splits;
  j["backbone"] = o.backbone.name;
  j["backbone_weights"] = o.backbone.weights;
  j["pooling"] = o.backbone.pooling;
  j["backbone_seed"] = o.backbone.seed;
  j["style_layers"] = layers_to_json(o.distances.style_layers);
  j["content_layers"] = layers_to_json(o.distances.content_layers);
  j["normalisation"] = o.distances.normalisation;
  j["ssim_channels"] = o.ssim.channels;
  j["ssim_region"] = o.ssim.region;
  j["seed"] = o.seed;
  j["device"] = o.device;
  return j;
}

// ---- the evaluation -----------------------------------------------------------------------------

EvaluationResult evaluate(const EvaluationOptions& o, const Callbacks& callbacks, const ClassifierFactories& classifiers) {
  const auto start = Clock::now();
  EvaluationResult result;

  // Everything that can be checked before the expensive work, cheapest first.
  const std::vector<std::string> fake_files = list_image_files(o.fake, o.recursive, "fake");
  std::vector<std::string> real_files;
  if (!o.real.empty()) real_files = list_image_files(o.real, o.recursive, "real");
  std::vector<std::string> content_of;
  if (!o.content.empty()) content_of = pair_with_content(fake_files, list_image_files(o.content, o.recursive, "content"), o.content);
  at::Tensor style_image;
  if (!o.style.empty()) {
    ImageReadOptions read;
    read.max_pixels = o.max_pixels;
    style_image = read_image(o.style, read).rgb;  // FileError/FormatError naming the file
  }
  if (o.image_size < 0) throw OptionError("image_size", "must be >= 0 (0 keeps the sizes read)");
  if (o.features.batch_size < 1)
    throw OptionError("batch_size", "must be at least 1 (got " + std::to_string(o.features.batch_size) + ")");

  std::string classifier = o.classifier.empty() ? "auto" : o.classifier;
  if (classifier == "auto") classifier = o.features.name == "inception" ? "inception" : "none";
  if (classifier != "none" && classifier != "inception" && !classifiers.count(classifier)) {
    std::set<std::string> names{"auto", "inception", "none"};
    for (const auto& [name, factory] : classifiers) names.insert(name);
    std::string valid;
    for (const auto& n : names) valid += (valid.empty() ? "" : ", ") + n;
    throw OptionError("classifier", "unknown classifier '" + o.classifier + "'; valid: " + valid);
  }
  const bool want_fid = !o.real.empty();
  const bool want_is = classifier != "none";
  const bool want_rows = !o.content.empty() || !o.style.empty();
  if (!want_fid && !want_is && !want_rows)
    throw OptionError("fake", "nothing to compute for " + o.fake + ": give real images (FID, KID), content images (SSIM, "
                              "content loss), a style image (style distance) or a classifier (Inception Score)");
  const int64_t n_fake = static_cast<int64_t>(fake_files.size());
  const int64_t n_real = static_cast<int64_t>(real_files.size());
  if (want_fid) {
    if (o.kid_subsets < 1) throw OptionError("kid_subsets", "must be at least 1 (got " + std::to_string(o.kid_subsets) + ")");
    if (o.kid_subset_size < 2)
      throw OptionError("kid_subset_size", "must be at least 2 (got " + std::to_string(o.kid_subset_size) + ")");
  }
  const int64_t smallest_set = want_fid ? std::min(n_fake, n_real) : n_fake;
  const int64_t is_splits = o.is_splits == 0 ? std::min<int64_t>(10, smallest_set) : o.is_splits;
  if (want_is && (is_splits < 1 || is_splits > smallest_set))
    throw OptionError("is_splits", "must be between 1 and the number of images in each set (" + std::to_string(smallest_set) +
                                       "), or 0 for 10 or fewer; got " + std::to_string(o.is_splits));
  std::string inception_weights;
  if (classifier == "inception") {
    inception_weights = !o.classifier_weights.empty() ? o.classifier_weights
                                                      : (o.features.name == "inception" ? o.features.weights : "");
    // (With inception as the feature network, a missing file is the feature network's error, which
    // names its own option.)
    if (inception_weights.empty() && o.features.name != "inception")
      throw OptionError("classifier_weights", std::string("the inception classifier needs pytorch-fid's weight file (") +
                                                  kFidInceptionWeightsFile +
                                                  "; give it here, or use inception as the feature network with its weights)");
  }
  if (!o.content.empty()) {
    try {  // the SSIM options, on a blank image the smallest SSIM accepts
      ssim(torch::zeros({1, 3, 11, 11}), torch::zeros({1, 3, 11, 11}), o.ssim);
    } catch (const OptionError& e) {
      throw OptionError("ssim_" + e.option(), e.detail());
    }
  }
  const c10::Device device = resolve_device(o.device);

  // The networks: feature network (with the FID size check), per-image backbone, classifier.
  std::optional<FeatureNetwork> network;
  FidOptions fid_options;
  fid_options.allow_rank_deficient = o.allow_rank_deficient;
  if (want_fid) {
    try {
      network.emplace(o.features);
    } catch (const OptionError& e) {
      if (e.option() == "backbone") throw OptionError("features", e.detail());
      throw;
    }
    network->backbone()->to(device);
    result.feature_network = network->name();
    result.feature_dimensions = network->features(torch::zeros({1, 3, 64, 64})).size(1);
    const int64_t d = result.feature_dimensions;
    auto check_count = [&](int64_t n, const std::string& option, const std::string& folder) {
      if (n >= 2 && (n >= d + 1 || o.allow_rank_deficient)) return;
      try {
        feature_statistics(torch::zeros({n, d}), fid_options);  // throws its explanation for this n and d
      } catch (const OptionError& e) {
        throw OptionError(option, folder + " holds " + std::to_string(n) + " images; " + e.detail());
      }
    };
    check_count(n_fake, "fake", o.fake);
    check_count(n_real, "real", o.real);
    result.fid_rank_deficient = n_fake < d + 1 || n_real < d + 1;
  }

  Backbone backbone;
  PerceptualDistanceOptions distances;
  LossNormalisation normalisation = LossNormalisation::energy;
  std::set<std::string> taps;
  if (want_rows) {
    try {
      backbone = make_backbone(o.backbone);
    } catch (const OptionError& e) {
      if (e.option() == "weights") throw OptionError("backbone_weights", e.detail());
      throw;
    }
    backbone->to(device);
    distances = resolve_distance_options(*backbone, o.distances);
    normalisation = parse_normalisation(distances.normalisation);
    if (!o.content.empty()) taps = names_of(distances.content_layers);
    if (!o.style.empty())
      for (const auto& name : names_of(distances.style_layers)) taps.insert(name);
    result.backbone = backbone->name();
    result.distances = distances;
  }

  ImageClassifier scorer;
  Backbone shared_inception;
  if (classifier == "inception") {
    if (network && network->name() == "inception" && inception_weights == o.features.weights) {
      shared_inception = network->backbone();
      scorer = inception_classifier(shared_inception);
    } else {
      BackboneOptions b;
      b.name = "inception";
      b.weights = inception_weights;
      Backbone inception = make_backbone(b);
      inception->to(device);
      scorer = inception_classifier(inception);
    }
  } else if (want_is) {
    scorer = classifiers.at(classifier)(callbacks);
  }
  if (want_is) {
    result.classifier = scorer.name.empty() ? classifier : scorer.name;
    result.classifier_description = scorer.description;
  }

  result.options = to_json(o);
  result.options["classifier"] = classifier;
  result.options["is_splits"] = is_splits;
  if (want_rows) {
    result.options["backbone"] = backbone->name();
    result.options["style_layers"] = layers_to_json(distances.style_layers);
    result.options["content_layers"] = layers_to_json(distances.content_layers);
    result.options["normalisation"] = distances.normalisation;
  }
  result.fake_images = n_fake;
  result.real_images = n_real;

  FeatureNetwork* network_ptr = network ? &*network : nullptr;
  const ImageClassifier* scorer_ptr = want_is ? &scorer : nullptr;
  SetPass fake_pass(network_ptr, scorer_ptr, shared_inception, o.features.batch_size);
  SetPass real_pass(network_ptr, scorer_ptr, shared_inception, o.features.batch_size);

  // The fake images: per-image metrics, and their features/logits batched for the set metrics.
  std::map<std::pair<int64_t, int64_t>, std::map<std::string, at::Tensor>> style_targets;  // by output size
  for (int64_t i = 0; i < n_fake; ++i) {
    if (callbacks.stop_requested()) {
      result.interrupted = true;
      break;
    }
    const auto image_start = Clock::now();
    const std::string path = join_path(o.fake, fake_files[i]);
    EvaluationRow row;
    row.name = fake_files[i];
    const at::Tensor image = load_image(path, o);
    row.height = image.size(2);
    row.width = image.size(3);
    try {
      at::Tensor content;
      if (!o.content.empty()) {
        row.content = join_path(o.content, content_of[i]);
        content = load_image(row.content, o);
        const double aspect_image = static_cast<double>(row.width) / static_cast<double>(row.height);
        const double aspect_content = static_cast<double>(content.size(3)) / static_cast<double>(content.size(2));
        if (std::abs(aspect_image / aspect_content - 1.0) > 0.02)
          callbacks.warn(path + " (" + std::to_string(row.width) + "x" + std::to_string(row.height) + ") and its content image " +
                         row.content + " (" + std::to_string(content.size(3)) + "x" + std::to_string(content.size(2)) +
                         ") differ in aspect ratio; the content image is stretched to the output's size");
        if (content.size(2) != row.height || content.size(3) != row.width) content = resize_image(content, row.height, row.width);
        row.ssim = ssim(image, content, o.ssim)[0].item<double>();
      }
      FeatureMaps features;
      if (want_rows) features = extract_features(*backbone, image, taps);
      if (content.defined()) {
        const FeatureMaps content_features = extract_features(*backbone, content, names_of(distances.content_layers));
        const LayerDistances d = content_distance(features, content_features, distances.content_layers, normalisation);
        row.content_loss = d.total;
        row.content_layers = d.layers;
      }
      if (style_image.defined()) {
        auto it = style_targets.find({row.height, row.width});
        if (it == style_targets.end()) {
          const auto [sh, sw] = fit_longest_side(style_image.size(2), style_image.size(3), std::max(row.height, row.width));
          const at::Tensor style = (sh == style_image.size(2) && sw == style_image.size(3)) ? style_image
                                                                                            : resize_image(style_image, sh, sw);
          it = style_targets.emplace(std::make_pair(row.height, row.width), style_grams(*backbone, style, distances.style_layers)).first;
        }
        const LayerDistances d = style_distance(features, it->second, distances.style_layers, normalisation);
        row.style_distance = d.total;
        row.style_layers = d.layers;
      }
    } catch (const OptionError& e) {
      throw OptionError(e.option(), path + ": " + e.detail());
    } catch (const c10::Error& e) {
      throw_network_failure(e, backbone ? backbone->name() : "per-image", path, image);
    }
    row.seconds = seconds_since(image_start);
    row.made_seconds = made_seconds(path, callbacks);
    fake_pass.add(image, path);

    ProgressEvent event;
    event.stage = "evaluate " + o.fake;
    event.step = i + 1;
    event.total = n_fake;
    event.elapsed_s = seconds_since(start);
    if (row.ssim) event.metrics.emplace_back("ssim", *row.ssim);
    if (row.style_distance) event.metrics.emplace_back("style", *row.style_distance);
    callbacks.report(event);
    result.rows.push_back(std::move(row));
  }
  result.mean = mean_row(result.rows);

  // The real images: features/logits only.
  for (int64_t i = 0; i < n_real && !result.interrupted; ++i) {
    if (callbacks.stop_requested()) {
      result.interrupted = true;
      break;
    }
    const std::string path = join_path(o.real, real_files[i]);
    real_pass.add(load_image(path, o), path);
    ProgressEvent event;
    event.stage = "features of " + o.real;
    event.step = i + 1;
    event.total = n_real;
    event.elapsed_s = seconds_since(start);
    callbacks.report(event);
  }
  if (result.interrupted) {
    result.seconds = seconds_since(start);
    return result;
  }

  fake_pass.finish();
  real_pass.finish();
  if (want_fid) {
    const at::Tensor a = fake_pass.features(), b = real_pass.features();
    result.fid = fid(a, b, fid_options);
    KidOptions k;
    k.subsets = o.kid_subsets;
    k.subset_size = o.kid_subset_size;
    k.seed = o.seed;
    result.kid = kid(a, b, k);
  }
  if (want_is) {
    result.inception_score_fake = shuffled_inception_score(fake_pass.logits(), is_splits, o.seed);
    if (want_fid) result.inception_score_real = shuffled_inception_score(real_pass.logits(), is_splits, o.seed);
  }
  result.seconds = seconds_since(start);
  return result;
}

// ---- output -------------------------------------------------------------------------------------

std::vector<std::string> row_columns(const EvaluationResult& r) {
  std::vector<std::string> columns{"width", "height"};
  if (has_content(r)) {
    columns.push_back("ssim");
    columns.push_back("content_loss");
  }
  if (has_style(r)) {
    columns.push_back("style_distance");
    for (const auto& [name, weight] : r.distances.style_layers) columns.push_back("style_" + name);
  }
  columns.push_back("seconds");
  if (has_made_seconds(r)) columns.push_back("made_seconds");
  return columns;
}

std::vector<std::optional<double>> row_values(const EvaluationResult& r, const EvaluationRow& row) {
  std::vector<std::optional<double>> values;
  auto size = [](int64_t v) { return v > 0 ? std::optional<double>(static_cast<double>(v)) : std::nullopt; };
  values.push_back(size(row.width));
  values.push_back(size(row.height));
  if (has_content(r)) {
    values.push_back(row.ssim);
    values.push_back(row.content_loss);
  }
  if (has_style(r)) {
    values.push_back(row.style_distance);
    for (size_t k = 0; k < r.distances.style_layers.size(); ++k)
      values.push_back(k < row.style_layers.size() ? std::optional<double>(row.style_layers[k].second) : std::nullopt);
  }
  values.push_back(row.seconds);
  if (has_made_seconds(r)) values.push_back(row.made_seconds);
  return values;
}

std::string evaluation_csv(const EvaluationResult& r) {
  const bool content = has_content(r);
  std::string csv = "name";
  if (content) csv += ",content";
  for (const auto& c : row_columns(r)) csv += "," + csv_field(c);
  csv += "\n";
  for (const auto& row : r.rows) {
    csv += csv_field(row.name);
    if (content) csv += "," + csv_field(row.content);
    for (const auto& v : row_values(r, row)) {
      csv += ",";
      if (v) {
        char number[32];
        std::snprintf(number, sizeof number, "%.9g", *v);
        csv += number;
      }
    }
    csv += "\n";
  }
  return csv;
}

Json to_json(const EvaluationResult& r) {
  Json j;
  j["fake"] = {{"folder", r.options.value("fake", "")},
               {"images", r.fake_images},
               {"inception_score", score_json(r.inception_score_fake)}};
  j["real"] = r.options.value("real", "").empty()
                  ? Json()
                  : Json{{"folder", r.options.value("real", "")},
                         {"images", r.real_images},
                         {"inception_score", score_json(r.inception_score_real)}};
  j["features"] = r.feature_network.empty() ? Json()
                                            : Json{{"network", r.feature_network}, {"dimensions", r.feature_dimensions}};
  j["fid"] = optional_json(r.fid);
  j["fid_rank_deficient"] = r.fid ? Json(r.fid_rank_deficient) : Json();
  j["kid"] = r.kid ? Json{{"mean", r.kid->mean}, {"std", r.kid->std}, {"subsets", r.kid->subsets}, {"subset_size", r.kid->subset_size}}
                   : Json();
  j["classifier"] = r.classifier.empty() ? Json() : Json{{"name", r.classifier}, {"description", r.classifier_description}};
  j["per_image"] = r.backbone.empty() ? Json()
                                      : Json{{"backbone", r.backbone},
                                             {"normalisation", r.distances.normalisation},
                                             {"content_layers", layers_to_json(r.distances.content_layers)},
                                             {"style_layers", layers_to_json(r.distances.style_layers)},
                                             {"content", r.options.value("content", "")},
                                             {"style", r.options.value("style", "")}};
  Json rows = Json::array();
  for (const auto& row : r.rows) rows.push_back(row_json(row));
  j["rows"] = rows;
  j["mean"] = row_json(r.mean);
  j["options"] = r.options;
  j["interrupted"] = r.interrupted;
  j["seconds"] = r.seconds;
  return j;
}

}  // namespace impasto
