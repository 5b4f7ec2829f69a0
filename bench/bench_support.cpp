#include "bench_support.h"

#include <torch/torch.h>
#include <unistd.h>

#include <cmath>
#include <map>
#include <vector>

#include "impasto/io/weights.h"

namespace impasto::bench {

std::string random_vgg_checkpoint(const std::string& arch) {
  static std::map<std::string, std::string> made;
  if (made.count(arch)) return made[arch];
  const std::string path = "/tmp/impasto_bench_" + arch + "_" + std::to_string(getpid()) + ".ckpt";
  const std::vector<int> cfg = arch == "vgg16" ? std::vector<int>{64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0}
                                               : std::vector<int>{64, 64, 0, 128, 128, 0, 256, 256, 256, 256, 0, 512, 512, 512, 512, 0, 512, 512, 512, 512, 0};
  Checkpoint ck;
  ck.arch = arch;
  int64_t in = 3, index = 0;
  for (int width : cfg) {
    if (width == 0) {
      index += 1;  // pool
      continue;
    }
    const std::string key = "features." + std::to_string(index);
    ck.tensors.emplace_back(key + ".weight", torch::randn({width, in, 3, 3}) * std::sqrt(2.0 / (9.0 * in)));
    ck.tensors.emplace_back(key + ".bias", torch::zeros({width}));
    in = width;
    index += 2;  // conv + relu
  }
  save_checkpoint(path, ck);
  made[arch] = path;
  return path;
}

}  // namespace impasto::bench
