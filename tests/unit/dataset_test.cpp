// Training data (data/dataset.h): determinism per (seed, index) across datasets, worker counts,
// restarts and shards; image folders (recursive scan, resizing and cropping, corrupt files skipped
// with a warning); the bounded queue; typed errors; the synthetic sets.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include "impasto/core/error.h"
#include "impasto/data/dataset.h"
#include "impasto/data/synthetic.h"
#include "impasto/io/image.h"
#include "test_support.h"

using namespace impasto;

namespace {

namespace fs = std::filesystem;

// Collects log messages from any thread.
struct Log {
  std::mutex mutex;
  std::vector<std::string> warnings;
  Callbacks callbacks() {
    Callbacks cb;
    cb.log = [this](LogLevel level, const std::string& message) {
      std::lock_guard<std::mutex> lock(mutex);
      if (level == LogLevel::warn) warnings.push_back(message);
    };
    return cb;
  }
  std::vector<std::string> snapshot() {
    std::lock_guard<std::mutex> lock(mutex);
    return warnings;
  }
};

DatasetOptions synthetic(const std::string& name, int64_t batch, int workers = 2) {
  DatasetOptions o;
  o.synthetic = name;
  o.size = 32;
  o.batch_size = batch;
  o.workers = workers;
  o.seed = 7;
  return o;
}

// A constant-colour image, so every crop of it is recognisable: channel values (i*20, 255-i*20, 128)/255.
at::Tensor solid(int i, int64_t h = 20, int64_t w = 28) {
  auto img = torch::empty({1, 3, h, w});
  img[0][0].fill_(i * 20 / 255.0);
  img[0][1].fill_((255 - i * 20) / 255.0);
  img[0][2].fill_(128 / 255.0);
  return img;
}

// A folder of `count` small landscapes of different sizes and seeds (so crops and flips matter).
std::string landscape_folder(const std::string& name, int count) {
  const std::string dir = test::temp_dir(name);
  for (int i = 0; i < count; ++i)
    write_image(dir + "/img" + std::to_string(i) + ".png", synthetic_landscape(24 + 2 * i, 40 - i, uint64_t(i)));
  return dir;
}

DatasetOptions folder(const std::string& dir, int64_t batch, int workers = 2) {
  DatasetOptions o;
  o.folder = dir;
  o.size = 16;
  o.batch_size = batch;
  o.workers = workers;
  o.seed = 3;
  return o;
}

std::vector<Batch> take(Dataset& ds, int count) {
  std::vector<Batch> out;
  for (int i = 0; i < count; ++i) out.push_back(ds.next());
  return out;
}

void expect_same(const Batch& a, const Batch& b) {
  ASSERT_TRUE(torch::equal(a.samples, b.samples));
  ASSERT_EQ(a.labels.defined(), b.labels.defined());
  if (a.labels.defined()) ASSERT_TRUE(torch::equal(a.labels, b.labels));
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

}  // namespace

// ---- determinism -----------------------------------------------------------------------------------

TEST(Dataset, SameSeedAndIndexGiveSameSamples) {
  for (const std::string name : {"ring8", "digits", "textures"}) {
    auto a = make_dataset(synthetic(name, 16));
    auto b = make_dataset(synthetic(name, 16));
    auto ba = take(*a, 2), bb = take(*b, 2);
    for (int i = 0; i < 2; ++i) expect_same(ba[size_t(i)], bb[size_t(i)]);
    EXPECT_FALSE(torch::equal(ba[0].samples, ba[1].samples)) << name;
    auto other = synthetic(name, 16);
    other.seed = 8;
    EXPECT_FALSE(torch::equal(make_dataset(other)->next().samples, ba[0].samples)) << name;
  }
}

TEST(Dataset, WorkerCountDoesNotChangeTheStream) {
  const std::string dir = landscape_folder("workers", 5);
  for (bool from_folder : {false, true}) {
    DatasetOptions o = from_folder ? folder(dir, 4) : synthetic("digits", 8);
    o.crop = "random";
    o.flip = true;
    std::vector<std::vector<Batch>> runs;
    for (int workers : {1, 3, 0}) {
      o.workers = workers;
      auto ds = make_dataset(o);
      runs.push_back(take(*ds, 4));  // folder: 16 samples over 5 files, so three epochs
    }
    for (size_t r = 1; r < runs.size(); ++r)
      for (size_t i = 0; i < 4; ++i) expect_same(runs[0][i], runs[r][i]);
  }
}

TEST(Dataset, StartResumesAtAnyBatch) {
  const std::string dir = landscape_folder("resume", 3);
  for (bool from_folder : {false, true}) {
    DatasetOptions o = from_folder ? folder(dir, 2) : synthetic("textures", 4);
    o.crop = "random";
    o.flip = true;
    auto fresh = make_dataset(o);
    const auto stream = take(*fresh, 6);
    auto resumed = make_dataset(o);
    resumed->start(4);
    expect_same(resumed->next(), stream[4]);
    expect_same(resumed->next(), stream[5]);
    // Restarting a running stream (workers busy ahead) goes back cleanly.
    resumed->start(1);
    expect_same(resumed->next(), stream[1]);
    expect_same(resumed->next(), stream[2]);
    EXPECT_EQ(resumed->stats().delivered, 2);
  }
}

TEST(Dataset, ShardsTogetherEqualTheSingleProcessBatch) {
  const std::string dir = landscape_folder("shards", 5);
  for (int kind = 0; kind < 3; ++kind) {
    DatasetOptions o = kind == 0 ? synthetic("ring8", 8) : kind == 1 ? synthetic("textures", 8) : folder(dir, 8);
    o.crop = "random";
    o.flip = true;
    auto single = make_dataset(o);
    const auto whole = take(*single, 2);
    o.batch_size = 4;
    o.world_size = 2;
    std::vector<std::vector<Batch>> parts;
    for (int rank = 0; rank < 2; ++rank) {
      o.rank = rank;
      auto ds = make_dataset(o);
      parts.push_back(take(*ds, 2));
    }
    for (size_t b = 0; b < 2; ++b) {
      EXPECT_EQ(parts[0][b].samples.size(0), 4);
      const auto joined = torch::cat({parts[0][b].samples, parts[1][b].samples});
      EXPECT_TRUE(torch::equal(joined, whole[b].samples)) << "kind " << kind << " batch " << b;
      if (whole[b].labels.defined())
        EXPECT_TRUE(torch::equal(torch::cat({parts[0][b].labels, parts[1][b].labels}), whole[b].labels));
    }
  }
}

// ---- image folders -----------------------------------------------------------------------------

TEST(Dataset, EveryFileOncePerEpochInAShuffledOrder) {
  const std::string dir = test::temp_dir("epochs");
  for (int i = 0; i < 6; ++i) write_image(dir + "/f" + std::to_string(i) + ".png", solid(i));
  auto ds = make_dataset(folder(dir, 6));
  std::set<std::vector<int>> orders;
  for (int epoch = 0; epoch < 4; ++epoch) {
    const Batch b = ds->next();
    EXPECT_FALSE(b.labels.defined());
    std::vector<int> order;
    for (int64_t s = 0; s < 6; ++s) order.push_back(int(std::lround(b.samples[s][0].mean().item<double>() * 255 / 20)));
    EXPECT_EQ(std::set<int>(order.begin(), order.end()).size(), 6u) << "epoch " << epoch;
    orders.insert(order);
  }
  EXPECT_GE(orders.size(), 3u);  // 4 epochs of 720 possible orders
}

TEST(Dataset, ResizesTheShorterSideThenCrops) {
  const std::string dir = test::temp_dir("crop");
  // 40 x 80: red left half, blue right half; a 16 px centre crop of the 16 x 32 resize shows both.
  auto img = torch::zeros({1, 3, 40, 80});
  img.index_put_({0, 0, torch::indexing::Slice(), torch::indexing::Slice(0, 40)}, 1.0);
  img.index_put_({0, 2, torch::indexing::Slice(), torch::indexing::Slice(40, 80)}, 1.0);
  write_image(dir + "/a.png", img);
  auto o = folder(dir, 8);
  auto s = make_dataset(o)->next().samples;
  ASSERT_EQ(s.sizes(), (std::vector<int64_t>{8, 3, 16, 16}));
  EXPECT_GE(s.min().item<float>(), 0.0f);
  EXPECT_LE(s.max().item<float>(), 1.0f);
  EXPECT_NEAR(s[0][0].select(1, 0).mean().item<float>(), 1.0f, 1e-4);   // left column red
  EXPECT_NEAR(s[0][2].select(1, 15).mean().item<float>(), 1.0f, 1e-4);  // right column blue
  EXPECT_NEAR(s[0][0].narrow(1, 0, 8).mean().item<float>(), 1.0f, 1e-4);
  EXPECT_TRUE(torch::equal(s[0], s[7]));  // centre crops, no flips: all the same
  // Flips: some samples are mirrored (blue on the left); random crops: offsets vary.
  o.flip = true;
  o.crop = "random";
  o.batch_size = 32;
  s = make_dataset(o)->next().samples;
  const auto left_red = s.select(1, 0).select(2, 0).mean(1);  // [32] red in the left column
  EXPECT_GT((left_red > 0.99).sum().item<int64_t>(), 3);
  EXPECT_GT((left_red < 0.01).sum().item<int64_t>(), 3);
  std::set<int64_t> red_widths;
  for (int64_t i = 0; i < 32; ++i) red_widths.insert((s[i][0][0] > 0.5).sum().item<int64_t>());
  EXPECT_GE(red_widths.size(), 4u);
  // Grey: the channel mean.
  o.channels = 1;
  o.flip = false;
  o.crop = "center";
  s = make_dataset(o)->next().samples;
  ASSERT_EQ(s.sizes(), (std::vector<int64_t>{32, 1, 16, 16}));
  EXPECT_NEAR(s[0][0][0][0].item<float>(), 1.0f / 3.0f, 1e-4);
}

TEST(Dataset, PreprocessModesAsCycleGansReference) {
  // A 40 x 80 image whose red channel is the column index / 79 and green the row index / 39, so each
  // sample shows which part of the image it came from and at what scale.
  const std::string dir = test::temp_dir("preprocess");
  const at::Tensor cols = torch::linspace(0, 1, 80).view({1, 1, 1, 80}).expand({1, 1, 40, 80});
  const at::Tensor rows = torch::linspace(0, 1, 40).view({1, 1, 40, 1}).expand({1, 1, 40, 80});
  write_image(dir + "/ramp.png", torch::cat({cols, rows, torch::zeros({1, 1, 40, 80})}, 1));
  auto sample = [&](const std::string& mode, int64_t load, const std::string& crop = "center") {
    DatasetOptions o = folder(dir, 1, 0);
    o.preprocess = mode;
    o.load_size = load;
    o.crop = crop;
    return make_dataset(o)->next().samples[0];
  };
  // Over the 16 pixels of a crop, red rises by 15 f / 79 and green by 15 f / 39, f = original / resized
  // side (area averaging keeps a ramp a ramp; 8-bit files round each value by up to 1/510).
  auto red_span = [](const at::Tensor& s) { return (s[0][8][15] - s[0][8][0]).item<double>(); };
  auto green_span = [](const at::Tensor& s) { return (s[1][15][8] - s[1][0][8]).item<double>(); };
  // scale_shortside_and_crop (the default) at L = 16: 16 x 32, f = 2.5 both ways.
  const at::Tensor shortside = sample("scale_shortside_and_crop", 0);
  EXPECT_NEAR(red_span(shortside), 15 * 2.5 / 79, 0.01);
  EXPECT_NEAR(green_span(shortside), 15 * 2.5 / 39, 0.01);
  // resize_and_crop at L = 32: 32 x 32 (aspect not kept): f = 2.5 across, 1.25 down.
  const at::Tensor resized = sample("resize_and_crop", 32);
  EXPECT_NEAR(red_span(resized), 15 * 2.5 / 79, 0.01);
  EXPECT_NEAR(green_span(resized), 15 * 1.25 / 39, 0.01);
  // scale_width_and_crop at L = 32: 32 wide, 16 high: f = 2.5 both ways.
  const at::Tensor width = sample("scale_width_and_crop", 32);
  EXPECT_NEAR(red_span(width), 15 * 2.5 / 79, 0.01);
  EXPECT_NEAR(green_span(width), 15 * 2.5 / 39, 0.01);
  // crop: 16 x 16 of the 40 x 80 original, f = 1.
  const at::Tensor original = sample("crop", 0);
  EXPECT_NEAR(red_span(original), 15.0 / 79, 0.01);
  EXPECT_NEAR(green_span(original), 15.0 / 39, 0.01);
  // Random crops of resize_and_crop move over the whole L x L image.
  DatasetOptions o = folder(dir, 64, 0);
  o.preprocess = "resize_and_crop";
  o.load_size = 32;
  o.crop = "random";
  const at::Tensor batch = make_dataset(o)->next().samples;
  const at::Tensor left = batch.select(1, 0).select(1, 0).select(1, 0);  // red at each crop's corner
  EXPECT_LT(left.min().item<double>(), 0.1);
  EXPECT_GT(left.max().item<double>(), 0.4);
  // The default mode is the old behaviour, sample for sample.
  DatasetOptions plain = folder(dir, 4, 0), explicit_mode = plain;
  explicit_mode.preprocess = "scale_shortside_and_crop";
  explicit_mode.load_size = 16;
  EXPECT_TRUE(torch::equal(make_dataset(plain)->next().samples, make_dataset(explicit_mode)->next().samples));
}

TEST(Dataset, HeldOutFilesStayOutOfTheStream) {
  const std::string dir = test::temp_dir("holdout");
  for (int i = 0; i < 10; ++i) write_image(dir + "/img" + std::to_string(i) + ".png", solid(i));
  DatasetOptions o = folder(dir, 40, 0);
  o.hold_out = 3;
  auto train = make_dataset(o);
  EXPECT_EQ(train->stats().files, 7);
  EXPECT_NE(train->describe().find("3 more held out"), std::string::npos) << train->describe();
  o.held_out_only = true;
  auto held = make_dataset(o);
  EXPECT_EQ(held->stats().files, 3);
  // Which image a sample is: its red level (i * 20 / 255).
  auto images = [](const at::Tensor& s) {
    std::set<int> ids;
    for (int64_t k = 0; k < s.size(0); ++k) ids.insert(int(std::lround(s[k][0].mean().item<double>() * 255 / 20)));
    return ids;
  };
  const std::set<int> trained = images(train->next().samples), shown = images(held->next().samples);
  EXPECT_EQ(trained.size(), 7u);
  EXPECT_EQ(shown, (std::set<int>{1, 5, 8}));  // floor((2j + 1) * 10 / 6): evenly spread, sorted names
  for (int id : shown) EXPECT_EQ(trained.count(id), 0u) << id;
  o.hold_out = 10;
  EXPECT_EQ(test::failing_option([&] { make_dataset(o); }), "hold_out");
}

TEST(Dataset, GrowsSmallImagesToTheSize) {
  const std::string dir = test::temp_dir("grow");
  write_image(dir + "/small.png", synthetic_landscape(10, 12, 1));
  auto o = folder(dir, 2);
  o.size = 24;
  o.channels = 1;
  const auto s = make_dataset(o)->next().samples;
  ASSERT_EQ(s.sizes(), (std::vector<int64_t>{2, 1, 24, 24}));
  EXPECT_GE(s.min().item<float>(), 0.0f);
  EXPECT_LE(s.max().item<float>(), 1.0f);
}

TEST(Dataset, CorruptFilesAreSkippedWithAWarningOnce) {
  const std::string dir = test::temp_dir("corrupt");
  for (int i = 0; i < 6; ++i) write_image(dir + "/good" + std::to_string(i) + ".png", solid(i));
  // A truncated PNG and a text file with an image extension.
  auto bytes = read_file_bytes(dir + "/good0.png");
  std::ofstream(dir + "/truncated.png", std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size() / 2));
  write_text(dir + "/x.jpg", "this is not a JPEG\n");
  Log log;
  auto o = folder(dir, 8);
  o.workers = 3;
  auto ds = make_dataset(o, log.callbacks());
  EXPECT_EQ(ds->stats().files, 8);
  std::vector<Batch> batches = take(*ds, 5);  // five epochs
  for (const auto& b : batches) {
    ASSERT_EQ(b.samples.size(0), 8);
    // Every sample is one of the good pictures.
    for (int64_t s = 0; s < 8; ++s) {
      const double v = b.samples[s][0].mean().item<double>() * 255 / 20;
      EXPECT_NEAR(v, std::round(v), 1e-3);
      EXPECT_GE(std::lround(v), 0);
      EXPECT_LE(std::lround(v), 5);
    }
  }
  EXPECT_EQ(ds->stats().skipped, 2);
  const auto warnings = log.snapshot();
  ASSERT_EQ(warnings.size(), 2u);  // once per file, though every epoch meets both
  bool named_truncated = false, named_text = false;
  for (const auto& w : warnings) {
    named_truncated |= w.find("truncated.png") != std::string::npos;
    named_text |= w.find("x.jpg") != std::string::npos;
  }
  EXPECT_TRUE(named_truncated && named_text) << warnings[0] << " | " << warnings[1];
  // Substitution is deterministic: another dataset (other worker count) delivers the same.
  o.workers = 1;
  auto again = make_dataset(o);
  for (const auto& b : batches) expect_same(again->next(), b);
}

