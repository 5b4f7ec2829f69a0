#include "impasto/io/image_header.h"

#include "impasto/core/error.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <limits>

namespace impasto::detail {
namespace {

const char* const kSupported = "supported formats are PNG, JPEG, WebP, BMP and TIFF";

// ---- bounds-checked byte access -----------------------------------------------------------------

bool in_bounds(size_t size, size_t offset, size_t length) {
  return offset <= size && length <= size - offset;
}
bool starts_with(const uint8_t* data, size_t size, const char* magic, size_t length) {
  return size >= length && std::memcmp(data, magic, length) == 0;
}
bool bytes_at(const uint8_t* data, size_t size, size_t offset, const char* magic, size_t length) {
  return in_bounds(size, offset, length) && std::memcmp(data + offset, magic, length) == 0;
}
uint32_t be16(const uint8_t* p) { return (uint32_t(p[0]) << 8) | p[1]; }
uint32_t be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}
uint32_t le16(const uint8_t* p) { return uint32_t(p[0]) | (uint32_t(p[1]) << 8); }
uint32_t le24(const uint8_t* p) { return le16(p) | (uint32_t(p[2]) << 16); }
uint32_t le32(const uint8_t* p) { return le24(p) | (uint32_t(p[3]) << 24); }

std::string hex_bytes(const uint8_t* data, size_t size, size_t max_bytes) {
  std::string out;
  char buf[4];
  for (size_t i = 0; i < std::min(size, max_bytes); ++i) {
    std::snprintf(buf, sizeof buf, "%02x", data[i]);
    if (!out.empty()) out += ' ';
    out += buf;
  }
  return out;
}

std::string fourcc(const uint8_t* p) {
  std::string out;
  for (int i = 0; i < 4; ++i) out += (p[i] >= 0x20 && p[i] < 0x7f) ? char(p[i]) : '?';
  return out;
}

const char* display_name(const std::string& format) {
  if (format == "png") return "PNG";
  if (format == "jpeg") return "JPEG";
  if (format == "webp") return "WebP";
  if (format == "bmp") return "BMP";
  if (format == "tiff") return "TIFF";
  return "image";
}

[[noreturn]] void damaged(const std::string& source, const std::string& format,
                          const std::string& what) {
  throw FormatError(source, std::string("damaged ") + display_name(format) + " header: " + what);
}
[[noreturn]] void header_cut_off(const std::string& source, const std::string& format,
                                 size_t size) {
  throw FormatError(source, std::string("truncated ") + display_name(format) +
                                " file: the header is cut off after " + std::to_string(size) +
                                " bytes");
}

void check_size(const std::string& source, const std::string& format, uint64_t width,
                uint64_t height) {
  if (width == 0 || height == 0) {
    damaged(source, format,
            "width or height is 0 (" + std::to_string(width) + "x" + std::to_string(height) + ")");
  }
}

bool is_bmp_dib_size(uint32_t dib) {
  return dib == 12 || dib == 16 || dib == 40 || dib == 52 || dib == 56 || dib == 64 ||
         dib == 108 || dib == 124;
}

// ---- PNG ------------------------------------------------------------------------------------------

ImageHeader png_header(const uint8_t* data, size_t size, const std::string& source) {
  if (size < 8 + 8 + 13) header_cut_off(source, "png", size);
  if (be32(data + 8) != 13 || !bytes_at(data, size, 12, "IHDR", 4)) {
    damaged(source, "png", "the first chunk is not a 13-byte IHDR");
  }
  ImageHeader h{"png", be32(data + 16), be32(data + 20)};
  if (h.width > 0x7fffffff || h.height > 0x7fffffff) damaged(source, "png", "width or height over 2^31-1");
  check_size(source, "png", h.width, h.height);
  return h;
}

void png_scan(const uint8_t* data, size_t size, ImageScan& scan) {
  size_t p = 8;
  while (true) {
    if (!in_bounds(size, p, 8)) {
      scan.truncated = "the PNG ends after " + std::to_string(size) + " bytes without its IEND chunk";
      return;
    }
    const uint32_t length = be32(data + p);
    const uint8_t* type = data + p + 4;
    if (length > 0x7fffffff || !in_bounds(size, p + 8, size_t(length) + 4)) {
      scan.truncated = "the PNG chunk '" + fourcc(type) + "' at byte " + std::to_string(p) +
                       " is cut off (the file has " + std::to_string(size) + " bytes)";
      return;
    }
    if (std::memcmp(type, "eXIf", 4) == 0 && scan.exif_size == 0) {
      scan.exif_offset = p + 8;
      scan.exif_size = length;
    }
    if (std::memcmp(type, "IEND", 4) == 0) return;
    p += 12 + size_t(length);
  }
}

// ---- JPEG -----------------------------------------------------------------------------------------

bool is_sof(uint8_t m) {
  return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

// Walks JPEG markers. Header-only: stops at the frame header (SOFn). Full: continues through the
// entropy-coded scans (skipping stuffed bytes and restart markers) to the end-of-image marker,
// noting the first APP1 "Exif" segment on the way.
ImageHeader jpeg_walk(const uint8_t* data, size_t size, const std::string& source, bool full,
                      ImageScan* scan) {
  ImageHeader h{"jpeg", 0, 0};
  bool have_frame = false;
  size_t p = 2;
  auto ended = [&](const std::string& where) {
    if (!have_frame) header_cut_off(source, "jpeg", size);
    scan->truncated = "the JPEG end-of-image marker is missing (the data ends " + where + ")";
  };
  while (true) {
    // Tolerate junk between segments (libjpeg does too): skip to the next 0xFF.
    if (p < size && data[p] != 0xFF) {
      const void* ff = std::memchr(data + p, 0xFF, size - p);
      p = ff ? size_t(static_cast<const uint8_t*>(ff) - data) : size;
    }
    while (p < size && data[p] == 0xFF) ++p;  // fill bytes
    if (p >= size) { ended("between segments"); return h; }
    const uint8_t m = data[p++];
    if (m == 0x01 || m == 0xD8 || (m >= 0xD0 && m <= 0xD7)) continue;  // no length field
    if (m == 0xD9) {  // EOI
      if (!have_frame) damaged(source, "jpeg", "end-of-image marker before any frame header");
      return h;
    }
    if (!in_bounds(size, p, 2)) { ended("inside a segment header"); return h; }
    const size_t length = be16(data + p);
    if (length < 2) damaged(source, "jpeg", "segment length below 2 at byte " + std::to_string(p));
    if (!in_bounds(size, p, length)) { ended("inside a segment"); return h; }
    const uint8_t* segment = data + p + 2;
    const size_t segment_size = length - 2;
    if (is_sof(m) && !have_frame) {
      if (segment_size < 6) damaged(source, "jpeg", "frame header shorter than 6 bytes");
      if (m == 0xC3 || m == 0xC5 || m == 0xC6 || m == 0xC7 || m == 0xCB || m == 0xCD ||
          m == 0xCE || m == 0xCF) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "%02X", m);
        throw FormatError(source, std::string("unsupported JPEG: lossless or hierarchical coding "
                                              "(marker FF") + buf + ") cannot be decoded");
      }
      h.height = be16(segment + 1);
      h.width = be16(segment + 3);
      if (h.height == 0) {
        throw FormatError(source, "unsupported JPEG: the height is given by a DNL marker");
      }
      check_size(source, "jpeg", h.width, h.height);
      have_frame = true;
      if (!full) return h;
    }
    if (m == 0xE1 && scan && scan->exif_size == 0 && segment_size >= 6 &&
        std::memcmp(segment, "Exif\0\0", 6) == 0) {
      scan->exif_offset = size_t(segment - data) + 6;
      scan->exif_size = segment_size - 6;
    }
    p += length;
    if (m == 0xDA) {  // SOS: entropy-coded data follows until the next real marker
      if (!have_frame) damaged(source, "jpeg", "scan data before any frame header");
      while (true) {
        const void* ff = p < size ? std::memchr(data + p, 0xFF, size - p) : nullptr;
        if (!ff) { ended("inside the compressed image data"); return h; }
        const size_t q = size_t(static_cast<const uint8_t*>(ff) - data);
        if (q + 1 >= size) { ended("inside the compressed image data"); return h; }
        const uint8_t next = data[q + 1];
        if (next == 0x00 || (next >= 0xD0 && next <= 0xD7)) {  // stuffed 0xFF or restart marker
          p = q + 2;
        } else if (next == 0xFF) {  // fill byte before a marker
          p = q + 1;
        } else {
          p = q;
          break;
        }
      }
    }
  }
}

