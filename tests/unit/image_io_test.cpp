// Image files <-> the canonical image tensor (io/image.h): round trips for every format, bit depth,
// grayscale and alpha, EXIF orientation, header probing, size limits and typed errors.
#include "impasto/core/error.h"
#include "impasto/io/grid.h"
#include "impasto/io/image.h"
#include "test_support.h"

#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace impasto {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

// ---- helpers ----------------------------------------------------------------------------------------

class ImageIoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) /
           ("impasto_image_io_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

void write_bytes(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

float max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  if (a.sizes() != b.sizes()) return 1e9f;
  return (a - b).abs().max().item<float>();
}

float mean_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  if (a.sizes() != b.sizes()) return 1e9f;
  return (a - b).abs().mean().item<float>();
}

// A smooth, asymmetric image [1,3,H,W] whose values are exact multiples of 1/255.
at::Tensor smooth_image(int64_t h, int64_t w) {
  auto y = torch::linspace(0, 1, h).view({h, 1}).expand({h, w});
  auto x = torch::linspace(0, 1, w).view({1, w}).expand({h, w});
  auto r = x;
  auto g = y * 0.8 + 0.1;
  auto b = (x * y * 0.7 + 0.2 * (1 - x));
  auto img = torch::stack({r, g, b}).unsqueeze(0);
  return (img * 255).round() / 255;
}

// An 8-bit BGR image with distinct content in each quadrant (so rotations and flips are visible),
// and smooth enough for JPEG.
cv::Mat asymmetric_bgr(int h, int w) {
  cv::Mat m(h, w, CV_8UC3);
  for (int r = 0; r < h; ++r) {
    for (int c = 0; c < w; ++c) {
      const bool corner = r < h / 3 && c < w / 4;  // a bright block in the top-left only
      m.at<cv::Vec3b>(r, c) = cv::Vec3b(uchar(40 + 150 * r / h), uchar(corner ? 240 : 30),
                                        uchar(20 + 200 * c / w));
    }
  }
  return m;
}

// 8-bit BGR(A) cv::Mat -> [1,3,H,W] RGB in [0,1].
at::Tensor bgr_to_tensor(const cv::Mat& bgr) {
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  auto t = torch::from_blob(rgb.data, {rgb.rows, rgb.cols, 3}, torch::kUInt8).clone();
  return t.permute({2, 0, 1}).unsqueeze(0).to(torch::kFloat32).div(255.0).contiguous();
}

Bytes cv_encode(const std::string& ext, const cv::Mat& m, const std::vector<int>& params = {}) {
  Bytes out;
  EXPECT_TRUE(cv::imencode(ext, m, out, params)) << ext;
  return out;
}

void put_be16(Bytes& b, uint32_t v) { b.push_back(uint8_t(v >> 8)); b.push_back(uint8_t(v)); }
void put_be32(Bytes& b, uint32_t v) { put_be16(b, v >> 16); put_be16(b, v & 0xffff); }
void put_le16(Bytes& b, uint32_t v) { b.push_back(uint8_t(v)); b.push_back(uint8_t(v >> 8)); }
void put_le32(Bytes& b, uint32_t v) { put_le16(b, v & 0xffff); put_le16(b, v >> 16); }
void put_le24(Bytes& b, uint32_t v) { put_le16(b, v & 0xffff); b.push_back(uint8_t(v >> 16)); }
void put_str(Bytes& b, const char* s, size_t n) { b.insert(b.end(), s, s + n); }
void set_be32(Bytes& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = uint8_t(v >> (24 - 8 * i));
}
void set_le32(Bytes& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = uint8_t(v >> (8 * i));
}

