#include "impasto/data/dataset.h"

#include <torch/torch.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <map>
#include <mutex>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <set>
#include <system_error>

#include "impasto/core/error.h"
#include "impasto/data/batch_stream.h"
#include "impasto/io/image.h"

namespace impasto {
namespace {

namespace fs = std::filesystem;
using data_detail::SampleRng;

// ---- options -------------------------------------------------------------------------------------

void validate(const DatasetOptions& o) {
  const bool has_folder = !o.folder.empty(), has_synthetic = !o.synthetic.empty();
  if (!has_folder && !has_synthetic)
    throw OptionError("data", "no training data given: name an image folder or a synthetic dataset (synthetic)");
  if (has_folder && has_synthetic)
    throw OptionError("data", "give either an image folder or a synthetic dataset, not both (synthetic = '" +
                                  o.synthetic + "')");
  if (has_synthetic) {
    const auto names = synthetic_dataset_names();
    if (std::find(names.begin(), names.end(), o.synthetic) == names.end()) {
      std::string list;
      for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
      throw OptionError("synthetic", "unknown synthetic dataset '" + o.synthetic + "'; valid: " + list);
    }
  }
  if (o.size < 8 || o.size > 4096) throw OptionError("size", "must be in 8..4096 (got " + std::to_string(o.size) + ")");
  if (o.channels != 1 && o.channels != 3)
    throw OptionError("channels", "must be 1 (grey) or 3 (RGB) (got " + std::to_string(o.channels) + ")");
  if (o.crop != "center" && o.crop != "random")
    throw OptionError("crop", "unknown value '" + o.crop + "'; valid: center, random");
  const auto modes = preprocess_names();
  if (std::find(modes.begin(), modes.end(), o.preprocess) == modes.end()) {
    std::string list;
    for (const auto& m : modes) list += (list.empty() ? "" : ", ") + m;
    throw OptionError("preprocess", "unknown value '" + o.preprocess + "'; valid: " + list);
  }
  if (o.load_size != 0 && (o.load_size < o.size || o.load_size > 16384))
    throw OptionError("load_size", "must be 0 (= the crop size) or in " + std::to_string(o.size) +
                                       "..16384: at least the crop size (got " + std::to_string(o.load_size) + ")");
  if (o.hold_out < 0) throw OptionError("hold_out", "must be >= 0 (got " + std::to_string(o.hold_out) + ")");
  if (o.held_out_only && o.hold_out == 0) throw OptionError("hold_out", "a stream of the held-out files needs hold_out > 0");
  if (o.hold_out > 0 && has_synthetic) throw OptionError("hold_out", "only image folders hold files out");
  if (o.batch_size < 1 || o.batch_size > 65536)
    throw OptionError("batch_size", "must be in 1..65536 (got " + std::to_string(o.batch_size) + ")");
  if (o.workers < 0 || o.workers > 64)
    throw OptionError("workers", "must be in 0..64 (0 = decode on the training thread; got " +
                                     std::to_string(o.workers) + ")");
  if (o.queue_batches < 1 || o.queue_batches > 1024)
    throw OptionError("queue_batches", "must be in 1..1024 (got " + std::to_string(o.queue_batches) + ")");
  if (o.world_size < 1) throw OptionError("world_size", "must be >= 1 (got " + std::to_string(o.world_size) + ")");
  if (o.rank < 0 || o.rank >= o.world_size)
    throw OptionError("rank", "must be in 0.." + std::to_string(o.world_size - 1) + " (got " + std::to_string(o.rank) + ")");
}

// ---- image folders -----------------------------------------------------------------------------

bool image_extension(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".webp";
}

std::vector<std::string> scan_folder(const std::string& folder) {
  std::error_code ec;
  const fs::file_status status = fs::status(folder, ec);
  if (!fs::exists(status)) throw FileError(folder, "no such folder");
  if (!fs::is_directory(status)) throw FileError(folder, "not a folder; expected a folder of images");
  std::vector<std::string> files;
  fs::recursive_directory_iterator it(folder, fs::directory_options::follow_directory_symlink |
                                                  fs::directory_options::skip_permission_denied, ec);
  if (ec) throw FileError(folder, "cannot list: " + ec.message());
  for (const fs::recursive_directory_iterator end; it != end; it.increment(ec)) {
    if (ec) throw FileError(folder, "cannot list: " + ec.message());
    std::error_code fec;
    if (it->is_regular_file(fec) && image_extension(it->path())) files.push_back(it->path().string());
  }
  // Sorted so that the order (and so every sample) does not depend on the file system.
  std::sort(files.begin(), files.end());
  return files;
}

// How a folder image becomes a sample (DatasetOptions::preprocess).
struct Preprocess {
  std::string mode;
  int size = 0;   // crop side
  int load = 0;   // L
  bool random_crop = false;
  bool flip = false;
};

// The size an h x w image is resized to before the crop, by the mode (each side at least the crop).
std::pair<int, int> resized_size(int h, int w, const Preprocess& p) {
  const int L = p.load, S = p.size;
  if (p.mode == "resize_and_crop") return {L, L};
  if (p.mode == "scale_width_and_crop")
    return {std::max(S, static_cast<int>(std::lround(static_cast<double>(h) * L / w))), L};
  if (p.mode == "crop") {
    if (std::min(h, w) >= S) return {h, w};
    const double scale = static_cast<double>(S) / std::min(h, w);
    return {std::max(S, static_cast<int>(std::lround(h * scale))), std::max(S, static_cast<int>(std::lround(w * scale)))};
  }
  // scale_shortside_and_crop
  const double scale = static_cast<double>(L) / std::min(h, w);
  const int nh = h <= w ? L : std::max(L, static_cast<int>(std::lround(h * scale)));
  const int nw = w < h ? L : std::max(L, static_cast<int>(std::lround(w * scale)));
  return {nh, nw};
}

// Resize (area averaging when shrinking both sides, clamped bicubic otherwise), then a size x size
// crop and an optional flip; returns HWC float, 1 or 3 channels.
cv::Mat preprocess_image(const cv::Mat& image, const Preprocess& p, SampleRng& rng) {
  const int h = image.rows, w = image.cols, size = p.size;
  const auto [nh, nw] = resized_size(h, w, p);
  cv::Mat resized;
  if (nh == h && nw == w) {
    resized = image;
  } else if (nh <= h && nw <= w) {
    cv::resize(image, resized, cv::Size(nw, nh), 0, 0, cv::INTER_AREA);
  } else {
    cv::resize(image, resized, cv::Size(nw, nh), 0, 0, cv::INTER_CUBIC);
    cv::Mat flat = resized.reshape(1);  // bicubic overshoots: clamp every channel to [0,1]
    cv::max(flat, 0.0, flat);
    cv::min(flat, 1.0, flat);
  }
  // The draws happen whether or not they are used, so a sample's randomness never shifts.
  const int64_t rx = rng.below(nw - size + 1), ry = rng.below(nh - size + 1);
  const bool mirror = rng.chance(0.5);
  const int x = p.random_crop ? static_cast<int>(rx) : (nw - size) / 2;
  const int y = p.random_crop ? static_cast<int>(ry) : (nh - size) / 2;
  cv::Mat crop = resized(cv::Rect(x, y, size, size));
  cv::Mat out;
  if (p.flip && mirror) {
    cv::flip(crop, out, 1);
  } else {
    out = crop.clone();
  }
  return out;
}

// The files a stream holds out (DatasetOptions::hold_out): k of n, evenly spread, floor((j + 1/2) n / k).
std::vector<bool> held_out_files(size_t n, int64_t k) {
  std::vector<bool> held(n, false);
  for (int64_t j = 0; j < k; ++j)
    held[static_cast<size_t>((2 * j + 1) * static_cast<int64_t>(n) / (2 * k))] = true;
  return held;
}

class FolderSource final : public data_detail::SampleSource {
 public:
  FolderSource(const DatasetOptions& options, Callbacks callbacks)
      : folder_(options.folder),
        size_(static_cast<int>(options.size)),
        channels_(static_cast<int>(options.channels)),
        seed_(options.seed),
        callbacks_(std::move(callbacks)) {
    preprocess_.mode = options.preprocess;
    preprocess_.size = static_cast<int>(options.size);
    preprocess_.load = static_cast<int>(options.load_size > 0 ? options.load_size : options.size);
    preprocess_.random_crop = options.crop == "random";
    preprocess_.flip = options.flip;
    files_ = scan_folder(folder_);
    if (files_.empty())
      throw FormatError(folder_, "no image files (.jpg .jpeg .png .webp) in the folder or its subfolders");
    if (options.hold_out > 0) {
      if (options.hold_out >= static_cast<int64_t>(files_.size()))
        throw OptionError("hold_out", "cannot hold out " + std::to_string(options.hold_out) + " of the " +
                                          std::to_string(files_.size()) + " images of " + folder_ + ": none would be left");
      const std::vector<bool> held = held_out_files(files_.size(), options.hold_out);
      std::vector<std::string> kept;
      for (size_t i = 0; i < files_.size(); ++i)
        if (held[i] == options.held_out_only) kept.push_back(files_[i]);
      held_out_ = options.held_out_only ? 0 : options.hold_out;
      files_ = std::move(kept);
    }
    bad_.assign(files_.size(), false);
    // Fail now, not in a worker later, when nothing decodes: try files in order until one does.
    for (size_t i = 0; i < files_.size(); ++i) {
      try {
        read_image(files_[i]);
        return;
      } catch (const Error& e) {
        mark_bad(i, e.what());
      }
    }
    throw FormatError(folder_, "none of the " + std::to_string(files_.size()) + " image files can be decoded");
  }