TEST(Dataset, ScansSubfoldersAndIgnoresOtherExtensions) {
  const std::string dir = test::temp_dir("scan");
  fs::create_directories(dir + "/a/b");
  fs::create_directories(dir + "/c.png");  // a folder with an image name
  write_image(dir + "/top.png", solid(0));
  write_image(dir + "/a/UPPER.PNG", solid(1));
  write_image(dir + "/a/b/deep.jpeg", solid(2));
  write_image(dir + "/a/b/photo.JPG", solid(3));
  write_image(dir + "/a/pic.webp", solid(4));
  write_image(dir + "/a/b/ignored.bmp", solid(5));
  write_text(dir + "/notes.txt", "hello");
  write_text(dir + "/a/readme.md", "hello");
  Log log;
  auto ds = make_dataset(folder(dir, 5), log.callbacks());
  EXPECT_EQ(ds->stats().files, 5);
  EXPECT_NE(ds->describe().find("(5 images)"), std::string::npos) << ds->describe();
  EXPECT_NE(ds->describe().find(dir), std::string::npos);
  const Batch b = ds->next();
  std::set<long> seen;
  for (int64_t s = 0; s < 5; ++s) seen.insert(std::lround(b.samples[s][1].mean().item<double>() * 255));
  EXPECT_EQ(seen.size(), 5u);  // JPEG shifts colours a little, but the five stay distinct
  EXPECT_EQ(ds->stats().skipped, 0);
  EXPECT_TRUE(log.snapshot().empty());
}

