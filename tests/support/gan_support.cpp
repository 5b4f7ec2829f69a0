#include "gan_support.h"

#include "impasto/train/gan_trainer.h"

namespace impasto::test {

std::string tiny_gan_run(const std::string& dir, const std::string& synthetic, int64_t categories) {
  GanTrainOptions o;
  o.data.synthetic = synthetic;
  o.data.size = 32;
  o.data.batch_size = 8;
  o.data.workers = 1;
  o.nets.z_dim = 8;
  o.nets.g_width = 4;
  o.nets.d_width = 4;
  if (synthetic == "ring8") o.nets.mlp_hidden = 8;
  if (categories > 0) {
    o.nets.arch = "fastgan";
    o.nets.categories = categories;
  }
  o.steps = 2;
  o.log_every = 1;
  o.checkpoint_every = 10;
  o.device = "cpu";
  train_gan(o, dir, {});
  return dir;
}

}  // namespace impasto::test
