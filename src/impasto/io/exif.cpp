#include "impasto/io/exif.h"

#include "impasto/io/image_header.h"

#include <opencv2/core.hpp>

#include <cstring>

namespace impasto::detail {

int exif_orientation(const uint8_t* data, size_t size) {
  if (size >= 6 && std::memcmp(data, "Exif\0\0", 6) == 0) {  // some PNG/WebP writers keep it
    data += 6;
    size -= 6;
  }
  TiffView tiff;
  if (!tiff.open(data, size)) return 1;
  TiffEntry entry;
  uint64_t value = 0;
  if (!tiff.find(tiff.first_ifd(), 0x0112, entry) || !tiff.integer(entry, 0, value)) return 1;
  return (value >= 1 && value <= 8) ? int(value) : 1;
}

cv::Mat apply_orientation(const cv::Mat& image, int orientation) {
  cv::Mat out;
  switch (orientation) {
    case 2: cv::flip(image, out, 1); break;
    case 3: cv::rotate(image, out, cv::ROTATE_180); break;
    case 4: cv::flip(image, out, 0); break;
    case 5: cv::transpose(image, out); break;
    case 6: cv::rotate(image, out, cv::ROTATE_90_CLOCKWISE); break;
    case 7: {
      cv::Mat transposed;
      cv::transpose(image, transposed);
      cv::rotate(transposed, out, cv::ROTATE_180);
      break;
    }
    case 8: cv::rotate(image, out, cv::ROTATE_90_COUNTERCLOCKWISE); break;
    default: return image;
  }
  return out;
}

}  // namespace impasto::detail