// ---- WebP -----------------------------------------------------------------------------------------

ImageHeader webp_header(const uint8_t* data, size_t size, const std::string& source) {
  if (!in_bounds(size, 12, 8)) header_cut_off(source, "webp", size);
  const uint8_t* chunk = data + 12;
  const uint8_t* d = data + 20;
  ImageHeader h{"webp", 0, 0};
  if (std::memcmp(chunk, "VP8 ", 4) == 0) {
    if (!in_bounds(size, 20, 10)) header_cut_off(source, "webp", size);
    if (d[3] != 0x9D || d[4] != 0x01 || d[5] != 0x2A) damaged(source, "webp", "bad VP8 start code");
    h.width = le16(d + 6) & 0x3FFF;
    h.height = le16(d + 8) & 0x3FFF;
  } else if (std::memcmp(chunk, "VP8L", 4) == 0) {
    if (!in_bounds(size, 20, 5)) header_cut_off(source, "webp", size);
    if (d[0] != 0x2F) damaged(source, "webp", "bad VP8L signature");
    const uint32_t bits = le32(d + 1);
    h.width = (bits & 0x3FFF) + 1;
    h.height = ((bits >> 14) & 0x3FFF) + 1;
  } else if (std::memcmp(chunk, "VP8X", 4) == 0) {
    if (!in_bounds(size, 20, 10)) header_cut_off(source, "webp", size);
    if (d[0] & 0x02) throw FormatError(source, "unsupported WebP: animated WebP cannot be decoded");
    h.width = int64_t(le24(d + 4)) + 1;
    h.height = int64_t(le24(d + 7)) + 1;
  } else {
    damaged(source, "webp", "unexpected first chunk '" + fourcc(chunk) + "'");
  }
  check_size(source, "webp", h.width, h.height);
  return h;
}