  std::vector<int64_t> sample_shape() const override { return {channels_, size_, size_}; }
  int64_t num_classes() const override { return 0; }
  std::string describe() const override {
    return "folder " + folder_ + " (" + std::to_string(files_.size()) + " images" +
           (held_out_ ? ", " + std::to_string(held_out_) + " more held out" : "") + ")";
  }
  DatasetStats stats() const override {
    DatasetStats s;
    s.files = static_cast<int64_t>(files_.size());
    std::lock_guard<std::mutex> lock(mutex_);
    s.skipped = skipped_;
    return s;
  }

  // Sample `index` is file perm_e[index % n] of epoch e = index / n; a file that does not decode
  // is replaced by the next one in the same permutation that does, so the sample stays a pure
  // function of the index (given the folder's contents).
  void fill(int64_t index, float* out, int64_t* label) override {
    const int64_t n = static_cast<int64_t>(files_.size());
    const auto perm = permutation(index / n);
    const int64_t position = index % n;
    for (int64_t k = 0; k < n; ++k) {
      const size_t file = static_cast<size_t>((*perm)[size_t((position + k) % n)]);
      if (is_bad(file)) continue;
      cv::Mat image;
      try {
        image = load(file);
      } catch (const Error& e) {
        mark_bad(file, e.what());
        continue;
      }
      SampleRng rng(sample_seed(seed_, static_cast<uint64_t>(index)));
      const cv::Mat sample = preprocess_image(image, preprocess_, rng);
      data_detail::write_planar(sample.ptr<float>(), size_, size_, sample.channels(), channels_, out);
      *label = 0;
      return;
    }
    throw FormatError(folder_, "none of the " + std::to_string(n) + " image files can be decoded any more");
  }