TEST(Dataset, FolderErrors) {
  EXPECT_NE(test::expect_error<FileError>([] { make_dataset(folder("/nonexistent/impasto/folder", 4)); })
                .find("/nonexistent/impasto/folder"),
            std::string::npos);
  const std::string empty = test::temp_dir("empty");
  EXPECT_NE(test::expect_error<FormatError>([&] { make_dataset(folder(empty, 4)); }).find("no image files"),
            std::string::npos);
  const std::string others = test::temp_dir("others");
  write_text(others + "/a.txt", "x");
  test::expect_error<FormatError>([&] { make_dataset(folder(others, 4)); });
  const std::string broken = test::temp_dir("broken");
  write_text(broken + "/a.png", "not a png");
  write_text(broken + "/b.jpg", "not a jpeg");
  Log log;
  EXPECT_NE(test::expect_error<FormatError>([&] { make_dataset(folder(broken, 4), log.callbacks()); })
                .find("none of the 2"),
            std::string::npos);
  EXPECT_EQ(log.snapshot().size(), 2u);
  // A file given instead of a folder.
  write_image(others + "/one.png", solid(1));
  test::expect_error<FileError>([&] { make_dataset(folder(others + "/one.png", 4)); });
}

TEST(Dataset, FilesThatVanishLaterFailInNext) {
  const std::string dir = test::temp_dir("vanish");
  write_image(dir + "/a.png", solid(1));
  write_image(dir + "/b.png", solid(2));
  auto o = folder(dir, 4);
  auto ds = make_dataset(o);
  fs::remove(dir + "/a.png");
  fs::remove(dir + "/b.png");
  test::expect_error<FormatError>([&] { ds->next(); });
  test::expect_error<FormatError>([&] { ds->next(); });  // the stream stays failed until start()
}