void webp_scan(const uint8_t* data, size_t size, ImageScan& scan) {
  const uint64_t declared = uint64_t(le32(data + 4)) + 8;
  if (declared > size) {
    scan.truncated = "the WebP container declares " + std::to_string(declared) +
                     " bytes but the data has " + std::to_string(size);
  }
  const size_t end = size_t(std::min<uint64_t>(declared, size));
  size_t p = 12;
  while (in_bounds(end, p, 8)) {
    const uint32_t length = le32(data + p + 4);
    if (!in_bounds(end, p + 8, length)) {
      if (scan.truncated.empty()) {
        scan.truncated = "the WebP chunk '" + fourcc(data + p) + "' at byte " + std::to_string(p) +
                         " is cut off";
      }
      return;
    }
    if (std::memcmp(data + p, "EXIF", 4) == 0 && scan.exif_size == 0) {
      scan.exif_offset = p + 8;
      scan.exif_size = length;
    }
    p += 8 + size_t(length) + (length & 1);
  }
}

// ---- BMP ------------------------------------------------------------------------------------------

struct BmpInfo {
  ImageHeader header;
  uint32_t bits = 0;
  uint32_t compression = 0;
  uint32_t pixel_offset = 0;
};

BmpInfo bmp_info(const uint8_t* data, size_t size, const std::string& source) {
  if (size < 26) header_cut_off(source, "bmp", size);
  BmpInfo info;
  info.header.format = "bmp";
  info.pixel_offset = le32(data + 10);
  const uint32_t dib = le32(data + 14);
  if (dib == 12) {  // BITMAPCOREHEADER: 16-bit unsigned width and height, always bottom-up
    info.header.width = le16(data + 18);
    info.header.height = le16(data + 20);
    info.bits = le16(data + 24);
  } else if (is_bmp_dib_size(dib)) {  // BITMAPINFOHEADER and its successors, OS/2 2.x
    if (size < 30) header_cut_off(source, "bmp", size);
    const int32_t width = int32_t(le32(data + 18));
    const int32_t height = int32_t(le32(data + 22));  // negative: rows stored top-down
    if (width < 0) damaged(source, "bmp", "negative width " + std::to_string(width));
    info.header.width = width;
    info.header.height = height < 0 ? -int64_t(height) : int64_t(height);
    info.bits = le16(data + 28);
    if (dib >= 20 && size >= 34) info.compression = le32(data + 30);
  } else {
    damaged(source, "bmp", "unknown info header size " + std::to_string(dib));
  }
  check_size(source, "bmp", info.header.width, info.header.height);
  return info;
}

