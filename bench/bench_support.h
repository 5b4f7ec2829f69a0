#pragma once
// Helpers shared by the benchmarks.
#include <string>

namespace impasto::bench {

// Full-width torchvision-layout VGG weights ("vgg16" or "vgg19") with random values (He init, zero
// biases), written once per process to a temporary impasto checkpoint so that the real loading path
// is used (speed does not depend on the values). Returns its path.
std::string random_vgg_checkpoint(const std::string& arch);

}  // namespace impasto::bench