TEST(Dataset, BadOptionsNameTheOption) {
  struct Case {
    std::string option;
    std::function<void(DatasetOptions&)> change;
  };
  const std::vector<Case> cases = {
      {"data", [](DatasetOptions& o) { o.synthetic.clear(); }},
      {"data", [](DatasetOptions& o) { o.folder = "/tmp"; }},
      {"synthetic", [](DatasetOptions& o) { o.synthetic = "mnist"; }},
      {"size", [](DatasetOptions& o) { o.size = 4; }},
      {"channels", [](DatasetOptions& o) { o.channels = 2; }},
      {"crop", [](DatasetOptions& o) { o.crop = "corner"; }},
      {"preprocess", [](DatasetOptions& o) { o.preprocess = "scale_width"; }},
      {"load_size", [](DatasetOptions& o) { o.load_size = 16; }},  // below the crop (32)
      {"hold_out", [](DatasetOptions& o) { o.hold_out = 2; }},     // a synthetic set holds nothing out
      {"batch_size", [](DatasetOptions& o) { o.batch_size = 0; }},
      {"workers", [](DatasetOptions& o) { o.workers = -1; }},
      {"queue_batches", [](DatasetOptions& o) { o.queue_batches = 0; }},
      {"world_size", [](DatasetOptions& o) { o.world_size = 0; }},
      {"rank", [](DatasetOptions& o) { o.rank = 2, o.world_size = 2; }},
  };
  for (const auto& c : cases) {
    DatasetOptions o = synthetic("digits", 4);
    c.change(o);
    try {
      make_dataset(o);
      ADD_FAILURE() << "no error for " << c.option;
    } catch (const OptionError& e) {
      EXPECT_EQ(e.option(), c.option) << e.what();
    }
  }
  const std::string message = test::expect_error<OptionError>([] { make_dataset(synthetic("mnist", 4)); });
  EXPECT_NE(message.find("ring8, digits, digits-paper, digits-neon, digits-ttf, textures"), std::string::npos) << message;
}

