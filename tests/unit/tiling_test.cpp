// Tiled application of image-to-image networks (style/tiling.h): covers the image, blends without
// seams, matches the untiled result for networks whose reach is within the overlap, keeps odd sizes.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "impasto/core/error.h"
#include "impasto/style/tiling.h"
#include "test_support.h"

using namespace impasto;

TEST(Tiling, StartsCoverTheLengthWithTheOverlap) {
  for (int64_t length : {1, 100, 512, 513, 1000, 4096, 4097}) {
    const auto starts = tile_starts(length, 512, 64);
    ASSERT_FALSE(starts.empty());
    EXPECT_EQ(starts.front(), 0);
    EXPECT_EQ(std::min<int64_t>(starts.back() + 512, length), length) << length;
    for (size_t i = 1; i < starts.size(); ++i) {
      EXPECT_GT(starts[i], starts[i - 1]);
      EXPECT_GE(starts[i - 1] + 512 - starts[i], 64) << "overlap at " << length;
    }
  }
  EXPECT_EQ(tile_starts(1000, 512, 64).size(), 3u);  // 2 tiles would share only 24 px
}

TEST(Tiling, PointwiseNetworksGiveTheUntiledResult) {
  const at::Tensor image = torch::rand({1, 3, 301, 517});
  auto net = [](const at::Tensor& x) { return torch::sigmoid(x * 3 - 1); };
  int64_t calls = 0, reported_total = 0;
  const at::Tensor tiled = apply_tiled(image, net, TileOptions{128, 16, 1}, [&](int64_t done, int64_t total) {
    calls = done;
    reported_total = total;
  });
  EXPECT_EQ(tiled.sizes(), image.sizes());
  EXPECT_LT((tiled - net(image)).abs().max().item<float>(), 1e-5);
  EXPECT_EQ(calls, reported_total);
  EXPECT_EQ(reported_total, static_cast<int64_t>(tile_starts(301, 128, 16).size() * tile_starts(517, 128, 16).size()));
}

TEST(Tiling, BlendingHidesBorderEffectsOfConvolutions) {
  // A 5x5 blur with zero padding darkens every tile's border; the ramps give those pixels small
  // weights, so the tiled result stays close to the untiled one everywhere.
  const at::Tensor image = torch::rand({1, 1, 200, 260});
  const at::Tensor kernel = torch::full({1, 1, 5, 5}, 1.0 / 25);
  auto net = [&](const at::Tensor& x) { return torch::conv2d(x, kernel, {}, 1, 2); };
  const at::Tensor full = net(image);
  const at::Tensor tiled = apply_tiled(image, net, TileOptions{96, 32, 1});
  const at::Tensor naive = apply_tiled(image, net, TileOptions{96, 0, 1});  // no overlap: seams
  const double err = (tiled - full).abs().max().item<double>(), seam = (naive - full).abs().max().item<double>();
  EXPECT_LT(err, 0.25 * seam) << "blended " << err << " vs unblended " << seam;
  EXPECT_LT((tiled - full).abs().mean().item<double>(), 2e-3);
}

TEST(Tiling, TilesArePaddedToTheNetworksStride) {
  // A network that only takes multiples of 4 (down and up by 4) still gets odd-sized tiles.
  auto net = [](const at::Tensor& x) {
    EXPECT_EQ(x.size(2) % 4, 0);
    EXPECT_EQ(x.size(3) % 4, 0);
    return torch::upsample_nearest2d(torch::avg_pool2d(x, 4), {x.size(2), x.size(3)});
  };
  for (int64_t tile : {64, 1000}) {
    const at::Tensor out = apply_tiled(torch::rand({1, 3, 99, 141}), net, TileOptions{tile, 8, 4});
    EXPECT_EQ(out.sizes(), (std::vector<int64_t>{1, 3, 99, 141}));
  }
  // Tiny images are padded by replication.
  EXPECT_EQ(apply_tiled(torch::rand({1, 3, 2, 3}), net, TileOptions{}).sizes(), (std::vector<int64_t>{1, 3, 2, 3}));
}

