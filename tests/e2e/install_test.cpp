// The installable library: `cmake --install` puts the CLI, libimpasto, its public headers (and none
// of the internal ones), a CMake package and a pkg-config file under a prefix; a program of its own
// (examples/consumer) is configured with find_package(impasto CONFIG) against that prefix, built and
// run: it stylizes an image through the library API; and built again with pkg-config's flags alone.
#include <gtest/gtest.h>

#include <filesystem>

#include "impasto/data/synthetic.h"
#include "impasto/io/image.h"
#include "test_support.h"

namespace impasto::test {
namespace {

namespace fs = std::filesystem;

TEST(Install, AProgramBuildsAgainstTheInstalledPackageAndStylizes) {
  const std::string dir = temp_dir("install");
  const std::string prefix = dir + "/prefix";
  CommandResult r = run_shell("cmake --install " IMPASTO_BUILD_DIR " --prefix " + prefix);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* file : {"bin/impasto", "lib/libimpasto.a", "include/impasto/style/method.h", "include/impasto/core/option_schema.h",
                           "include/impasto/explain/explain.h", "include/impasto/metrics/evaluate.h",
                           "lib/cmake/impasto/impastoConfig.cmake", "lib/cmake/impasto/impastoTargets.cmake", "lib/pkgconfig/impasto.pc"})
    EXPECT_TRUE(fs::exists(prefix + "/" + file)) << file;
  for (const char* internal : {"include/impasto/io/pickle.h", "include/impasto/explain/detail.h", "include/impasto/data/batch_stream.h"})
    EXPECT_FALSE(fs::exists(prefix + "/" + internal)) << internal << " is internal";

  r = run_shell(prefix + "/bin/impasto --version");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("impasto 0.1.0"), std::string::npos) << r.output;

  r = run_shell("PKG_CONFIG_PATH=" + prefix + "/lib/pkgconfig pkg-config --cflags --libs impasto");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("-limpasto"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("-ltorch"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(prefix + "/lib/pkgconfig/../../include"), std::string::npos) << r.output;

  // The consumer, built with the compiler cache when the machine has one.
  const std::string build = dir + "/consumer-build";
  r = run_shell("launcher=$(command -v ccache || true); cmake -S " IMPASTO_SOURCE_DIR "/examples/consumer -B " + build +
                " -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=" + prefix +
                " ${launcher:+-DCMAKE_CXX_COMPILER_LAUNCHER=$launcher} && cmake --build " + build);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  write_image(dir + "/photo.png", synthetic_landscape(48, 64, 1));
  write_image(dir + "/painting.png", synthetic_painting(64, 64, 2));
  r = run_shell(build + "/stylize_with_impasto " + dir + "/photo.png " + dir + "/painting.png " + dir + "/out.png 64");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("method gatys"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("final loss"), std::string::npos) << r.output;
  const at::Tensor out = read_image(dir + "/out.png").rgb;
  EXPECT_EQ(out.size(3), 64);
  EXPECT_EQ(out.size(2), 48);
  // Stylized: not the photo any more.
  EXPECT_GT((out - read_image(dir + "/photo.png").rgb.narrow(2, 0, 48)).abs().mean().item<double>(), 0.01);

  // The same program built with the compiler and pkg-config alone.
  r = run_shell("c++ -std=c++17 -O1 " IMPASTO_SOURCE_DIR "/examples/consumer/main.cpp -o " + dir + "/pc-consumer $(PKG_CONFIG_PATH=" +
                prefix + "/lib/pkgconfig pkg-config --cflags --libs impasto) && " + dir + "/pc-consumer " + dir + "/photo.png " +
                dir + "/painting.png " + dir + "/out-pc.png 32");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(read_image(dir + "/out-pc.png").rgb.size(3), 32);
}

}  // namespace
}  // namespace impasto::test