// ---- the queue ---------------------------------------------------------------------------------

TEST(Dataset, QueueStaysBoundedWithASlowConsumer) {
  auto o = synthetic("digits", 8, 3);
  o.queue_batches = 2;
  auto ds = make_dataset(o);
  for (int i = 0; i < 8; ++i) {
    ds->next();
    std::this_thread::sleep_for(std::chrono::milliseconds(25));  // workers catch up and wait
    const DatasetStats s = ds->stats();
    EXPECT_LE(s.produced - s.delivered, 2) << "after batch " << i;
    EXPECT_LE(s.max_buffered, 2);
  }
  // The workers do work ahead, but only queue_batches batches.
  for (int wait = 0; wait < 200 && ds->stats().produced < 10; ++wait)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const DatasetStats s = ds->stats();
  EXPECT_EQ(s.delivered, 8);
  EXPECT_EQ(s.produced, 10);
  EXPECT_EQ(s.max_buffered, 2);
}

TEST(Dataset, DestroyingWhileWorkersWaitDoesNotHang) {
  const auto t0 = std::chrono::steady_clock::now();
  for (int round = 0; round < 5; ++round) {
    auto o = synthetic("textures", 4, 4);
    o.queue_batches = 1;
    auto ds = make_dataset(o);
    if (round > 0) ds->next();
    if (round > 1) std::this_thread::sleep_for(std::chrono::milliseconds(20));  // workers blocked on a full queue
    if (round > 2) ds->start(round);  // restarted, then destroyed at once
    ds.reset();
  }
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 2.0);
}