void bmp_scan(const BmpInfo& info, size_t size, ImageScan& scan) {
  // Uncompressed (BI_RGB, BI_BITFIELDS, BI_ALPHABITFIELDS): the pixel array size is known.
  const bool uncompressed = info.compression == 0 || info.compression == 3 || info.compression == 6;
  const uint32_t b = info.bits;
  if (!uncompressed || !(b == 1 || b == 4 || b == 8 || b == 16 || b == 24 || b == 32)) return;
  const uint64_t row = (uint64_t(info.header.width) * b + 31) / 32 * 4;
  const uint64_t rows = uint64_t(info.header.height);
  if (row != 0 && rows > (std::numeric_limits<uint64_t>::max() - info.pixel_offset) / row) {
    scan.truncated = "the BMP pixel data would exceed any file size";
    return;
  }
  const uint64_t needed = info.pixel_offset + row * rows;
  if (needed > size) {
    scan.truncated = "the BMP pixel data needs " + std::to_string(needed) +
                     " bytes but the data has " + std::to_string(size);
  }
}

// ---- TIFF -----------------------------------------------------------------------------------------

ImageHeader tiff_header(const uint8_t* data, size_t size, const std::string& source,
                        TiffView& tiff) {
  if (size < 8 || !tiff.open(data, size)) header_cut_off(source, "tiff", size);
  const size_t ifd = tiff.first_ifd();
  if (!tiff.has(ifd, 2) || !tiff.has(ifd + 2, size_t(tiff.u16(ifd)) * 12)) {
    throw FormatError(source, "truncated TIFF file: the first image directory (at byte " +
                                  std::to_string(ifd) + ") is past the end of the " +
                                  std::to_string(size) + " bytes");
  }
  TiffEntry entry;
  uint64_t width = 0, height = 0;
  if (!tiff.find(ifd, 256, entry) || !tiff.integer(entry, 0, width)) {
    damaged(source, "tiff", "no readable ImageWidth tag (256)");
  }
  if (!tiff.find(ifd, 257, entry) || !tiff.integer(entry, 0, height)) {
    damaged(source, "tiff", "no readable ImageLength tag (257)");
  }
  check_size(source, "tiff", width, height);
  return ImageHeader{"tiff", int64_t(width), int64_t(height)};
}

void tiff_scan(const TiffView& tiff, size_t size, ImageScan& scan) {
  const size_t ifd = tiff.first_ifd();
  TiffEntry offsets, counts;
  const bool strips = tiff.find(ifd, 273, offsets) && tiff.find(ifd, 279, counts);
  const bool tiles = !strips && tiff.find(ifd, 324, offsets) && tiff.find(ifd, 325, counts);
  if (!strips && !tiles) return;
  uint64_t end = 0;
  const uint32_t n = std::min(offsets.count, counts.count);
  for (uint32_t i = 0; i < n; ++i) {
    uint64_t offset = 0, count = 0;
    if (!tiff.integer(offsets, i, offset) || !tiff.integer(counts, i, count)) {
      scan.truncated = "the TIFF strip/tile table is cut off";
      return;
    }
    end = std::max(end, offset + count);
  }
  if (end > size) {
    scan.truncated = "the TIFF image data extends to byte " + std::to_string(end) +
                     " but the data has " + std::to_string(size) + " bytes";
  }
}

std::string text_preview(const uint8_t* data, size_t size) {
  std::string out;
  for (size_t i = 0; i < size && out.size() < 32; ++i) {
    const uint8_t c = data[i];
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r' || c == '\t') {
      out += ' ';
    } else {
      out += (c >= 0x20 && c < 0x7f) ? char(c) : '?';
    }
  }
  if (size > 32) out += "...";
  return out;
}

bool looks_like_text(const uint8_t* data, size_t size) {
  const size_t n = std::min<size_t>(size, 4096);
  for (size_t i = 0; i < n; ++i) {
    const uint8_t c = data[i];
    if (c == 0 || c == 0x7f) return false;
    if (c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != '\f') return false;
  }
  return n > 0;
}

}  // namespace

// ---- BMP core header -> info header -------------------------------------------------------------