 private:
  // The file as HWC float in [0,1]: RGB, or its channel mean when the dataset is grey.
  cv::Mat load(size_t file) const {
    const Image image = read_image(files_[file]);
    const at::Tensor rgb = image.rgb.contiguous();
    const int h = static_cast<int>(rgb.size(2)), w = static_cast<int>(rgb.size(3));
    float* data = rgb.data_ptr<float>();
    const size_t plane = size_t(h) * size_t(w);
    std::vector<cv::Mat> planes;
    for (int c = 0; c < 3; ++c) planes.emplace_back(h, w, CV_32F, data + c * plane);
    cv::Mat out;
    if (channels_ == 1) {
      out = (planes[0] + planes[1] + planes[2]) / 3.0;  // grey before resizing: a third of the work
    } else {
      cv::merge(planes, out);
    }
    return out;
  }

  bool is_bad(size_t file) const {
    std::lock_guard<std::mutex> lock(mutex_);
    return bad_[file];
  }

  // Remembers a file that does not decode (never retried) and warns once.
  void mark_bad(size_t file, const std::string& reason) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (bad_[file]) return;
      bad_[file] = true;
      ++skipped_;
    }
    const std::string what = reason.rfind(files_[file], 0) == 0 ? reason : files_[file] + ": " + reason;
    callbacks_.warn("skipping unreadable image " + what);
  }