// ---- synthetic sets ------------------------------------------------------------------------------

TEST(Dataset, Ring8PointsLieOnEightModes) {
  const auto modes = ring8_modes();
  ASSERT_EQ(modes.sizes(), (std::vector<int64_t>{8, 2}));
  EXPECT_TRUE(torch::allclose(modes.norm(2, 1), torch::full({8}, kRingRadius), 1e-5, 1e-5));
  auto ds = make_dataset(synthetic("ring8", 400));
  EXPECT_EQ(ds->sample_shape(), (std::vector<int64_t>{2}));
  EXPECT_EQ(ds->num_classes(), 8);
  const auto b = take(*ds, 2);
  const auto points = torch::cat({b[0].samples, b[1].samples});  // [800,2]
  const auto labels = torch::cat({b[0].labels, b[1].labels});
  ASSERT_EQ(points.sizes(), (std::vector<int64_t>{800, 2}));
  EXPECT_EQ(labels.scalar_type(), torch::kInt64);
  const auto distances = torch::cdist(points, modes);  // [800,8]
  const auto [nearest_distance, nearest] = distances.min(1);
  EXPECT_TRUE(torch::equal(nearest, labels));
  EXPECT_GE((nearest_distance < 4 * kRingStd).sum().item<int64_t>(), 796);
  const auto counts = torch::bincount(labels, {}, 8);
  EXPECT_GT(counts.min().item<int64_t>(), 60) << counts;
  // The spread matches the stated std (per coordinate).
  const auto offsets = points - modes.index_select(0, labels);
  EXPECT_NEAR(offsets.std().item<double>(), kRingStd, 0.003);
}