std::vector<uint8_t> bmp_core_to_info_header(const uint8_t* data, size_t size) {
  if (size < 26 || data[0] != 'B' || data[1] != 'M' || le32(data + 14) != 12) return {};
  const uint32_t offset = le32(data + 10);
  const uint32_t width = le16(data + 18), height = le16(data + 20), bits = le16(data + 24);
  if (offset < 26 || offset > size) return {};
  // The core palette (3 bytes per entry) fills the space between the header and the pixels.
  const uint32_t entries = bits <= 8 ? std::min<uint32_t>((offset - 26) / 3, 1u << bits) : 0;
  const uint32_t new_offset = 14 + 40 + 4 * entries;
  const size_t pixels = size - offset;
  std::vector<uint8_t> out;
  out.reserve(new_offset + pixels);
  auto put16 = [&](uint32_t v) {
    out.push_back(uint8_t(v));
    out.push_back(uint8_t(v >> 8));
  };
  auto put32 = [&](uint32_t v) {
    put16(v & 0xffff);
    put16(v >> 16);
  };
  out.push_back('B');
  out.push_back('M');
  put32(uint32_t(new_offset + pixels));
  put32(0);
  put32(new_offset);
  put32(40);       // BITMAPINFOHEADER
  put32(width);    // (positive height: bottom-up, as core BMPs always are)
  put32(height);
  put16(1);        // planes
  put16(bits);
  put32(0);        // BI_RGB
  put32(0);        // image size (may be 0 for BI_RGB)
  put32(2835);     // 72 dpi
  put32(2835);
  put32(entries);  // colours used
  put32(0);
  for (uint32_t i = 0; i < entries; ++i) {
    const uint8_t* e = data + 26 + 3 * i;
    out.insert(out.end(), {e[0], e[1], e[2], uint8_t(0)});
  }
  out.insert(out.end(), data + offset, data + size);
  return out;
}

// ---- TiffView ---------------------------------------------------------------------------------------

bool TiffView::open(const uint8_t* data, size_t size) {
  if (size < 8) return false;
  if (std::memcmp(data, "II*\0", 4) == 0) {
    big_endian_ = false;
  } else if (std::memcmp(data, "MM\0*", 4) == 0) {
    big_endian_ = true;
  } else {
    return false;
  }
  data_ = data;
  size_ = size;
  first_ifd_ = u32(4);
  return true;
}

uint16_t TiffView::u16(size_t offset) const {
  const uint8_t* p = data_ + offset;
  return uint16_t(big_endian_ ? be16(p) : le16(p));
}

uint32_t TiffView::u32(size_t offset) const {
  const uint8_t* p = data_ + offset;
  return big_endian_ ? be32(p) : le32(p);
}

bool TiffView::find(size_t ifd, uint16_t tag, TiffEntry& entry) const {
  if (!has(ifd, 2)) return false;
  const size_t count = u16(ifd);
  for (size_t i = 0; i < count; ++i) {
    const size_t at = ifd + 2 + i * 12;
    if (!has(at, 12)) return false;
    if (u16(at) == tag) {
      entry = TiffEntry{tag, u16(at + 2), u32(at + 4), at};
      return true;
    }
  }
  return false;
}

bool TiffView::integer(const TiffEntry& entry, uint32_t index, uint64_t& value) const {
  size_t width = 0;
  switch (entry.type) {
    case 1: width = 1; break;  // BYTE
    case 3: width = 2; break;  // SHORT
    case 4: width = 4; break;  // LONG
    default: return false;
  }
  if (index >= entry.count) return false;
  const uint64_t total = uint64_t(entry.count) * width;
  const size_t base = total <= 4 ? entry.entry_offset + 8 : size_t(u32(entry.entry_offset + 8));
  const size_t at = base + size_t(index) * width;
  if (!has(at, width)) return false;
  value = width == 1 ? data_[at] : width == 2 ? u16(at) : u32(at);
  return true;
}

// ---- public (internal) API ----------------------------------------------------------------------

std::string sniff_image_format(const uint8_t* data, size_t size) {
  if (starts_with(data, size, "\x89PNG\r\n\x1a\n", 8)) return "png";
  if (starts_with(data, size, "\xff\xd8\xff", 3)) return "jpeg";
  if (starts_with(data, size, "RIFF", 4) && bytes_at(data, size, 8, "WEBP", 4)) return "webp";
  if (starts_with(data, size, "BM", 2) && size >= 18 && is_bmp_dib_size(le32(data + 14))) return "bmp";
  if (starts_with(data, size, "II*\0", 4) || starts_with(data, size, "MM\0*", 4)) return "tiff";
  return "";
}

