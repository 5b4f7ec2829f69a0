// stylize_with_impasto PHOTO PAINTING OUT [SIZE]: the photo in the painting's style by optimisation
// (Gatys et al., on the built-in random-weight backbone: no download), through the installed library.
// Prints the methods the library offers and what the run did.
#include <cstdio>
#include <string>

#include "impasto/core/error.h"
#include "impasto/io/image.h"
#include "impasto/style/method.h"

int main(int argc, char** argv) {
  if (argc != 4 && argc != 5) {
    std::fprintf(stderr, "usage: %s PHOTO PAINTING OUT [SIZE]\n", argv[0]);
    return 2;
  }
  try {
    using namespace impasto;
    for (const auto& method : method_registry().methods())
      std::printf("method %s: %s\n", method->name().c_str(), method->description().summary.c_str());
    StylizeInputs inputs;
    inputs.content = read_image(argv[1]);
    inputs.styles.push_back(StyleInput{argv[2], read_image(argv[2]).rgb, 1.0, {}});
    const int64_t size = argc == 5 ? std::stoll(argv[4]) : 128;
    const StylizeResult result = stylize_once("gatys", Json{{"image_size", size}, {"iterations", 20}}, inputs);
    write_image(argv[3], result.image.rgb, result.image.alpha);
    std::printf("wrote %s (%lldx%lld): %s\n", argv[3], static_cast<long long>(result.image.width()),
                static_cast<long long>(result.image.height()), result.detail.c_str());
  } catch (const impasto::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
