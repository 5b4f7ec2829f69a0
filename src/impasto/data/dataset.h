#pragma once
// Training data as a stream of batches.
//
// Determinism (what makes `--resume` and data-parallel training exact): every sample is a pure
// function of (seed, global sample index). Global batch b holds the samples with indices
// [b * B * W, (b + 1) * B * W) for per-process batch size B and W processes; process `rank` takes
// the slice [rank * B, (rank + 1) * B) of it. So a run resumed at batch b sees exactly what the
// uninterrupted run saw, and W processes with batch B together see what one process with batch
// B * W sees. For image folders, epoch e = index / n visits the files in a permutation seeded by
// (seed, e); random crops and flips are seeded by (seed, index).
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "impasto/core/log.h"

namespace impasto {

struct Batch {
  at::Tensor samples;  // images [B,C,H,W] float32 RGB in [0,1]; points [B,D]
  at::Tensor labels;   // [B] int64 class labels when the dataset has classes, else undefined
};

struct DatasetOptions {
  std::string folder;             // image folder (recursive; .jpg .jpeg .png .webp), or
  std::string synthetic;          // ring8 | digits | digits-paper | digits-neon | digits-ttf | textures (see synthetic_dataset_names())
  int64_t size = 64;              // images: output side (square)
  int64_t channels = 3;           // images: 3 (RGB) or 1 (grey)
  std::string crop = "center";    // images from a folder: center | random position of the crop
  // Images from a folder become size x size samples by one of these (the names of
  // pytorch-CycleGAN-and-pix2pix's --preprocess, whose load_size and crop_size are `load_size` and
  // `size` here; L = load_size, or `size` when it is 0):
  //   scale_shortside_and_crop  the shorter side to L (aspect kept), then a size x size crop (the default)
  //   resize_and_crop           resized to L x L (aspect not kept, as the reference), then a crop
  //   scale_width_and_crop      the width to L, the height in proportion but at least `size`, then a crop
  //   crop                      a crop of the image as it is (scaled up first when a side is below `size`)
  // The reference's `scale_width` and `none` keep image sizes that vary, which square batches cannot.
  std::string preprocess = "scale_shortside_and_crop";
  int64_t load_size = 0;          // L; 0 = size; otherwise at least `size`
  bool flip = false;              // random horizontal flips
  // Folders: `hold_out` files (evenly spread over the sorted file list, the same for every seed) are
  // kept out of the stream, for validation; with `held_out_only` the stream holds only those files.
  int64_t hold_out = 0;
  bool held_out_only = false;
  int64_t batch_size = 64;        // B, per process
  int workers = 2;                // decoding threads (0 = decode in next(), on the caller's thread)
  int queue_batches = 4;          // bounded queue: batches decoded ahead of the trainer
  uint64_t seed = 0;
  int rank = 0;                   // data-parallel: this process
  int world_size = 1;             // data-parallel: processes
};

struct DatasetStats {
  int64_t files = 0;    // image files in the stream (folders; without the held-out ones)
  int64_t skipped = 0;  // files that could not be decoded (skipped, with a warning each, once)
  // Since the last start(): batches finished by the workers, batches returned by next(), and the
  // most finished-but-not-yet-returned batches held at once (never more than queue_batches).
  int64_t produced = 0;
  int64_t delivered = 0;
  int64_t max_buffered = 0;
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  // (Re)starts delivery at global batch `first_batch` (0 for a fresh run).
  virtual void start(int64_t first_batch) = 0;
  // The next batch, in order. Blocks while workers decode.
  virtual Batch next() = 0;
  virtual std::vector<int64_t> sample_shape() const = 0;  // {C,H,W} or {D}
  virtual int64_t num_classes() const { return 0; }
  virtual DatasetStats stats() const { return {}; }
  virtual std::string describe() const = 0;  // e.g. "folder paintings/ (312 files)"
};

// Folder or synthetic, as the options say. Throws OptionError for bad options (neither or both of
// folder/synthetic, unknown synthetic name, size < 8...), FileError for a missing folder, and
// FormatError when a folder holds no readable image. `callbacks` receives the skip warnings (from
// worker threads; callers' log callbacks must be thread-safe).
std::unique_ptr<Dataset> make_dataset(const DatasetOptions& options, const Callbacks& callbacks = {});

std::vector<std::string> synthetic_dataset_names();
// The values of DatasetOptions::preprocess.
std::vector<std::string> preprocess_names();

// Synthetic samples, each a pure function of (seed, index):
//   ring8    points [2] from a mixture of 8 Gaussians on a circle of radius 2, std 0.02
//            (Metz et al. 2017's unrolled-GAN benchmark); label = mode.
//   digits   a digit 0-9 drawn with a random OpenCV Hershey font, size, rotation, stroke, colours and
//            noise, [C,S,S] in [0,1]; label = digit.
//   digits-paper, digits-neon   the same digits in two fixed palettes (dark ink on cream paper;
//            glowing ink on a near-black ground): two domains for unpaired translation.
//   digits-ttf  digits from a second renderer: the system's TrueType faces (DejaVu always; Liberation
//            and FreeFont when installed) filled by FreeType, sheared and rotated, anywhere in the
//            picture, in saturated ink on two-colour grounds, some with drop shadows. For measuring
//            what was tuned on `digits` on digits drawn differently. label = digit.
//   textures procedural textures (stripes, checks, dots, cellular, flow noise) with random palettes.
constexpr double kRingRadius = 2.0;
constexpr double kRingStd = 0.02;
at::Tensor ring8_modes();  // [8,2]

// 64-bit mix of seed and index (splitmix64), for per-sample RNG seeds.
uint64_t sample_seed(uint64_t seed, uint64_t index);

}  // namespace impasto