std::string describe_content(const uint8_t* data, size_t size) {
  if (size == 0) return "an empty file";
  const std::string format = sniff_image_format(data, size);
  if (!format.empty()) return std::string("a ") + display_name(format) + " image";
  if (starts_with(data, size, "GIF87a", 6) || starts_with(data, size, "GIF89a", 6)) return "a GIF image";
  if (starts_with(data, size, "\0\0\0\x0cjP  \r\n\x87\n", 12) || starts_with(data, size, "\xff\x4f\xff\x51", 4)) {
    return "a JPEG 2000 image";
  }
  if (starts_with(data, size, "\xff\x0a", 2) || starts_with(data, size, "\0\0\0\x0cJXL \r\n\x87\n", 12)) {
    return "a JPEG XL image";
  }
  if (bytes_at(data, size, 4, "ftyp", 4) && size >= 12) {
    const std::string brand = fourcc(data + 8);
    if (brand == "avif" || brand == "avis") return "an AVIF image";
    if (brand.rfind("hei", 0) == 0 || brand.rfind("hev", 0) == 0 || brand == "mif1" || brand == "msf1") {
      return "a HEIF/HEIC image";
    }
    return "an ISO media file (brand '" + brand + "', e.g. MP4 or MOV video)";
  }
  if (starts_with(data, size, "II+\0", 4) || starts_with(data, size, "MM\0+", 4)) return "a BigTIFF image";
  if (starts_with(data, size, "\x76\x2f\x31\x01", 4)) return "an OpenEXR image";
  if (starts_with(data, size, "8BPS", 4)) return "a Photoshop (PSD) document";
  if (starts_with(data, size, "qoif", 4)) return "a QOI image";
  if (starts_with(data, size, "\0\0\1\0", 4)) return "a Windows icon (ICO)";
  if (starts_with(data, size, "#?RADIANCE", 10) || starts_with(data, size, "#?RGBE", 6)) return "a Radiance HDR image";
  if (size >= 3 && data[0] == 'P' && data[1] >= '1' && data[1] <= '7' &&
      (data[2] == '\n' || data[2] == ' ' || data[2] == '\r' || data[2] == '\t')) {
    return "a Netpbm (PBM/PGM/PPM) image";
  }
  if (starts_with(data, size, "%PDF", 4)) return "a PDF document";
  if (starts_with(data, size, "PK\3\4", 4)) return "a ZIP archive";
  if (starts_with(data, size, "\x1f\x8b", 2)) return "gzip-compressed data";
  if (starts_with(data, size, "RIFF", 4) && size >= 12) {
    return "a RIFF file of type '" + fourcc(data + 8) + "' (not WebP)";
  }
  if (looks_like_text(data, size)) return "text (starts with \"" + text_preview(data, size) + "\")";
  return "unknown binary data (first bytes " + hex_bytes(data, size, 8) + ")";
}

ImageHeader read_image_header(const uint8_t* data, size_t size, const std::string& source) {
  if (size == 0) throw FormatError(source, "empty (0 bytes), not an image");
  const std::string format = sniff_image_format(data, size);
  if (format == "png") return png_header(data, size, source);
  if (format == "jpeg") return jpeg_walk(data, size, source, false, nullptr);
  if (format == "webp") return webp_header(data, size, source);
  if (format == "bmp") return bmp_info(data, size, source).header;
  if (format == "tiff") {
    TiffView tiff;
    return tiff_header(data, size, source, tiff);
  }
  throw FormatError(source, "not a supported image: found " + describe_content(data, size) + "; " +
                                kSupported);
}

ImageScan scan_image(const uint8_t* data, size_t size, const std::string& source) {
  ImageScan scan;
  scan.header = read_image_header(data, size, source);
  const std::string& format = scan.header.format;
  if (format == "png") {
    png_scan(data, size, scan);
  } else if (format == "jpeg") {
    jpeg_walk(data, size, source, true, &scan);
  } else if (format == "webp") {
    webp_scan(data, size, scan);
  } else if (format == "bmp") {
    bmp_scan(bmp_info(data, size, source), size, scan);
  } else if (format == "tiff") {
    TiffView tiff;
    tiff_header(data, size, source, tiff);
    tiff_scan(tiff, size, scan);
  }
  return scan;
}

}  // namespace impasto::detail
