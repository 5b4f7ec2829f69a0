#include "impasto/io/image.h"

#include "impasto/core/error.h"
#include "impasto/core/text.h"
#include "impasto/io/exif.h"
#include "impasto/io/image_header.h"
#include "impasto/io/text_file.h"

#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <mutex>
#include <system_error>

namespace impasto {
namespace fs = std::filesystem;

namespace {

// OpenCV refuses images over this many pixels (CV_IO_MAX_IMAGE_PIXELS, default 2^30); our own
// limit is checked first, and this one is reported as a LimitError too instead of a decode failure.
constexpr int64_t kOpenCvMaxPixels = int64_t(1) << 30;

const char* const kExtensions = ".png .jpg .jpeg .webp .bmp .tif .tiff";

// The library never prints: OpenCV's own log (e.g. libtiff warnings) is silenced once, unless the
// user chose a level with OPENCV_LOG_LEVEL.
void quiet_opencv() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (std::getenv("OPENCV_LOG_LEVEL") == nullptr) {
      cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
    }
  });
}

std::string display_format(const std::string& format) {
  if (format == "png") return "PNG";
  if (format == "jpeg") return "JPEG";
  if (format == "webp") return "WebP";
  if (format == "bmp") return "BMP";
  if (format == "tiff") return "TIFF";
  return format;
}

// Copies channel `channel` of `image` into the float plane `plane` (H*W floats), scaled.
void copy_plane(const cv::Mat& image, int channel, float* plane, double scale) {
  cv::Mat single;
  if (image.channels() == 1) {
    single = image;
  } else {
    cv::extractChannel(image, single, channel);
  }
  cv::Mat dst(image.rows, image.cols, CV_32F, plane);
  single.convertTo(dst, CV_32F, scale);
  if (dst.data != reinterpret_cast<uchar*>(plane)) {
    throw Error("internal error: OpenCV reallocated a tensor-backed plane");
  }
}

Image mat_to_image(const cv::Mat& image, const std::string& source) {
  double scale = 1.0;
  int bit_depth = 8;
  switch (image.depth()) {
    case CV_8U: scale = 1.0 / 255.0; bit_depth = 8; break;
    case CV_16U: scale = 1.0 / 65535.0; bit_depth = 16; break;
    case CV_32F:
    case CV_64F: scale = 1.0; bit_depth = 32; break;
    default:
      throw FormatError(source, "unsupported sample format (OpenCV type " +
                                    cv::typeToString(image.type()) +
                                    "); expected 8-bit, 16-bit unsigned or floating point samples");
  }
  const int channels = image.channels();
  if (channels < 1 || channels > 4) {
    throw FormatError(source, "unsupported number of channels: " + std::to_string(channels));
  }
  const int64_t h = image.rows, w = image.cols;
  const int64_t plane = h * w;
  Image out;
  out.bit_depth = bit_depth;
  out.rgb = torch::empty({1, 3, h, w}, torch::kFloat32);
  float* rgb = out.rgb.data_ptr<float>();
  if (channels <= 2) {  // gray (+ alpha): three equal channels
    copy_plane(image, 0, rgb, scale);
    std::memcpy(rgb + plane, rgb, sizeof(float) * size_t(plane));
    std::memcpy(rgb + 2 * plane, rgb, sizeof(float) * size_t(plane));
  } else {  // OpenCV order is BGR(A)
    for (int c = 0; c < 3; ++c) copy_plane(image, 2 - c, rgb + c * plane, scale);
  }
  if (channels == 2 || channels == 4) {
    out.alpha = torch::empty({1, 1, h, w}, torch::kFloat32);
    copy_plane(image, channels - 1, out.alpha.data_ptr<float>(), scale);
  }
  if (bit_depth == 32) {  // floating-point TIFF: passed through, made finite and clamped to [0,1]
    out.rgb.nan_to_num_(0.0, 1.0, 0.0).clamp_(0.0, 1.0);
    if (out.alpha.defined()) out.alpha.nan_to_num_(1.0, 1.0, 0.0).clamp_(0.0, 1.0);
  }
  return out;
}

// ".PNG", "png", "out.png" -> "png"; "" when there is no extension.
std::string normalise_extension(const std::string& extension) {
  const size_t dot = extension.rfind('.');
  std::string ext = dot == std::string::npos ? extension : extension.substr(dot + 1);
  return lower(ext);
}

bool known_extension(const std::string& ext) {
  return ext == "png" || ext == "jpg" || ext == "jpeg" || ext == "webp" || ext == "bmp" ||
         ext == "tif" || ext == "tiff";
}

std::string shape_string(const at::Tensor& t) {
  std::string out = "[";
  for (int64_t i = 0; i < t.dim(); ++i) out += (i ? "," : "") + std::to_string(t.size(i));
  return out + "]";
}