TEST(Dataset, DigitsAreBalancedVariedAndContrasted) {
  auto o = synthetic("digits", 250, 2);
  auto ds = make_dataset(o);
  EXPECT_EQ(ds->num_classes(), 10);
  EXPECT_EQ(ds->describe(), "synthetic digits 32px");
  const auto b = take(*ds, 4);
  const auto images = torch::cat({b[0].samples, b[1].samples, b[2].samples, b[3].samples});
  const auto labels = torch::cat({b[0].labels, b[1].labels, b[2].labels, b[3].labels});
  ASSERT_EQ(images.sizes(), (std::vector<int64_t>{1000, 3, 32, 32}));
  EXPECT_TRUE(images.is_contiguous());
  EXPECT_GE(images.min().item<float>(), 0.0f);
  EXPECT_LE(images.max().item<float>(), 1.0f);
  const auto counts = torch::bincount(labels, {}, 10);
  EXPECT_GE(counts.min().item<int64_t>(), 60) << counts;
  EXPECT_LE(counts.max().item<int64_t>(), 140) << counts;
  // Contrast: the luminance between dark and light percentiles of each picture.
  const auto lum = (torch::tensor({0.2126f, 0.7152f, 0.0722f}).view({1, 3, 1, 1}) * images).sum(1).flatten(1);
  const auto sorted = std::get<0>(lum.sort(1));
  const auto spread = sorted.select(1, 1024 * 99 / 100) - sorted.select(1, 1024 / 100);
  EXPECT_GE((spread > 0.3).sum().item<int64_t>(), 990) << spread.min();
  // Varied: different pictures of the same digit differ.
  EXPECT_GT((images[0] - images[1]).abs().mean().item<float>(), 0.05f);
  // Grey.
  o.channels = 1;
  o.batch_size = 8;
  const auto grey = make_dataset(o)->next().samples;
  ASSERT_EQ(grey.sizes(), (std::vector<int64_t>{8, 1, 32, 32}));
  EXPECT_TRUE(torch::allclose(grey, images.narrow(0, 0, 8).mean(1, true), 1e-5, 1e-5));
}

