// The built-in AdaIN model (models/adain/decoder.ckpt, trained by impasto itself against the seeded
// random-vgg19 encoder): `impasto stylize --method adain` works with nothing downloaded, and what it
// gives is a stylization: much nearer the painting's style than the photo is, while keeping the
// photo's layout better than the painting does.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "impasto/data/synthetic.h"
#include "impasto/io/image.h"
#include "impasto/io/image_ops.h"
#include "impasto/metrics/style_distance.h"
#include "impasto/nn/backbone.h"
#include "impasto/style/adain.h"
#include "impasto/style/method.h"
#include "test_support.h"

using namespace impasto;

TEST(AdainBuiltin, StylizesOutOfTheBoxWithNothingDownloaded) {
  const std::string dir = test::temp_dir("adain_builtin_cli");
  write_image(dir + "/photo.png", synthetic_landscape(200, 300, 4));
  write_image(dir + "/painting.png", synthetic_painting(256, 256, 7));
  const auto r = test::run_cli("stylize --method adain -c " + dir + "/photo.png -s " + dir + "/painting.png -o " + dir + "/out.png");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // The default output size (512, longest side) at the photo's aspect ratio.
  EXPECT_EQ(read_image(dir + "/out.png").rgb.sizes(), (std::vector<int64_t>{1, 3, 341, 512}));
  EXPECT_EQ(method_registry().get("adain").backbone(Json::object()), "random-vgg19");
}

// Measured with the shipped model: style 0.39 of the photo's distance, content 0.58 of the painting's.
constexpr double kStyleRatio = 0.5, kContentRatio = 0.75;

// A painting held out of the model's training data (scripts/gather-adain-data.sh), from the web page's
// gallery.
TEST(AdainBuiltin, MovesThePhotoTowardsThePaintingAndKeepsItsLayout) {
  const at::Tensor photo = synthetic_landscape(256, 256, 11);
  const at::Tensor painting = read_image(test::fixture("../../server/web/styles/starry_night.jpg")).rgb;
  StylizeInputs inputs;
  inputs.content.rgb = photo;
  inputs.styles.push_back({"painting", painting, 1.0, {}});
  const at::Tensor out = stylize_once("adain", Json{{"image_size", 0}}, inputs).image.rgb;
  ASSERT_EQ(out.sizes(), photo.sizes());
  // Distances through the other no-file backbone (not the encoder the decoder was trained against).
  Backbone judge = make_backbone(BackboneOptions{});
  const PerceptualDistanceOptions d = resolve_distance_options(*judge, {});
  const double style_photo = style_distance(*judge, photo, painting, d).total;
  const double style_out = style_distance(*judge, out, painting, d).total;
  const double content_out = content_distance(*judge, out, photo, d).total;
  const double content_painting = content_distance(*judge, resize_image(painting, 256, 256), photo, d).total;
  EXPECT_LT(style_out, kStyleRatio * style_photo) << "style distance to the painting: photo " << style_photo << ", output " << style_out;
  EXPECT_LT(content_out, kContentRatio * content_painting)
      << "content distance to the photo: painting " << content_painting << ", output " << content_out;
}