// [1,3,H,W] or [3,H,W] (+ alpha [1,1,H,W], [1,H,W] or [H,W]) -> 8-bit BGR or BGRA, rounded.
cv::Mat tensor_to_mat(const at::Tensor& rgb_in, const at::Tensor& alpha_in, bool keep_alpha,
                      const std::string& source) {
  if (!rgb_in.defined()) throw FormatError(source, "cannot write an undefined image tensor");
  at::Tensor rgb = rgb_in.detach();
  if (rgb.dim() == 4 && rgb.size(0) == 1) rgb = rgb.squeeze(0);
  if (rgb.dim() != 3 || rgb.size(0) != 3 || rgb.size(1) < 1 || rgb.size(2) < 1) {
    throw FormatError(source, "expected an image tensor of shape [1,3,H,W] or [3,H,W], got " +
                                  shape_string(rgb_in));
  }
  const int64_t h = rgb.size(1), w = rgb.size(2);
  if (h > std::numeric_limits<int>::max() || w > std::numeric_limits<int>::max()) {
    throw LimitError(source, "image too large to encode: " + shape_string(rgb_in));
  }
  // Clamped to [0,1] (NaN -> 0) and rounded to the nearest 8-bit level.
  auto to_u8 = [](const at::Tensor& t) {
    return t.to(torch::kCPU, torch::kFloat32)
        .nan_to_num(0.0, 1.0, 0.0)
        .clamp(0.0, 1.0)
        .mul(255.0)
        .round()
        .to(torch::kUInt8);
  };
  std::vector<at::Tensor> planes{to_u8(rgb[2]), to_u8(rgb[1]), to_u8(rgb[0])};  // BGR for OpenCV
  if (keep_alpha && alpha_in.defined()) {
    at::Tensor alpha = alpha_in.detach();
    while (alpha.dim() > 2 && alpha.size(0) == 1) alpha = alpha.squeeze(0);
    if (alpha.dim() != 2 || alpha.size(0) != h || alpha.size(1) != w) {
      throw FormatError(source, "alpha of shape " + shape_string(alpha_in) +
                                    " does not match the image " + shape_string(rgb_in) +
                                    "; expected [1,1," + std::to_string(h) + "," +
                                    std::to_string(w) + "]");
    }
    planes.push_back(to_u8(alpha));
  }
  const int channels = int(planes.size());
  at::Tensor hwc = torch::stack(planes, -1).contiguous();  // [H,W,C] uint8
  cv::Mat wrapped(int(h), int(w), CV_8UC(channels), hwc.data_ptr<uint8_t>());
  return wrapped.clone();
}

std::vector<uint8_t> encode(const at::Tensor& rgb, const std::string& ext, const at::Tensor& alpha,
                            const std::string& source) {
  const bool alpha_format = ext == "png" || ext == "webp" || ext == "tif" || ext == "tiff";
  cv::Mat mat = tensor_to_mat(rgb, alpha, alpha_format, source);
  std::vector<int> params;
  if (ext == "jpg" || ext == "jpeg") {
    params = {cv::IMWRITE_JPEG_QUALITY, 95};
  } else if (ext == "webp") {
    params = {cv::IMWRITE_WEBP_QUALITY, 101};  // above 100 = lossless
  }
  quiet_opencv();
  std::vector<uint8_t> bytes;
  bool ok = false;
  std::string detail;
  try {
    ok = cv::imencode("." + ext, mat, bytes, params);
  } catch (const cv::Exception& e) {
    detail = std::string(": ") + e.what();
  }
  if (!ok || bytes.empty()) {
    throw FormatError(source, "could not encode a " + std::to_string(mat.cols) + "x" +
                                  std::to_string(mat.rows) + " image as ." + ext + detail);
  }
  return bytes;
}

}  // namespace

int64_t Image::height() const { return rgb.defined() ? rgb.size(-2) : 0; }
int64_t Image::width() const { return rgb.defined() ? rgb.size(-1) : 0; }

ImageHeader probe_image(const std::vector<uint8_t>& bytes, const std::string& source) {
  return detail::read_image_header(bytes.data(), bytes.size(), source);
}

std::vector<uint8_t> read_file_bytes(const std::string& path) {
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (!fs::exists(status)) throw FileError(path, "no such file");
  if (fs::is_directory(status)) throw FileError(path, "is a directory, not a file");
  if (!fs::is_regular_file(status)) throw FileError(path, "not a regular file");
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (!file) throw FileError(path, std::string("cannot open for reading: ") + std::strerror(errno));
  std::vector<uint8_t> bytes;
  const uintmax_t expected = fs::file_size(path, ec);
  if (!ec) bytes.reserve(size_t(expected));
  uint8_t buffer[1 << 16];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) {
    bytes.insert(bytes.end(), buffer, buffer + n);
  }
  const bool failed = std::ferror(file) != 0;
  const int error = errno;
  std::fclose(file);
  if (failed) throw FileError(path, std::string("read error: ") + std::strerror(error));
  return bytes;
}

Image read_image(const std::string& path, const ImageReadOptions& options) {
  return decode_image(read_file_bytes(path), path, options);
}