  // The file order of epoch e: a Fisher-Yates shuffle seeded by (seed, e). A few recent epochs
  // are cached (a batch may straddle two).
  std::shared_ptr<const std::vector<int64_t>> permutation(int64_t epoch) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = permutations_.find(epoch);
      if (it != permutations_.end()) return it->second;
    }
    const int64_t n = static_cast<int64_t>(files_.size());
    auto perm = std::make_shared<std::vector<int64_t>>(size_t(n));
    for (int64_t i = 0; i < n; ++i) (*perm)[size_t(i)] = i;
    // A seed stream apart from the per-sample seeds: sample_seed(seed, 2^64 - 1) as the base.
    SampleRng rng(sample_seed(sample_seed(seed_, ~uint64_t(0)), static_cast<uint64_t>(epoch)));
    for (int64_t i = n - 1; i > 0; --i) std::swap((*perm)[size_t(i)], (*perm)[size_t(rng.below(i + 1))]);
    std::lock_guard<std::mutex> lock(mutex_);
    permutations_[epoch] = perm;
    while (permutations_.size() > 4) {  // drop the epoch furthest from this one
      auto first = permutations_.begin(), last = std::prev(permutations_.end());
      permutations_.erase(epoch - first->first > last->first - epoch ? first : last);
    }
    return perm;
  }

  std::string folder_;
  int64_t size_;
  int64_t channels_;
  Preprocess preprocess_;
  int64_t held_out_ = 0;
  uint64_t seed_;
  Callbacks callbacks_;
  std::vector<std::string> files_;

  mutable std::mutex mutex_;
  std::vector<bool> bad_;
  int64_t skipped_ = 0;
  std::map<int64_t, std::shared_ptr<const std::vector<int64_t>>> permutations_;
};

}  // namespace

uint64_t sample_seed(uint64_t seed, uint64_t index) {
  // The index-th output of a splitmix64 stream whose state starts at mix(seed).
  constexpr uint64_t kGolden = 0x9E3779B97F4A7C15ULL;
  return data_detail::mix64(data_detail::mix64(seed) + (index + 1) * kGolden);
}

std::vector<std::string> preprocess_names() {
  return {"scale_shortside_and_crop", "resize_and_crop", "scale_width_and_crop", "crop"};
}

std::vector<std::string> synthetic_dataset_names() { return {"ring8", "digits", "digits-paper", "digits-neon", "digits-ttf", "textures"}; }

at::Tensor ring8_modes() {
  auto modes = at::empty({8, 2}, at::TensorOptions().dtype(at::kFloat));
  auto m = modes.accessor<float, 2>();
  for (int k = 0; k < 8; ++k) {
    const double angle = 2.0 * M_PI * k / 8.0;
    m[k][0] = static_cast<float>(kRingRadius * std::cos(angle));
    m[k][1] = static_cast<float>(kRingRadius * std::sin(angle));
  }
  return modes;
}

std::unique_ptr<Dataset> make_dataset(const DatasetOptions& options, const Callbacks& callbacks) {
  validate(options);
  std::unique_ptr<data_detail::SampleSource> source;
  if (!options.folder.empty()) {
    source = std::make_unique<FolderSource>(options, callbacks);
  } else {
    source = data_detail::make_synthetic_source(options);
  }
  return std::make_unique<data_detail::BatchStream>(options, std::move(source));
}

}  // namespace impasto