uint32_t crc32(const uint8_t* data, size_t n) {
  uint32_t crc = 0xffffffffu;
  for (size_t i = 0; i < n; ++i) {
    crc ^= data[i];
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

// `base` with `insert` placed at byte `at`.
Bytes splice(const Bytes& base, size_t at, const Bytes& insert) {
  Bytes out(base.size() + insert.size());
  std::memcpy(out.data(), base.data(), at);
  std::memcpy(out.data() + at, insert.data(), insert.size());
  std::memcpy(out.data() + at + insert.size(), base.data() + at, base.size() - at);
  return out;
}

// A minimal EXIF TIFF structure whose IFD0 holds only the orientation tag.
Bytes exif_tiff(int orientation, bool big_endian) {
  Bytes t;
  auto u16 = [&](uint32_t v) { big_endian ? put_be16(t, v) : put_le16(t, v); };
  auto u32 = [&](uint32_t v) { big_endian ? put_be32(t, v) : put_le32(t, v); };
  put_str(t, big_endian ? "MM" : "II", 2);
  u16(42);
  u32(8);
  u16(1);         // one entry
  u16(0x0112);    // Orientation
  u16(3);         // SHORT
  u32(1);         // count
  u16(uint32_t(orientation));
  u16(0);         // padding of the 4-byte value field
  u32(0);         // no next IFD
  return t;
}

// Inserts an APP1 "Exif" segment right after SOI.
Bytes jpeg_with_exif(const Bytes& jpeg, int orientation, bool big_endian) {
  const Bytes tiff = exif_tiff(orientation, big_endian);
  Bytes app1{0xFF, 0xE1};
  put_be16(app1, uint32_t(2 + 6 + tiff.size()));
  put_str(app1, "Exif\0\0", 6);
  app1.insert(app1.end(), tiff.begin(), tiff.end());
  return splice(jpeg, 2, app1);
}

Bytes png_chunk(const char* type, const Bytes& data) {
  Bytes c;
  put_be32(c, uint32_t(data.size()));
  put_str(c, type, 4);
  c.insert(c.end(), data.begin(), data.end());
  put_be32(c, crc32(c.data() + 4, data.size() + 4));
  return c;
}

// Inserts an eXIf chunk right after IHDR.
Bytes png_with_exif(const Bytes& png, int orientation) {
  const Bytes chunk = png_chunk("eXIf", exif_tiff(orientation, false));
  return splice(png, 33, chunk);
}

// Rewraps a simple WebP (one VP8/VP8L chunk) as an extended WebP: VP8X + image + EXIF chunk.
Bytes webp_with_exif(const Bytes& webp, int width, int height, int orientation) {
  const Bytes tiff = exif_tiff(orientation, true);
  Bytes out;
  put_str(out, "RIFF", 4);
  put_le32(out, 0);  // patched below
  put_str(out, "WEBP", 4);
  put_str(out, "VP8X", 4);
  put_le32(out, 10);
  out.push_back(0x08);  // EXIF flag
  out.push_back(0);
  out.push_back(0);
  out.push_back(0);
  put_le24(out, uint32_t(width - 1));
  put_le24(out, uint32_t(height - 1));
  out.insert(out.end(), webp.begin() + 12, webp.end());
  put_str(out, "EXIF", 4);
  put_le32(out, uint32_t(tiff.size()));
  out.insert(out.end(), tiff.begin(), tiff.end());
  if (tiff.size() % 2) out.push_back(0);
  set_le32(out, 4, uint32_t(out.size() - 8));
  return out;
}

// An uncompressed RGB TIFF written by hand: either byte order, 8-bit, with an orientation tag.
Bytes handmade_tiff(const cv::Mat& bgr, bool big_endian, int orientation) {
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  const uint32_t w = uint32_t(rgb.cols), h = uint32_t(rgb.rows), n = 10;
  const uint32_t ifd = 8, bps = ifd + 2 + n * 12 + 4, data = bps + 6, size = w * h * 3;
  Bytes t;
  auto u16 = [&](uint32_t v) { big_endian ? put_be16(t, v) : put_le16(t, v); };
  auto u32 = [&](uint32_t v) { big_endian ? put_be32(t, v) : put_le32(t, v); };
  auto entry = [&](uint32_t tag, uint32_t type, uint32_t count, uint32_t value) {
    u16(tag);
    u16(type);
    u32(count);
    if (type == 3 && count == 1) {
      u16(value);
      u16(0);
    } else {
      u32(value);
    }
  };
  put_str(t, big_endian ? "MM" : "II", 2);
  u16(42);
  u32(ifd);
  u16(n);
  entry(256, 3, 1, w);  // width as SHORT
  entry(257, 4, 1, h);  // height as LONG
  entry(258, 3, 3, bps);
  entry(259, 3, 1, 1);
  entry(262, 3, 1, 2);
  entry(273, 4, 1, data);
  entry(274, 3, 1, uint32_t(orientation));
  entry(277, 3, 1, 3);
  entry(278, 4, 1, h);
  entry(279, 4, 1, size);
  u32(0);
  u16(8);
  u16(8);
  u16(8);
  t.insert(t.end(), rgb.data, rgb.data + size);
  return t;
}

// A valid PNG whose IHDR claims width x height (CRC fixed); its pixel data is for 8x8.
Bytes png_claiming_size(uint32_t width, uint32_t height) {
  Bytes png = cv_encode(".png", cv::Mat(8, 8, CV_8UC3, cv::Scalar(1, 2, 3)));
  set_be32(png, 16, width);
  set_be32(png, 20, height);
  set_be32(png, 29, crc32(png.data() + 12, 17));
  return png;
}


bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// ---- round trips --------------------------------------------------------------------------------------

TEST_F(ImageIoTest, LosslessRoundTripEveryFormat) {
  const at::Tensor img = smooth_image(21, 34);
  for (const std::string ext : {"png", "bmp", "tif", "tiff", "webp", "PNG"}) {
    const std::string p = path("round." + ext);
    write_image(p, img);
    const Image back = read_image(p);
    ASSERT_EQ(back.rgb.sizes(), (std::vector<int64_t>{1, 3, 21, 34})) << ext;
    EXPECT_EQ(back.rgb.scalar_type(), torch::kFloat32);
    EXPECT_TRUE(back.rgb.is_contiguous());
    EXPECT_FALSE(back.alpha.defined()) << ext;
    EXPECT_EQ(back.bit_depth, 8);
    EXPECT_EQ(back.width(), 34);
    EXPECT_EQ(back.height(), 21);
    EXPECT_LT(max_abs_diff(back.rgb, img), 1e-6f) << ext;
  }
}

TEST_F(ImageIoTest, JpegRoundTripWithinTolerance) {
  const at::Tensor img = smooth_image(48, 64);
  for (const std::string ext : {"jpg", "jpeg", "JPG"}) {
    const std::string p = path("round." + ext);
    write_image(p, img);
    const Image back = read_image(p);
    EXPECT_LT(mean_abs_diff(back.rgb, img), 0.01f) << ext;
    EXPECT_LT(max_abs_diff(back.rgb, img), 0.06f) << ext;
  }
}

TEST_F(ImageIoTest, EncodeDecodeInMemoryAndChannelOrder) {
  // Pure red must be stored as red: OpenCV sees (B,G,R) = (0,0,255).
  at::Tensor red = torch::zeros({1, 3, 4, 5});
  red[0][0].fill_(1.0);
  const Bytes png = encode_image(red, ".png");
  const cv::Mat m = cv::imdecode(png, cv::IMREAD_UNCHANGED);
  ASSERT_EQ(m.channels(), 3);
  EXPECT_EQ(m.at<cv::Vec3b>(2, 3), cv::Vec3b(0, 0, 255));
  const Image back = decode_image(png, "memory");
  EXPECT_LT(max_abs_diff(back.rgb, red), 1e-6f);
  // The extension may be given with or without the dot; [3,H,W] is accepted.
  EXPECT_EQ(decode_image(encode_image(red[0], "bmp"), "memory").rgb.size(3), 5);
}

TEST_F(ImageIoTest, WritingClampsAndRoundsToNearest) {
  at::Tensor img = torch::empty({1, 3, 1, 4});
  img[0][0] = torch::tensor({-0.5f, 1.5f, 100.6f / 255.0f, 100.4f / 255.0f});
  img[0][1] = torch::tensor({0.0f, 1.0f, 0.5f, std::nanf("")});
  img[0][2].fill_(0.25f);
  const Image back = decode_image(encode_image(img, "png"), "memory");
  const auto r = back.rgb[0][0][0];
  EXPECT_FLOAT_EQ(r[0].item<float>(), 0.0f);
  EXPECT_FLOAT_EQ(r[1].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(r[2].item<float>(), 101.0f / 255.0f);  // truncation would give 100
  EXPECT_FLOAT_EQ(r[3].item<float>(), 100.0f / 255.0f);
  EXPECT_FLOAT_EQ(back.rgb[0][1][0][2].item<float>(), 128.0f / 255.0f);  // 127.5 rounds up
  EXPECT_FLOAT_EQ(back.rgb[0][1][0][3].item<float>(), 0.0f);             // NaN -> 0
  EXPECT_FLOAT_EQ(back.rgb[0][2][0][0].item<float>(), 64.0f / 255.0f);   // 63.75 -> 64
}

TEST_F(ImageIoTest, SixteenBitPngKeepsPrecision) {
  cv::Mat m(6, 7, CV_16UC3);
  for (int r = 0; r < m.rows; ++r) {
    for (int c = 0; c < m.cols; ++c) {
      m.at<cv::Vec<uint16_t, 3>>(r, c) =
          cv::Vec<uint16_t, 3>(uint16_t(1000 * r + c), uint16_t(30001 + 7 * c), uint16_t(65535 - r));
    }
  }
  const Image img = decode_image(cv_encode(".png", m), "16bit.png");
  EXPECT_EQ(img.bit_depth, 16);
  // R is OpenCV's channel 2, B its channel 0.
  EXPECT_NEAR(img.rgb[0][0][5][6].item<float>(), (65535.0 - 5) / 65535.0, 1e-7);
  EXPECT_NEAR(img.rgb[0][1][2][3].item<float>(), (30001.0 + 21) / 65535.0, 1e-7);
  EXPECT_NEAR(img.rgb[0][2][4][1].item<float>(), 4001.0 / 65535.0, 1e-7);
  // Neighbouring 16-bit levels (30001 and 30008) stay distinct: finer than 1/255.
  const float step = img.rgb[0][1][0][1].item<float>() - img.rgb[0][1][0][0].item<float>();
  EXPECT_NEAR(step, 7.0 / 65535.0, 1e-7);
  EXPECT_LT(step, 1.0f / 255.0f);
}

TEST_F(ImageIoTest, GrayscaleGivesThreeEqualChannels) {
  cv::Mat gray(5, 9, CV_8UC1);
  for (int r = 0; r < gray.rows; ++r) {
    for (int c = 0; c < gray.cols; ++c) gray.at<uchar>(r, c) = uchar(25 * r + 3 * c);
  }
  for (const std::string ext : {".png", ".bmp", ".tiff", ".jpg"}) {
    const Image img = decode_image(cv_encode(ext, gray), "gray" + ext);
    ASSERT_EQ(img.rgb.sizes(), (std::vector<int64_t>{1, 3, 5, 9})) << ext;
    EXPECT_TRUE(torch::equal(img.rgb[0][0], img.rgb[0][1])) << ext;
    EXPECT_TRUE(torch::equal(img.rgb[0][0], img.rgb[0][2])) << ext;
    if (ext != ".jpg") {
      EXPECT_FLOAT_EQ(img.rgb[0][1][4][8].item<float>(), 124.0f / 255.0f) << ext;
    }
  }
  cv::Mat gray16(3, 4, CV_16UC1, cv::Scalar(12345));
  const Image img16 = decode_image(cv_encode(".png", gray16), "gray16.png");
  EXPECT_EQ(img16.bit_depth, 16);
  EXPECT_NEAR(img16.rgb[0][2][2][3].item<float>(), 12345.0 / 65535.0, 1e-7);
}

TEST_F(ImageIoTest, AlphaIsReadAndWrittenBack) {
  const at::Tensor rgb = smooth_image(10, 12);
  const at::Tensor alpha =
      (torch::linspace(0, 1, 12).view({1, 1, 1, 12}).expand({1, 1, 10, 12}) * 255).round() / 255;
  for (const std::string ext : {"png", "webp", "tiff"}) {
    const std::string first = path("alpha1." + ext);
    write_image(first, rgb, alpha);
    const Bytes bytes = read_file_bytes(first);
    EXPECT_EQ(cv::imdecode(bytes, cv::IMREAD_UNCHANGED).channels(), 4) << ext;
    const Image back = read_image(first);
    ASSERT_TRUE(back.alpha.defined()) << ext;
    EXPECT_EQ(back.alpha.sizes(), (std::vector<int64_t>{1, 1, 10, 12}));
    EXPECT_LT(max_abs_diff(back.alpha, alpha), 1e-6f) << ext;
    // Colour is exact wherever the pixel is visible (libwebp's lossless encoder may change the
    // colour under fully transparent pixels; OpenCV does not expose its "exact" option).
    const at::Tensor visible = (alpha > 0).expand_as(rgb);
    EXPECT_LT(max_abs_diff(back.rgb.masked_select(visible), rgb.masked_select(visible)), 1e-6f) << ext;
    if (ext != "webp") {
      EXPECT_LT(max_abs_diff(back.rgb, rgb), 1e-6f) << ext;
    }
    // And once more through write_image with what was read.
    const std::string second = path("alpha2." + ext);
    write_image(second, back.rgb, back.alpha);
    const Image again = read_image(second);
    ASSERT_TRUE(again.alpha.defined());
    EXPECT_LT(max_abs_diff(again.alpha, alpha), 1e-6f) << ext;
  }
  // JPEG and BMP drop alpha.
  for (const std::string ext : {"jpg", "bmp"}) {
    write_image(path("noalpha." + ext), rgb, alpha);
    const Image back = read_image(path("noalpha." + ext));
    EXPECT_FALSE(back.alpha.defined()) << ext;
    EXPECT_LT(mean_abs_diff(back.rgb, rgb), 0.01f) << ext;
  }
  // An alpha that does not match the image is refused.
  EXPECT_THROW(write_image(path("bad.png"), rgb, torch::ones({1, 1, 3, 3})), FormatError);
}

TEST_F(ImageIoTest, FloatTiffIsClampedPassThrough) {
  cv::Mat f(2, 3, CV_32FC3, cv::Scalar(0.25f, -1.0f, 2.0f));  // B, G, R
  f.at<cv::Vec3f>(1, 2) = cv::Vec3f(0.125f, 0.5f, 0.75f);
  // Uncompressed: OpenCV 4.6's default (LZW) float writer does not round-trip 3 channels.
  const Image img = decode_image(cv_encode(".tiff", f, {cv::IMWRITE_TIFF_COMPRESSION, 1}), "f.tiff");
  EXPECT_EQ(img.bit_depth, 32);
  EXPECT_FLOAT_EQ(img.rgb[0][0][0][0].item<float>(), 1.0f);  // 2 clamped
  EXPECT_FLOAT_EQ(img.rgb[0][1][0][0].item<float>(), 0.0f);  // -1 clamped
  EXPECT_FLOAT_EQ(img.rgb[0][2][0][0].item<float>(), 0.25f);
  EXPECT_FLOAT_EQ(img.rgb[0][0][1][2].item<float>(), 0.75f);
  EXPECT_FLOAT_EQ(img.rgb[0][1][1][2].item<float>(), 0.5f);
  EXPECT_FLOAT_EQ(img.rgb[0][2][1][2].item<float>(), 0.125f);
}

// ---- EXIF orientation -------------------------------------------------------------------------------

TEST_F(ImageIoTest, JpegExifOrientationIsApplied) {
  const cv::Mat original = asymmetric_bgr(48, 64);
  const Bytes jpeg = cv_encode(".jpg", original, {cv::IMWRITE_JPEG_QUALITY, 95});
  struct Case {
    int orientation;
    int rotate;  // cv::RotateFlags, or -1 for none
  };
  for (const bool big_endian : {false, true}) {
    for (const Case c : {Case{1, -1}, Case{3, cv::ROTATE_180}, Case{6, cv::ROTATE_90_CLOCKWISE},
                         Case{8, cv::ROTATE_90_COUNTERCLOCKWISE}}) {
      cv::Mat expected_mat;  // a fresh Mat: rotating into a header that shares `original` would alias
      if (c.rotate >= 0) {
        cv::rotate(original, expected_mat, c.rotate);
      } else {
        expected_mat = original.clone();
      }
      const at::Tensor expected = bgr_to_tensor(expected_mat);
      const Image img = decode_image(jpeg_with_exif(jpeg, c.orientation, big_endian), "exif.jpg");
      ASSERT_EQ(img.rgb.sizes(), expected.sizes()) << "orientation " << c.orientation;
      EXPECT_LT(mean_abs_diff(img.rgb, expected), 0.01f) << "orientation " << c.orientation;
      EXPECT_LT(max_abs_diff(img.rgb, expected), 0.3f) << "orientation " << c.orientation;
      if (c.orientation == 3) {  // the test image really is asymmetric
        EXPECT_GT(mean_abs_diff(img.rgb, bgr_to_tensor(original)), 0.1f);
      }
    }
  }
}

TEST_F(ImageIoTest, JpegOrientationAgreesWithOpenCvColorMode) {
  // OpenCV applies EXIF orientation itself in IMREAD_COLOR mode (not in IMREAD_UNCHANGED, which
  // impasto uses to keep 16-bit and alpha): the same decoder, so the pixels must match exactly.
  const Bytes jpeg = cv_encode(".jpg", asymmetric_bgr(32, 48));
  for (int o = 1; o <= 8; ++o) {
    const Bytes bytes = jpeg_with_exif(jpeg, o, o % 2 == 0);
    const at::Tensor reference = bgr_to_tensor(cv::imdecode(bytes, cv::IMREAD_COLOR));
    EXPECT_LT(max_abs_diff(decode_image(bytes, "exif.jpg").rgb, reference), 1e-6f) << o;
  }
}

TEST_F(ImageIoTest, AllEightOrientationsOnLosslessPng) {
  const cv::Mat original = asymmetric_bgr(6, 10);
  const Bytes png = cv_encode(".png", original);
  const at::Tensor t = bgr_to_tensor(original);  // [1,3,H,W]
  // Expected upright images, written with tensor ops (independent of the cv:: calls in the code).
  const std::vector<at::Tensor> expected = {
      t,                                   // 1
      t.flip({3}),                         // 2 mirror left-right
      t.flip({2, 3}),                      // 3 rotate 180
      t.flip({2}),                         // 4 mirror top-bottom
      t.transpose(2, 3),                   // 5 transpose
      t.transpose(2, 3).flip({3}),         // 6 rotate 90 clockwise
      t.transpose(2, 3).flip({2, 3}),      // 7 transverse
      t.transpose(2, 3).flip({2}),         // 8 rotate 90 counter-clockwise
  };
  for (int o = 1; o <= 8; ++o) {
    const Image img = decode_image(png_with_exif(png, o), "exif.png");
    EXPECT_LT(max_abs_diff(img.rgb, expected[size_t(o - 1)]), 1e-6f) << "orientation " << o;
  }
}

TEST_F(ImageIoTest, WebpExifOrientationIsApplied) {
  const cv::Mat original = asymmetric_bgr(12, 20);
  const Bytes webp = cv_encode(".webp", original, {cv::IMWRITE_WEBP_QUALITY, 101});
  const Bytes extended = webp_with_exif(webp, 20, 12, 6);
  const ImageHeader header = probe_image(extended, "exif.webp");
  EXPECT_EQ(header.width, 20);
  EXPECT_EQ(header.height, 12);
  cv::Mat rotated;
  cv::rotate(original, rotated, cv::ROTATE_90_CLOCKWISE);
  const Image img = decode_image(extended, "exif.webp");
  EXPECT_LT(max_abs_diff(img.rgb, bgr_to_tensor(rotated)), 1e-6f);
}

TEST_F(ImageIoTest, TiffOrientationTagIsAppliedOnce) {
  // OpenCV's TIFF decoder applies the TIFF orientation tag itself; it must not be applied twice.
  const cv::Mat original = asymmetric_bgr(6, 10);
  for (const bool big_endian : {false, true}) {
    cv::Mat rotated;
    cv::rotate(original, rotated, cv::ROTATE_90_CLOCKWISE);
    const Image img = decode_image(handmade_tiff(original, big_endian, 6), "o6.tiff");
    EXPECT_LT(max_abs_diff(img.rgb, bgr_to_tensor(rotated)), 1e-6f) << big_endian;
    const Image plain = decode_image(handmade_tiff(original, big_endian, 1), "o1.tiff");
    EXPECT_LT(max_abs_diff(plain.rgb, bgr_to_tensor(original)), 1e-6f) << big_endian;
  }
}

// ---- probing --------------------------------------------------------------------------------------------

TEST_F(ImageIoTest, ProbeEveryFormat) {
  const cv::Mat m = asymmetric_bgr(23, 37);
  struct Case {
    std::string name;
    Bytes bytes;
    std::string format;
  };
  cv::Mat bgra;
  cv::cvtColor(m, bgra, cv::COLOR_BGR2BGRA);
  const Bytes jpeg = cv_encode(".jpg", m);
  const std::vector<Case> cases = {
      {"png", cv_encode(".png", m), "png"},
      {"jpeg", jpeg, "jpeg"},
      {"jpeg progressive", cv_encode(".jpg", m, {cv::IMWRITE_JPEG_PROGRESSIVE, 1}), "jpeg"},
      {"jpeg with exif", jpeg_with_exif(jpeg, 6, true), "jpeg"},
      {"webp lossy (VP8)", cv_encode(".webp", m, {cv::IMWRITE_WEBP_QUALITY, 80}), "webp"},
      {"webp lossless (VP8L)", cv_encode(".webp", m, {cv::IMWRITE_WEBP_QUALITY, 101}), "webp"},
      {"webp alpha", cv_encode(".webp", bgra, {cv::IMWRITE_WEBP_QUALITY, 90}), "webp"},
      {"bmp", cv_encode(".bmp", m), "bmp"},
      {"tiff", cv_encode(".tiff", m), "tiff"},
      {"tiff big-endian", handmade_tiff(m, true, 1), "tiff"},
      {"tiff little-endian", handmade_tiff(m, false, 1), "tiff"},
  };
  for (const Case& c : cases) {
    const ImageHeader h = probe_image(c.bytes, c.name);
    EXPECT_EQ(h.format, c.format) << c.name;
    EXPECT_EQ(h.width, 37) << c.name;
    EXPECT_EQ(h.height, 23) << c.name;
    // And decoding agrees.
    const Image img = decode_image(c.bytes, c.name);
    EXPECT_EQ(img.width(), c.name == "jpeg with exif" ? 23 : 37) << c.name;
  }
}

TEST_F(ImageIoTest, ProbeReadsOnlyTheHeader) {
  const cv::Mat m = asymmetric_bgr(23, 37);
  // The first bytes are enough: the pixel data is never looked at.
  const Bytes png = cv_encode(".png", m);
  const ImageHeader h = probe_image(Bytes(png.begin(), png.begin() + 33), "head.png");
  EXPECT_EQ(h.width, 37);
  EXPECT_EQ(h.height, 23);
  const Bytes bmp = cv_encode(".bmp", m);
  EXPECT_EQ(probe_image(Bytes(bmp.begin(), bmp.begin() + 54), "head.bmp").height, 23);
  const Bytes tiff = handmade_tiff(m, true, 1);
  EXPECT_EQ(probe_image(Bytes(tiff.begin(), tiff.begin() + 200), "head.tiff").width, 37);
}

TEST_F(ImageIoTest, BmpTopDownAndCoreHeader) {
  const cv::Mat m = asymmetric_bgr(5, 7);
  // BITMAPINFOHEADER with a negative height: rows stored top-down.
  Bytes bmp = cv_encode(".bmp", m);
  ASSERT_EQ(bmp[14], 40);
  set_le32(bmp, 22, uint32_t(-5));
  const ImageHeader h = probe_image(bmp, "topdown.bmp");
  EXPECT_EQ(h.width, 7);
  EXPECT_EQ(h.height, 5);
  cv::Mat flipped;
  cv::flip(m, flipped, 0);
  EXPECT_LT(max_abs_diff(decode_image(bmp, "topdown.bmp").rgb, bgr_to_tensor(flipped)), 1e-6f);

  // BITMAPCOREHEADER (12 bytes, 16-bit width/height), 24-bit, bottom-up.
  const uint32_t row = (7 * 3 + 3) / 4 * 4;
  Bytes core;
  put_str(core, "BM", 2);
  put_le32(core, 14 + 12 + row * 5);
  put_le32(core, 0);
  put_le32(core, 14 + 12);
  put_le32(core, 12);
  put_le16(core, 7);
  put_le16(core, 5);
  put_le16(core, 1);
  put_le16(core, 24);
  for (int r = 4; r >= 0; --r) {
    for (int c = 0; c < 7; ++c) {
      const cv::Vec3b p = m.at<cv::Vec3b>(r, c);
      core.insert(core.end(), {p[0], p[1], p[2]});
    }
    core.resize(core.size() + (row - 21), 0);
  }
  const ImageHeader hc = probe_image(core, "core.bmp");
  EXPECT_EQ(hc.format, "bmp");
  EXPECT_EQ(hc.width, 7);
  EXPECT_EQ(hc.height, 5);
  // (OpenCV 4.6 alone decodes this as one grey channel.)
  EXPECT_LT(max_abs_diff(decode_image(core, "core.bmp").rgb, bgr_to_tensor(m)), 1e-6f);

  // BITMAPCOREHEADER, 8-bit with a 256-entry palette of 3-byte entries.
  const uint32_t row8 = 8;  // 7 bytes padded to 4
  Bytes pal;
  put_str(pal, "BM", 2);
  put_le32(pal, 14 + 12 + 256 * 3 + row8 * 5);
  put_le32(pal, 0);
  put_le32(pal, 14 + 12 + 256 * 3);
  put_le32(pal, 12);
  put_le16(pal, 7);
  put_le16(pal, 5);
  put_le16(pal, 1);
  put_le16(pal, 8);
  for (int i = 0; i < 256; ++i) pal.insert(pal.end(), {uint8_t(i), uint8_t(255 - i), uint8_t(i / 2)});
  cv::Mat expected8(5, 7, CV_8UC3);
  for (int r = 4; r >= 0; --r) {
    for (int c = 0; c < 7; ++c) {
      const int index = 30 * r + 5 * c;
      pal.push_back(uint8_t(index));
      expected8.at<cv::Vec3b>(r, c) = cv::Vec3b(uchar(index), uchar(255 - index), uchar(index / 2));
    }
    pal.push_back(0);
  }
  EXPECT_EQ(probe_image(pal, "core8.bmp").width, 7);
  EXPECT_LT(max_abs_diff(decode_image(pal, "core8.bmp").rgb, bgr_to_tensor(expected8)), 1e-6f);
}

// ---- limits ---------------------------------------------------------------------------------------------

TEST_F(ImageIoTest, HugeImageRefusedFromHeader) {
  const Bytes png = png_claiming_size(9000, 9000);
  const ImageHeader h = probe_image(png, "huge.png");
  EXPECT_EQ(h.width, 9000);
  EXPECT_EQ(h.height, 9000);
  ImageReadOptions options;
  options.max_pixels = 64'000'000;
  const std::string message =
      test::expect_error<LimitError>([&] { decode_image(png, "huge.png", options); });
  EXPECT_TRUE(contains(message, "81000000")) << message;
  EXPECT_TRUE(contains(message, "64000000")) << message;
  EXPECT_TRUE(contains(message, "huge.png")) << message;
  // The default limit is the same 64 MP, and read_image goes the same way.
  write_bytes(path("huge.png"), png);
  EXPECT_THROW(read_image(path("huge.png")), LimitError);
  // Over OpenCV's own cap (2^30) but under ours: still a clear LimitError, not a decode failure.
  options.max_pixels = int64_t(1) << 40;
  EXPECT_THROW(decode_image(png_claiming_size(40000, 40000), "huger.png", options), LimitError);
  // A small limit applies to small images too.
  options.max_pixels = 63;
  EXPECT_THROW(decode_image(cv_encode(".png", asymmetric_bgr(8, 8)), "small.png", options),
               LimitError);
  options.max_pixels = 64;
  EXPECT_NO_THROW(decode_image(cv_encode(".png", asymmetric_bgr(8, 8)), "small.png", options));
}

// ---- damaged and wrong input ----------------------------------------------------------------------------

TEST_F(ImageIoTest, TruncatedFilesAreRefused) {
  cv::Mat noise(64, 64, CV_8UC3);
  cv::randu(noise, 0, 256);
  cv::Mat noise_alpha;
  cv::cvtColor(noise, noise_alpha, cv::COLOR_BGR2BGRA);
  for (const std::string ext : {".jpg", ".png", ".webp", ".bmp", ".tiff"}) {
    const Bytes full = cv_encode(ext, ext == ".webp" ? noise_alpha : noise);
    EXPECT_NO_THROW(decode_image(full, "full" + ext));
    const Bytes half(full.begin(), full.begin() + full.size() / 2);
    const std::string message =
        test::expect_error<FormatError>([&] { decode_image(half, "half" + ext); });
    EXPECT_TRUE(contains(message, "truncated")) << ext << ": " << message;
    EXPECT_TRUE(contains(message, "half" + ext)) << message;
  }
  // A JPEG missing only its end-of-image marker.
  const Bytes jpeg = cv_encode(".jpg", noise);
  ASSERT_EQ(jpeg[jpeg.size() - 2], 0xFF);
  ASSERT_EQ(jpeg[jpeg.size() - 1], 0xD9);
  EXPECT_THROW(decode_image(Bytes(jpeg.begin(), jpeg.end() - 2), "noeoi.jpg"), FormatError);
  // Trailing bytes after EOI are harmless.
  Bytes padded = jpeg;
  padded.insert(padded.end(), 100, 0);
  EXPECT_NO_THROW(decode_image(padded, "padded.jpg"));
  // A PNG missing only its IEND chunk.
  const Bytes png = cv_encode(".png", noise);
  const std::string message =
      test::expect_error<FormatError>([&] { decode_image(Bytes(png.begin(), png.end() - 12), "noiend.png"); });
  EXPECT_TRUE(contains(message, "IEND")) << message;
  // Truncated inside the header: still a FormatError, for probe as well.
  EXPECT_THROW(probe_image(Bytes(png.begin(), png.begin() + 20), "tiny.png"), FormatError);
  EXPECT_THROW(probe_image(Bytes(jpeg.begin(), jpeg.begin() + 4), "tiny.jpg"), FormatError);
}

TEST_F(ImageIoTest, CorruptDataIsAFormatError) {
  // Right header, garbage pixel data.
  Bytes png = cv_encode(".png", asymmetric_bgr(16, 16));
  for (size_t i = 41; i + 20 < png.size(); ++i) png[i] ^= 0x5A;
  EXPECT_THROW(decode_image(png, "garbage.png"), FormatError);
}

TEST_F(ImageIoTest, NotAnImage) {
  const std::string text_path = path("notes.txt");
  {
    std::ofstream out(text_path);
    out << "hello, this is not an image\n";
  }
  const std::string message = test::expect_error<FormatError>([&] { read_image(text_path); });
  EXPECT_TRUE(contains(message, "text")) << message;
  EXPECT_TRUE(contains(message, "notes.txt")) << message;
  EXPECT_TRUE(contains(message, "PNG")) << message;  // lists what is supported

  const Bytes gif{'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0, 0, 0, 0};
  const std::string gif_message = test::expect_error<FormatError>([&] { decode_image(gif, "a.gif"); });
  EXPECT_TRUE(contains(gif_message, "GIF")) << gif_message;
  EXPECT_THROW(probe_image(gif, "a.gif"), FormatError);

  const Bytes binary{0x00, 0x01, 0x02, 0x03, 0xfe, 0xff, 0x10, 0x20, 0x30};
  const std::string binary_message = test::expect_error<FormatError>([&] { decode_image(binary, "blob"); });
  EXPECT_TRUE(contains(binary_message, "00 01 02 03")) << binary_message;
}

TEST_F(ImageIoTest, EmptyFile) {
  const std::string p = path("empty.png");
  write_bytes(p, {});
  const std::string message = test::expect_error<FormatError>([&] { read_image(p); });
  EXPECT_TRUE(contains(message, "empty")) << message;
  EXPECT_THROW(probe_image({}, "empty"), FormatError);
}

TEST_F(ImageIoTest, MissingFileAndDirectory) {
  const std::string missing = path("does_not_exist.png");
  const std::string message = test::expect_error<FileError>([&] { read_image(missing); });
  EXPECT_TRUE(contains(message, missing)) << message;
  try {
    read_image(missing);
  } catch (const FileError& e) {
    EXPECT_EQ(e.path(), missing);
  }
  const std::string dir_message = test::expect_error<FileError>([&] { read_image(dir_.string()); });
  EXPECT_TRUE(contains(dir_message, "directory")) << dir_message;
  EXPECT_THROW(read_file_bytes(missing), FileError);
}

TEST_F(ImageIoTest, WriteErrors) {
  const at::Tensor img = smooth_image(4, 4);
  const std::string gif_message =
      test::expect_error<FileError>([&] { write_image(path("out.gif"), img); });
  EXPECT_TRUE(contains(gif_message, ".png")) << gif_message;
  EXPECT_TRUE(contains(gif_message, ".tiff")) << gif_message;
  EXPECT_TRUE(contains(gif_message, ".gif")) << gif_message;
  EXPECT_THROW(write_image(path("no_extension"), img), FileError);
  EXPECT_THROW(encode_image(img, ".gif"), FileError);

  const std::string missing_dir = path("missing_dir/out.png");
  const std::string dir_message = test::expect_error<FileError>([&] { write_image(missing_dir, img); });
  EXPECT_TRUE(contains(dir_message, "does not exist")) << dir_message;
  EXPECT_FALSE(fs::exists(path("missing_dir")));  // not created

  EXPECT_THROW(write_image(dir_.string() + "/", img), FileError);  // no file name / extension
  fs::create_directories(path("taken.png"));
  EXPECT_THROW(write_image(path("taken.png"), img), FileError);  // a directory is in the way

  // A bad tensor shape is refused, and nothing is written.
  EXPECT_THROW(write_image(path("bad.png"), torch::zeros({1, 4, 4, 4})), FormatError);
  EXPECT_FALSE(fs::exists(path("bad.png")));
}

TEST(Grid, LaysOutRowsAndAZeroColumnCountIsSquare) {
  std::vector<at::Tensor> images;
  for (int i = 0; i < 5; ++i) images.push_back(torch::full({1, 3, 10, 20}, i / 10.0));
  // 5 images, 2 per row: 3 rows of cells 10 high and 20 wide, 1 pixel of padding around each.
  at::Tensor g = make_grid(images, 2, 10, 1);
  EXPECT_EQ(g.sizes(), (std::vector<int64_t>{1, 3, 3 * 10 + 4, 2 * 20 + 3}));
  EXPECT_NEAR(g[0][0][1 + 11][1 + 21].item<float>(), 0.3f, 1e-6);  // image 3: row 1, column 1
  // 0 columns: ceil(sqrt(5)) = 3 per row, so 2 rows.
  g = make_grid(images, 0, 10, 1);
  EXPECT_EQ(g.sizes(), (std::vector<int64_t>{1, 3, 2 * 10 + 3, 3 * 20 + 4}));
  test::expect_error<OptionError>([&] { make_grid(images, -1, 10); });
  test::expect_error<OptionError>([&] { make_grid({}, 0, 10); });
}

}  // namespace
}  // namespace impasto

namespace impasto {

// Results are written whole or not at all: through <path>.tmp and a rename, so the file is always a
// complete picture (a stale .tmp from a crash is simply replaced), and a path that is not a regular
// file (a FIFO) is written in place.
TEST(ImageIo, ResultsAreWrittenWholeThroughATemporaryFile) {
  const std::string dir = test::temp_dir("atomic_write");
  const std::string path = dir + "/out.png";
  { std::ofstream(path + ".tmp") << "left over by a crash"; }
  write_image(path, torch::rand({1, 3, 12, 10}));
  EXPECT_EQ(read_image(path).rgb.sizes(), (std::vector<int64_t>{1, 3, 12, 10}));
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  write_image(path, torch::rand({1, 3, 6, 8}));  // replaces it
  EXPECT_EQ(read_image(path).rgb.sizes(), (std::vector<int64_t>{1, 3, 6, 8}));

  const std::string fifo = dir + "/pipe.png";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0) << std::strerror(errno);
  std::vector<char> received;
  std::thread reader([&] {
    std::ifstream in(fifo, std::ios::binary);
    received.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  });
  write_image(fifo, torch::rand({1, 3, 5, 7}));
  reader.join();
  EXPECT_TRUE(fs::is_fifo(fifo));
  const Image through = decode_image(Bytes(received.begin(), received.end()), "fifo");
  EXPECT_EQ(through.rgb.sizes(), (std::vector<int64_t>{1, 3, 5, 7}));
}

}  // namespace impasto