Image decode_image(const std::vector<uint8_t>& bytes, const std::string& source,
                   const ImageReadOptions& options) {
  const uint8_t* data = bytes.data();
  const size_t size = bytes.size();
  // 1. Header only: what it is and how big, refused before any decoding work.
  const ImageHeader header = detail::read_image_header(data, size, source);
  const int64_t pixels = header.width > std::numeric_limits<int64_t>::max() / header.height
                             ? std::numeric_limits<int64_t>::max()
                             : header.width * header.height;
  const std::string dims = std::to_string(header.width) + "x" + std::to_string(header.height);
  if (pixels > options.max_pixels) {
    throw LimitError(source, "image is " + dims + " = " + std::to_string(pixels) +
                                 " pixels, over the limit of " + std::to_string(options.max_pixels) +
                                 " pixels (max_pixels)");
  }
  if (pixels > kOpenCvMaxPixels || header.width > (1 << 20) || header.height > (1 << 20)) {
    throw LimitError(source, "image is " + dims + " = " + std::to_string(pixels) +
                                 " pixels, over the decoder's limit of 2^30 pixels and 2^20 per side");
  }
  if (size > size_t(std::numeric_limits<int>::max())) {
    throw LimitError(source, "image data of " + std::to_string(size) +
                                 " bytes is over the decoder's limit of 2 GiB");
  }
  // 2. Structure: refuse truncated files (OpenCV's JPEG decoder would return a partly grey image).
  const detail::ImageScan scan = detail::scan_image(data, size, source);
  if (!scan.truncated.empty()) {
    throw FormatError(source, "truncated or corrupt " + display_format(header.format) + " file: " +
                                  scan.truncated);
  }
  // 3. Decode, keeping 16-bit samples and alpha.
  std::vector<uint8_t> rewritten;
  if (header.format == "bmp") rewritten = detail::bmp_core_to_info_header(data, size);
  const uint8_t* decode_data = rewritten.empty() ? data : rewritten.data();
  const size_t decode_size = rewritten.empty() ? size : rewritten.size();
  quiet_opencv();
  cv::Mat mat;
  std::string detail;
  try {
    mat = cv::imdecode(cv::Mat(1, int(decode_size), CV_8U, const_cast<uint8_t*>(decode_data)),
                       cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& e) {
    detail = std::string(" (") + e.what() + ")";
  }
  if (mat.empty()) {
    throw FormatError(source, "corrupt or truncated " + display_format(header.format) + " file (" +
                                  dims + "): the decoder could not read it" + detail);
  }
  const bool swapped = int64_t(mat.cols) == header.height && int64_t(mat.rows) == header.width;
  if (!(int64_t(mat.cols) == header.width && int64_t(mat.rows) == header.height) &&
      !(swapped && header.format == "tiff")) {  // OpenCV's TIFF decoder applies orientation itself
    throw FormatError(source, "corrupt " + display_format(header.format) + " file: the header says " +
                                  dims + " but the decoder produced " + std::to_string(mat.cols) +
                                  "x" + std::to_string(mat.rows));
  }
  // 4. EXIF orientation (JPEG APP1, PNG eXIf, WebP EXIF).
  if (scan.exif_size > 0) {
    const int orientation = detail::exif_orientation(data + scan.exif_offset, scan.exif_size);
    mat = detail::apply_orientation(mat, orientation);
  }
  return mat_to_image(mat, source);
}

void check_image_output_path(const std::string& path) {
  const fs::path target(path);
  const std::string ext = lower(target.extension().string());
  if (ext.empty()) {
    throw FileError(path, std::string("no file extension to choose the image format; use one of ") +
                              kExtensions);
  }
  if (!known_extension(ext.substr(1))) {
    throw FileError(path, "unknown image extension '" + target.extension().string() +
                              "'; use one of " + kExtensions);
  }
  std::error_code ec;
  const fs::path parent = target.parent_path();
  if (!parent.empty()) {
    const fs::file_status status = fs::status(parent, ec);
    if (!fs::exists(status)) {
      throw FileError(path, "directory '" + parent.string() + "' does not exist (it is not created)");
    }
    if (!fs::is_directory(status)) throw FileError(path, "'" + parent.string() + "' is not a directory");
  }
  if (fs::is_directory(fs::status(target, ec))) throw FileError(path, "is a directory");
}

void write_image(const std::string& path, const at::Tensor& rgb, const at::Tensor& alpha) {
  check_image_output_path(path);
  const fs::path target(path);
  const std::string ext = lower(target.extension().string());
  const std::vector<uint8_t> bytes = encode(rgb, ext.substr(1), alpha, path);
  // Whole or not at all: a crash or a full disk never leaves a truncated picture (io/text_file.h).
  write_file_atomically(path, std::string(bytes.begin(), bytes.end()));
}

bool known_image_extension(const std::string& extension) { return known_extension(normalise_extension(extension)); }

std::vector<uint8_t> encode_image(const at::Tensor& rgb, const std::string& extension,
                                  const at::Tensor& alpha) {
  const std::string ext = normalise_extension(extension);
  if (!known_extension(ext)) {
    throw FileError(extension, std::string("unknown image extension; use one of ") + kExtensions);
  }
  return encode(rgb, ext, alpha, "." + ext);
}

}  // namespace impasto