TEST(Tiling, BadOptionsNameTheOption) {
  auto id = [](const at::Tensor& x) { return x; };
  const at::Tensor image = torch::rand({1, 3, 10, 10});
  EXPECT_NE(test::expect_error<OptionError>([&] { apply_tiled(image, id, TileOptions{64, 32, 4}); }).find("tile"), std::string::npos);
  EXPECT_NE(test::expect_error<OptionError>([&] { apply_tiled(image, id, TileOptions{64, -1, 4}); }).find("overlap"), std::string::npos);
  test::expect_error<OptionError>([&] { apply_tiled(torch::rand({2, 3, 10, 10}), id, TileOptions{}); });
}

TEST(Tiling, AlignedStartsKeepTheOverlapOnTheNetworksStride) {
  for (int64_t length : {100, 130, 513, 1000, 4097}) {
    for (int64_t align : {1, 4}) {
      const auto starts = tile_starts(length, 128, 16, align);
      EXPECT_EQ(starts.front(), 0);
      for (int64_t s : starts) EXPECT_EQ(s % align, 0) << length;
      if (length > 128) {
        EXPECT_GE(length - starts.back(), 128) << length;
        EXPECT_LT(length - starts.back(), 128 + align) << length;
      }
      for (size_t i = 1; i < starts.size(); ++i) EXPECT_GE(starts[i - 1] + 128 - starts[i], 16) << length;
    }
  }
}

TEST(Tiling, CoresPartitionTheImage) {
  const TileOptions o{128, 24, 4, 4};
  const int64_t H = 301, W = 517;
  const auto plan = plan_tiles(H, W, o);
  EXPECT_GT(plan.size(), 6u);
  at::Tensor count = torch::zeros({H, W}, torch::kInt32);
  using torch::indexing::Slice;
  for (const TilePlacement& t : plan) {
    EXPECT_LE(t.y, t.core_top);
    EXPECT_LE(t.core_bottom, t.y + t.height);
    EXPECT_LE(t.x, t.core_left);
    EXPECT_LE(t.core_right, t.x + t.width);
    EXPECT_EQ(t.y % 4, 0);
    EXPECT_EQ(t.x % 4, 0);
    EXPECT_TRUE(t.core_top % 4 == 0 && t.core_left % 4 == 0);
    count.index({Slice(t.core_top, t.core_bottom), Slice(t.core_left, t.core_right)}).add_(1);
  }
  EXPECT_EQ(count.min().item<int>(), 1);
  EXPECT_EQ(count.max().item<int>(), 1);
}

TEST(Tiling, MeasuringEveryCoreGivesTheWholePaddedImagesStatistics) {
  // What a whole-image pass normalises with: the image padded at the bottom and right to the stride.
  torch::manual_seed(2);
  const at::Tensor image = torch::rand({1, 3, 301, 517}) * torch::linspace(0.2, 3, 517).view({1, 1, 1, 517}) +
                           torch::linspace(0, 5, 301).view({1, 1, 301, 1});
  InstanceNorm norm(3);
  int64_t tiles = 0;
  for_each_tile(image, [&](const at::Tensor& tile, const NormRegion& core) {
    EXPECT_EQ(tile.size(2) % 4, 0);
    EXPECT_EQ(tile.size(3) % 4, 0);
    norm->start_measuring(core);
    norm->forward(tile);
    ++tiles;
  }, TileOptions{128, 16, 4, 4});
  EXPECT_EQ(tiles, static_cast<int64_t>(plan_tiles(301, 517, TileOptions{128, 16, 4, 4}).size()));
  namespace F = torch::nn::functional;
  const at::Tensor padded = F::pad(image, F::PadFuncOptions({0, 3, 0, 3}).mode(torch::kReflect));  // 304 x 520
  const auto [var, mean] = torch::var_mean(padded, {0, 2, 3}, /*unbiased=*/false);
  const auto [measured_mean, measured_var] = norm->measured_statistics();
  EXPECT_EQ(norm->measured_count(), 304.0 * 520.0);
  EXPECT_LT((measured_mean - mean).abs().max().item<float>(), 1e-5);
  EXPECT_LT(((measured_var - var).abs() / var).max().item<float>(), 1e-5);
}