// The second renderer: TrueType faces, colour grounds, placements anywhere. Balanced labels, every
// picture with a clear ink/ground contrast, colours of every kind, and pictures unlike the Hershey set's.
TEST(Dataset, TrueTypeDigitsAreBalancedColouredAndUnlikeTheHersheyOnes) {
  auto o = synthetic("digits-ttf", 250, 2);
  auto ds = make_dataset(o);
  EXPECT_EQ(ds->num_classes(), 10);
  EXPECT_EQ(ds->describe(), "synthetic digits-ttf 32px");
  const auto b = take(*ds, 4);
  const auto images = torch::cat({b[0].samples, b[1].samples, b[2].samples, b[3].samples});
  const auto labels = torch::cat({b[0].labels, b[1].labels, b[2].labels, b[3].labels});
  ASSERT_EQ(images.sizes(), (std::vector<int64_t>{1000, 3, 32, 32}));
  EXPECT_GE(images.min().item<float>(), 0.0f);
  EXPECT_LE(images.max().item<float>(), 1.0f);
  const auto counts = torch::bincount(labels, {}, 10);
  EXPECT_GE(counts.min().item<int64_t>(), 60) << counts;
  EXPECT_LE(counts.max().item<int64_t>(), 140) << counts;
  const auto lum = (torch::tensor({0.2126f, 0.7152f, 0.0722f}).view({1, 3, 1, 1}) * images).sum(1).flatten(1);
  const auto sorted = std::get<0>(lum.sort(1));
  const auto spread = sorted.select(1, 1024 * 99 / 100) - sorted.select(1, 1024 / 100);
  EXPECT_GE((spread > 0.3).sum().item<int64_t>(), 980) << spread.min();
  // Coloured grounds: the corner pixel's channels differ by more than 0.15 in most pictures.
  const auto corner = images.index({torch::indexing::Slice(), torch::indexing::Slice(), 1, 1});  // [N,3]
  const auto chroma = std::get<0>(corner.max(1)) - std::get<0>(corner.min(1));
  EXPECT_GT((chroma > 0.15).to(at::kDouble).mean().item<double>(), 0.5);
  // Same seed, same pictures; the Hershey set's pictures for the same seed are others.
  const auto again = take(*make_dataset(o), 1)[0].samples;
  EXPECT_TRUE(torch::equal(again, b[0].samples));
  const auto hershey = take(*make_dataset(synthetic("digits", 250, 2)), 1)[0].samples;
  EXPECT_GT((hershey - b[0].samples).abs().mean().item<float>(), 0.1f);
}

TEST(Dataset, TexturesAreVariedAndInRange) {
  auto o = synthetic("textures", 100, 2);
  auto ds = make_dataset(o);
  EXPECT_EQ(ds->num_classes(), 5);
  const Batch b = ds->next();
  ASSERT_EQ(b.samples.sizes(), (std::vector<int64_t>{100, 3, 32, 32}));
  EXPECT_GE(b.samples.min().item<float>(), 0.0f);
  EXPECT_LE(b.samples.max().item<float>(), 1.0f);
  EXPECT_EQ(torch::bincount(b.labels, {}, 5).min().item<int64_t>() > 5, true);
  // Structure within each picture, and pictures differ from each other.
  const auto stds = b.samples.flatten(1).std(1);
  EXPECT_GE((stds > 0.05).sum().item<int64_t>(), 95) << stds.min();
  const auto diffs = (b.samples.narrow(0, 1, 99) - b.samples.narrow(0, 0, 99)).abs().flatten(1).mean(1);
  EXPECT_GT(diffs.min().item<float>(), 0.02f);
  EXPECT_EQ(ds->describe(), "synthetic textures 32px");
}

TEST(Dataset, SampleSeedMixesSeedAndIndex) {
  std::set<uint64_t> seen;
  for (uint64_t seed = 0; seed < 4; ++seed)
    for (uint64_t index = 0; index < 256; ++index) seen.insert(sample_seed(seed, index));
  EXPECT_EQ(seen.size(), 1024u);
  EXPECT_EQ(sample_seed(1, 2), sample_seed(1, 2));
  EXPECT_NE(sample_seed(1, 2), sample_seed(2, 1));
}
