#pragma once
// Calibration of a one-pass network's int8 form (nn/int8.h): the ranges of its quantised values
// measured on a few images in float32, and the file that keeps them beside the model,
// `<model>.int8.json` (`impasto calibrate`), so that a model is calibrated once on photos like the
// ones it will see:
//
//   {"format": "impasto-int8-statistics", "version": 1,
//    "weights": "<fingerprint of the float32 parameters>", "engine": "onednn",
//    "images": ["beach.jpg", ...],
//    "points": {"conv1:output": {"range": [lo, hi], "shift": [...], "scale": [...]}, "in1:output": {...}, ...}}
//
// (shift and scale for the channel-normalised points of nn/int8.h).
//
// The fingerprint (FNV-1a over the parameters' bytes) ties the file to the weights it was measured
// with: a file left beside a retrained model is refused (FormatError), not silently applied.
// Without a file the ranges are measured on built-in photo-like pictures (data/synthetic.h).
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include <functional>
#include <string>
#include <vector>

#include "impasto/core/json_options.h"

namespace impasto {

constexpr const char* kInt8StatisticsFormat = "impasto-int8-statistics";

// <model>.int8.json
std::string int8_statistics_path(const std::string& model_path);

// Measures `net`'s ranges (forgetting earlier ones): `run` maps a canonical image [1,3,H,W] to the
// network's output in float32, and is called once per image.
void calibrate_int8(torch::nn::Module& net, const std::function<at::Tensor(const at::Tensor&)>& run,
                    const std::vector<at::Tensor>& images);

// Four photo-like pictures (data/synthetic.h's landscapes, 256x320, in 8-bit steps as decoded photos
// are), none of them the precision gate's picture.
std::vector<at::Tensor> builtin_calibration_pictures();

// FNV-1a (64 bits, hex) over the bytes of every parameter and buffer of `net` as float32.
std::string weights_fingerprint(torch::nn::Module& net);

// The statistics file's JSON for `net`'s current (measured) ranges; `images` names what they were
// measured on.
Json int8_statistics_json(torch::nn::Module& net, const std::vector<std::string>& images);
// Calibrates the network of a model file (style/network.h: TransformerNet) on the photos at
// `image_paths` (each read and shrunk to at most `max_side` on its longest side) and writes the
// statistics file (`out`, default <model>.int8.json). OptionError when the model has no int8 form
// or no photo is given; FileError/FormatError for unreadable files. Returns the file's JSON.
Json calibrate_model_file(const std::string& model_path, const std::vector<std::string>& image_paths, const std::string& out,
                          int64_t max_side = 512);
// Reads a statistics file into `net`'s ranges. FileError when unreadable; FormatError naming the
// file when it is not one, belongs to other weights, or does not fit this network. Returns the
// file's JSON (for reports).
Json read_int8_statistics(const std::string& path, torch::nn::Module& net);

}  // namespace impasto
