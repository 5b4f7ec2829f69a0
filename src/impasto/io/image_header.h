#pragma once
// Internal to io/image.cpp: recognise an image format from its first bytes, read width and height
// from the header without decoding pixels, and walk the container far enough to find the EXIF block
// and to notice a file that ends early. Everything here is bounds-checked: the input is untrusted.
#include "impasto/io/image.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace impasto::detail {

// "png", "jpeg", "webp", "bmp", "tiff", or "" when the bytes start like none of them.
std::string sniff_image_format(const uint8_t* data, size_t size);

// What unsupported bytes look like, for error messages: "a GIF image", "text (starts with
// \"hello\")", "unknown binary data (first bytes 00 01 ...)".
std::string describe_content(const uint8_t* data, size_t size);

// Header only (what probe_image does). Throws FormatError when the bytes are empty, not a supported
// image, or the header is damaged or cut off.
ImageHeader read_image_header(const uint8_t* data, size_t size, const std::string& source);

struct ImageScan {
  ImageHeader header;
  // The EXIF block (starting at its TIFF header "II*\0" / "MM\0*") of a JPEG (APP1), PNG (eXIf) or
  // WebP (EXIF chunk); exif_size == 0 when there is none. TIFF files are not reported here: their
  // orientation tag is applied by OpenCV's TIFF decoder itself.
  size_t exif_offset = 0;
  size_t exif_size = 0;
  // Empty when the container is complete; otherwise says what is missing, e.g. "the JPEG
  // end-of-image marker is missing". Used to refuse truncated files before decoding.
  std::string truncated;
};

// The header plus a walk over the container: JPEG segments and entropy-coded data up to EOI, PNG
// chunks up to IEND, RIFF chunks of WebP, the BMP pixel array size, TIFF strip/tile extents.
// Throws like read_image_header; a truncated body is reported in ImageScan::truncated instead.
ImageScan scan_image(const uint8_t* data, size_t size, const std::string& source);

// OpenCV 4.6 decodes a 24-bit BMP with the 12-byte OS/2 BITMAPCOREHEADER as a single grey channel.
// When `data` is such a BMP, returns the same image with a 40-byte BITMAPINFOHEADER (and a 4-byte
// per-entry palette), which OpenCV reads correctly; otherwise returns an empty vector.
std::vector<uint8_t> bmp_core_to_info_header(const uint8_t* data, size_t size);

// A classic TIFF structure (a TIFF file or an EXIF block): bounds-checked reads of IFD entries.
struct TiffEntry {
  uint16_t tag = 0;
  uint16_t type = 0;    // 3 = SHORT, 4 = LONG, ...
  uint32_t count = 0;
  size_t entry_offset = 0;  // offset of the 12-byte entry within the TIFF data
};

class TiffView {
 public:
  // False when `data` does not start with a classic TIFF header ("II*\0" or "MM\0*").
  bool open(const uint8_t* data, size_t size);
  size_t first_ifd() const { return first_ifd_; }
  // Finds `tag` in the IFD at `ifd`; false when absent or when the IFD is out of bounds.
  bool find(size_t ifd, uint16_t tag, TiffEntry& entry) const;
  // Value `index` of a BYTE/SHORT/LONG entry, inline or at its offset; false when out of bounds
  // or not an unsigned integer type.
  bool integer(const TiffEntry& entry, uint32_t index, uint64_t& value) const;
  uint16_t u16(size_t offset) const;  // callers check bounds with has()
  uint32_t u32(size_t offset) const;
  bool has(size_t offset, size_t length) const {
    return offset <= size_ && length <= size_ - offset;
  }

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  bool big_endian_ = false;
  size_t first_ifd_ = 0;
};

}  // namespace impasto::detail
