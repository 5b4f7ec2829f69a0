// `impasto stylize` on a folder (one network load, outputs under the same names, a progress bar over
// the images, an unreadable file named and skipped with exit code 1) and from stdin to stdout
// (-c - / -o -: only the image on stdout, PNG unless --format says otherwise).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "impasto/data/synthetic.h"
#include "impasto/io/image.h"
#include "impasto/style/network.h"
#include "test_support.h"

using namespace impasto;
using impasto::test::run_cli;

namespace fs = std::filesystem;

namespace {

const std::string kTransformer = test::fixture("style_nets/transformer_w4.pth");

// A folder with two photos (PNG and JPEG, different sizes), a text file posing as an image and a
// non-image file.
std::string photo_folder(const std::string& name) {
  const std::string dir = test::temp_dir(name) + "/photos";
  fs::create_directories(dir);
  write_image(dir + "/a.png", synthetic_landscape(40, 56, 1));
  write_image(dir + "/b.jpg", synthetic_landscape(36, 30, 2));
  std::ofstream(dir + "/broken.png") << "not an image\n";
  std::ofstream(dir + "/notes.txt") << "ignored\n";
  return dir;
}

std::vector<uint8_t> file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

TEST(StylizeBatchCli, FolderWithANetworkSkipsTheUnreadableFileByName) {
  const std::string photos = photo_folder("folder_network"), out = fs::path(photos).parent_path().string() + "/out";
  auto r = run_cli("stylize -c " + photos + " --model " + kTransformer + " -o " + out);
  EXPECT_EQ(r.exit_code, 1) << r.output;  // one file could not be read
  EXPECT_NE(r.output.find("broken.png"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("wrote 2 of 3 images"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("stylize 3 images"), std::string::npos) << r.output;  // the progress over images
  EXPECT_EQ(r.output.find("internal error"), std::string::npos) << r.output;
  // Same names and full resolution.
  for (const std::string name : {"a.png", "b.jpg"}) {
    ASSERT_TRUE(fs::exists(out + "/" + name)) << name;
    EXPECT_TRUE(fs::exists(out + "/" + fs::path(name).stem().string() + ".json")) << name;
    EXPECT_EQ(read_image(out + "/" + name).rgb.sizes(), read_image(photos + "/" + name).rgb.sizes()) << name;
  }
  EXPECT_FALSE(fs::exists(out + "/broken.png"));
  EXPECT_FALSE(fs::exists(out + "/notes.txt"));

  // --format png re-encodes every output (b.jpg -> b.png, lossless here); -q leaves only the error
  // about the skipped file. Each output is what the network makes of that photo alone.
  r = run_cli("stylize -q -c " + photos + " --model " + kTransformer + " --format png -o " + out + "2");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_EQ(r.output.find("stylize 3 images"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("broken.png"), std::string::npos) << r.output;
  auto net = open_session("network", Json{{"model", kTransformer}});
  for (const std::string name : {"a", "b"}) {
    const Image photo = read_image(photos + "/" + name + (name == "a" ? ".png" : ".jpg"));
    const at::Tensor expected = net->stylize(photo, {}).image.rgb;
    const at::Tensor got = read_image(out + "2/" + name + ".png").rgb;
    ASSERT_EQ(got.sizes(), expected.sizes()) << name;
    EXPECT_LT((got - expected).abs().max().item<double>(), 0.6 / 255) << name;  // 8-bit rounding only
  }
}

TEST(StylizeBatchCli, FolderByOptimisationFallsOutOfTheSameLoop) {
  const std::string base = test::temp_dir("folder_gatys");
  fs::create_directories(base + "/in");
  write_image(base + "/in/x.png", synthetic_landscape(24, 32, 3));
  write_image(base + "/in/y.png", synthetic_landscape(32, 24, 4));
  write_image(base + "/style.png", synthetic_painting(32, 32, 5));
  auto r = run_cli("stylize -q -c " + base + "/in -s " + base + "/style.png --iterations 2 --image-size 32 -o " + base + "/out");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const std::string stem : {"x", "y"}) {
    EXPECT_TRUE(fs::exists(base + "/out/" + stem + ".png")) << stem;
    EXPECT_TRUE(fs::exists(base + "/out/" + stem + ".losses.jsonl")) << stem;
    EXPECT_TRUE(fs::exists(base + "/out/" + stem + ".json")) << stem;
  }
}

TEST(StylizeBatchCli, StdinToStdoutCarriesOnlyTheImage) {
  const std::string dir = test::temp_dir("stdio");
  write_image(dir + "/photo.png", synthetic_landscape(45, 61, 3));
  auto r = run_cli("stylize -c - -o - --model " + kTransformer + " < " + dir + "/photo.png > " + dir + "/out.png");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::vector<uint8_t> bytes = file_bytes(dir + "/out.png");
  ASSERT_GT(bytes.size(), 8u);
  EXPECT_EQ(bytes[1], 'P');  // a PNG from the first byte: nothing else went to stdout
  EXPECT_EQ(bytes[2], 'N');
  EXPECT_NE(r.output.find("wrote stdout"), std::string::npos) << r.output;  // messages go to stderr
  EXPECT_FALSE(fs::exists(dir + "/-.json"));
  // The same pixels as from a file.
  r = run_cli("stylize -q -c " + dir + "/photo.png --model " + kTransformer + " -o " + dir + "/file.png");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(torch::equal(decode_image(bytes, "stdout").rgb, read_image(dir + "/file.png").rgb));
  // --format jpg: a JPEG.
  r = run_cli("stylize -q -c - -o - --format jpg --model " + kTransformer + " < " + dir + "/photo.png > " + dir + "/out.jpg");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::vector<uint8_t> jpeg = file_bytes(dir + "/out.jpg");
  ASSERT_GT(jpeg.size(), 2u);
  EXPECT_EQ(jpeg[0], 0xFF);
  EXPECT_EQ(jpeg[1], 0xD8);
  EXPECT_EQ(decode_image(jpeg, "stdout").width(), 61);
}

TEST(StylizeBatchCli, MistakesNameTheFlag) {
  const std::string photos = photo_folder("folder_mistakes");
  auto expect = [](const std::string& args, const std::string& needle) {
    auto r = run_cli(args);
    EXPECT_NE(r.exit_code, 0) << args << "\n" << r.output;
    EXPECT_NE(r.output.find(needle), std::string::npos) << "expected '" << needle << "' in:\n" << r.output;
    EXPECT_EQ(r.output.find("internal error"), std::string::npos) << r.output;
  };
  expect("stylize -c " + photos + " --model " + kTransformer, "--output");               // no output folder
  expect("stylize -c " + photos + " --model " + kTransformer + " -o " + photos, "--output");  // onto the photos
  expect("stylize -c " + photos + " --model " + kTransformer + " -o - ", "--output");    // a folder into a stream
  expect("stylize -c " + photos + "/a.png --model " + kTransformer + " --format gif -o - > /dev/null", "--format");
  expect("stylize -c " + photos + "/a.png --model " + kTransformer + " --format jpg -o x.png", "--format");
  expect("stylize -c - --model " + kTransformer + " -o - < /dev/null > /dev/null", "no image on stdin");
  expect("stylize -c - --model " + kTransformer + " -o - < " + photos + "/broken.png > /dev/null", "stdin");
}
