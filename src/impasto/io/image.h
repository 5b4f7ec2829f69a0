#pragma once
// Image files and bytes <-> the canonical image tensor: float32, NCHW with N = 1, RGB, values in
// [0,1]. Formats: PNG, JPEG, WebP, BMP, TIFF (by content when reading, by extension when writing).
// Grayscale is expanded to RGB, 16-bit is scaled to [0,1], an alpha channel is returned separately
// so it can be carried through to the output, and EXIF orientation is applied.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace impasto {

struct ImageReadOptions {
  // Images with more pixels are refused from the header, before decoding (LimitError).
  int64_t max_pixels = 64'000'000;
};

struct Image {
  at::Tensor rgb;    // [1,3,H,W] float32 in [0,1]
  at::Tensor alpha;  // [1,1,H,W] float32 in [0,1], or undefined when the input had no alpha
  int bit_depth = 8; // 8 or 16, of the source (32 for floating-point TIFF)
  int64_t height() const;
  int64_t width() const;
};

// Width, height and format read from the first bytes of a file, without decoding pixels.
struct ImageHeader {
  std::string format;  // "png", "jpeg", "webp", "bmp", "tiff"
  int64_t width = 0;
  int64_t height = 0;
};

// Throws FormatError when the bytes are not a supported image or the header is damaged.
// `source` names the data in error messages (a path, "upload", ...).
ImageHeader probe_image(const std::vector<uint8_t>& bytes, const std::string& source);

// Errors: FileError (missing/unreadable), FormatError (not an image, truncated, corrupt),
// LimitError (over options.max_pixels, checked from the header before decoding).
Image read_image(const std::string& path, const ImageReadOptions& options = {});
Image decode_image(const std::vector<uint8_t>& bytes, const std::string& source,
                   const ImageReadOptions& options = {});

// `rgb` is [1,3,H,W] or [3,H,W] in [0,1] (values are clamped); `alpha` optional [1,1,H,W].
// Format from the extension (.png .jpg .jpeg .webp .bmp .tif .tiff); FileError otherwise or when
// the file cannot be written. Alpha is written for PNG, WebP and TIFF (others drop it).
void write_image(const std::string& path, const at::Tensor& rgb, const at::Tensor& alpha = {});
// The checks write_image makes before encoding, for failing early (before a long job): a known
// extension, an existing parent directory, not a directory itself. FileError otherwise.
void check_image_output_path(const std::string& path);
std::vector<uint8_t> encode_image(const at::Tensor& rgb, const std::string& extension,
                                  const at::Tensor& alpha = {});
// True for the formats write_image and encode_image know: png, jpg, jpeg, webp, bmp, tif, tiff (any
// case, with or without a leading dot or a file name before it).
bool known_image_extension(const std::string& extension);

// Reads a whole file; FileError when missing or unreadable.
std::vector<uint8_t> read_file_bytes(const std::string& path);

}  // namespace impasto
