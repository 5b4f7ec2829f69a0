// A feed-forward style network learns its style (Johnson et al. 2016): after a short CPU run on
// small synthetic content images, its outputs for content images it never saw are far closer to the
// style image in Gram statistics than those images themselves, while still keeping their content.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>

#include "impasto/data/dataset.h"
#include "impasto/data/synthetic.h"
#include "impasto/io/image.h"
#include "impasto/io/image_ops.h"
#include "impasto/losses/perceptual.h"
#include "impasto/nn/transformer_net.h"
#include "impasto/train/feedforward_trainer.h"
#include "test_support.h"

using namespace impasto;

namespace {

FeedforwardTrainOptions small_run(const std::string& style) {
  FeedforwardTrainOptions o;
  o.style = style;
  o.data.synthetic = "textures";
  o.data.size = 32;
  o.data.batch_size = 4;
  o.style_size = 64;
  o.net.width = 8;
  o.net.residual_blocks = 2;
  o.steps = 150;
  o.lr = 2e-3;
  o.seed = 1;
  o.device = "cpu";
  o.log_every = 25;
  o.sample_every = 1000;
  o.checkpoint_every = 100000;
  return o;
}

}  // namespace

TEST(FeedforwardLearning, StylizesUnseenImagesTowardsTheStyleAndKeepsTheirContent) {
  const std::string dir = test::temp_dir("feedforward_learning");
  const std::string style_path = dir + "/style.png";
  write_image(style_path, synthetic_painting(96, 96, 5));
  const FeedforwardTrainOptions o = resolve(small_run(style_path));
  train_feedforward(o, dir + "/run", {});
  TransformerNet net = load_transformer_net(dir + "/run/model.ckpt");

  // Judge with the training objective's own layers, unweighted.
  PerceptualWeights judge;
  judge.content_layers = o.content_layers;
  judge.style_layers = o.style_layers;
  judge.normalisation = parse_normalisation(o.normalisation);
  BackboneOptions b = o.backbone;
  PerceptualLoss loss(make_backbone(b), judge);
  loss.set_style(resize_image(read_image(style_path).rgb, o.style_size, o.style_size));

  DatasetOptions unseen = o.data;
  unseen.seed = 424242;  // not the training stream, not the validation stream
  unseen.batch_size = 16;
  unseen.workers = 0;
  auto data = make_dataset(unseen);
  data->start(0);
  const at::Tensor content = data->next().samples;
  torch::NoGradGuard no_grad;
  const at::Tensor stylized = net->forward(content);
  const FeatureMaps targets = loss.content_targets(content);
  const PerceptualTerms before = loss(content, targets), after = loss(stylized, targets);
  // How much more each output resembles its own input than another input (printed, not asserted: a
  // run this short learns the style first; its outputs are only about 5% closer to their own input).
  const PerceptualTerms mismatched = loss(stylized, loss.content_targets(content.roll(1, 0)));
  std::printf("unseen inputs: style loss %.3f -> %.3f (ratio %.3f), content loss %.3f (%.3f against other inputs)\n",
              before.style, after.style, after.style / before.style, after.content, mismatched.content);
  EXPECT_LT(after.style, 0.25 * before.style);
  // The content term stays bounded: the relative feature error is below the content's own energy.
  EXPECT_LT(after.content, 1.0);
}
