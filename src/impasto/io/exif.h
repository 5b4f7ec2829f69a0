#pragma once
// Internal to io/image.cpp: the EXIF orientation tag (0x0112) and its eight transforms.
// OpenCV applies no orientation when decoding with IMREAD_UNCHANGED (except inside its TIFF
// decoder), so image.cpp reads the tag from the EXIF block found by scan_image and applies it.
#include <opencv2/core.hpp>

#include <cstddef>
#include <cstdint>

namespace impasto::detail {

// Orientation 1..8 from an EXIF block: a TIFF structure ("II*\0" or "MM\0*", either byte order),
// optionally preceded by "Exif\0\0". Returns 1 (as stored) when the tag is absent, out of range or
// the block is damaged: a broken EXIF block never makes an image unreadable.
int exif_orientation(const uint8_t* data, size_t size);

// Turns an image stored with EXIF `orientation` into the upright image a viewer shows:
// 2 mirror left-right, 3 rotate 180, 4 mirror top-bottom, 5 transpose, 6 rotate 90 clockwise,
// 7 transverse (transpose + rotate 180), 8 rotate 90 counter-clockwise. 1 and invalid values leave
// it alone. Works for any depth and channel count.
cv::Mat apply_orientation(const cv::Mat& image, int orientation);

}  // namespace impasto::detail
