#pragma once
// GAN runs for tests that need one's generator (painted styles, the service's GAN catalogue).
#include <cstdint>
#include <string>

namespace impasto::test {

// A tiny GAN run on a built-in set (32 px, z_dim 8, widths 4, two steps: the pictures need not be
// good, only the run's own) written to `dir`; returns `dir`. With `categories` > 0: fastgan nets with
// that many latent categories.
std::string tiny_gan_run(const std::string& dir, const std::string& synthetic = "digits", int64_t categories = 0);

}  // namespace impasto::test
