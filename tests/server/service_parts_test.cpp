// The service's parts on their own: request parsing, the job database, keys and rate limits.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include "impasto/core/error.h"
#include "impasto/io/image.h"
#include "server/api_keys.h"
#include "server/job_request.h"
#include "server/job_store.h"
#include "impasto/style/method.h"
#include "server_support.h"
#include "test_support.h"

namespace impasto::test {
namespace {

using server::FormField;

std::vector<FormField> fields(std::vector<FormField> extra, bool with_style = true) {
  std::vector<FormField> f = {FormField{"content", "photo.png", "image/png", png_bytes(20, 30)}};
  if (with_style) f.push_back(FormField{"style", "s.png", "image/png", png_bytes(16, 16, true)});
  for (auto& e : extra) f.push_back(std::move(e));
  return f;
}

TEST(JobRequest, TextFieldsBecomeTypedOptionsAsOnTheCommandLine) {
  const server::ServerOptions limits;
  const auto r = server::parse_job_request(
      fields({{"iterations", "", "", "120"}, {"style_layers", "", "", "s1_relu1, s2_relu1:0.5"}, {"preserve_colors", "", "", "luminance"},
              {"options", "", "", "{\"style_weight\": 2.5, \"iterations\": 7}"}}),
      limits);
  EXPECT_EQ(r.method, "gatys");
  EXPECT_EQ(r.options["iterations"], 120);  // a field overrides the options object
  EXPECT_EQ(r.options["style_weight"], 2.5);
  EXPECT_EQ(r.options["style_layers"], Json::array({"s1_relu1", "s2_relu1:0.5"}));
  EXPECT_EQ(r.options["preserve_colors"], "luminance");
  EXPECT_FALSE(r.options.contains("image_size"));  // the method's default (512) is within max_side
  EXPECT_EQ(r.content.format, "png");
  EXPECT_EQ(r.content.image.width(), 30);
  ASSERT_EQ(r.styles.size(), 1u);
}

TEST(JobRequest, LimitsAndMistakesNameTheField) {
  server::ServerOptions limits;
  limits.max_side = 256;
  limits.max_iterations = 50;
  auto option = [&](std::vector<FormField> f, bool style = true) {
    return failing_option([&] { server::parse_job_request(fields(std::move(f), style), limits); });
  };
  EXPECT_EQ(option({{"image_size", "", "", "512"}}), "image_size");
  EXPECT_EQ(option({{"iterations", "", "", "51"}}), "iterations");
  EXPECT_EQ(option({{"weights", "", "", "/etc/passwd"}}), "weights");  // paths are the server's
  EXPECT_EQ(option({{"model", "", "", "x"}, {"method", "", "", "gatys"}}), "model");
  EXPECT_EQ(option({{"method", "", "", "no-such-method"}}), "method");
  EXPECT_EQ(option({{"format", "", "", "gif"}}), "format");
  EXPECT_EQ(option({{"init", "", "", "image"}}), "init");
  EXPECT_EQ(option({{"style_blend_weights", "", "", "1,2"}}), "style_blend_weights");
  EXPECT_EQ(option({{"extra", "x.png", "", "bytes"}}), "extra");
  EXPECT_EQ(option({}, /*style=*/false), "style");
  EXPECT_EQ(option({{"model", "", "", "tiny"}}), "style");  // a model takes no style image
  // A method with a model option may name none: the service then runs its built-in model.
  EXPECT_EQ(server::parse_job_request(fields({{"method", "", "", "adain"}}), limits).model, "");
  // Unset limits are applied instead of refused.
  const auto r = server::parse_job_request(fields({}), limits);
  EXPECT_EQ(r.options["iterations"], 50);
  EXPECT_EQ(r.options["image_size"], 256);
  // Sizes that multiply the output side stay within the side limit: a style image of 4 x 256 px is
  // refused, also when the side is the limit applied for an unset image_size; 4 x 64 px is fine.
  EXPECT_EQ(option({{"image_size", "", "", "256"}, {"style_scale", "", "", "4"}}), "style_scale");
  EXPECT_EQ(option({{"style_scale", "", "", "1.5"}}), "style_scale");
  EXPECT_EQ(server::parse_job_request(fields({{"image_size", "", "", "64"}, {"style_scale", "", "", "4"}}), limits).options["style_scale"], 4);
}

TEST(JobRequest, TheImagesOfARequestShareOnePixelBudgetCheckedFromTheirHeaders) {
  // A flat 3000x3000 picture compresses to almost nothing; cut short, it cannot even be decoded: the
  // refusal must come from the headers alone.
  const auto encoded = encode_image(torch::zeros({1, 3, 3000, 3000}), ".png");
  const std::string promise(encoded.begin(), encoded.begin() + encoded.size() / 2);
  server::ServerOptions limits;  // 16 MP an image, 40 MP a request
  std::vector<FormField> f = fields({}, /*with_style=*/false);
  for (int i = 0; i < 5; ++i) f.push_back(FormField{"style", "big.png", "image/png", promise});
  const std::string message = expect_error<LimitError>([&] { server::parse_job_request(f, limits); });
  EXPECT_NE(message.find("45000600 pixels together"), std::string::npos) << message;
  // Four of them fit the budget, and then the cut file is found.
  f.pop_back();
  EXPECT_THROW(server::parse_job_request(f, limits), FormatError);
}

TEST(ApiKeys, Sha256MatchesTheStandardVectorsAndKeysAreRandom) {
  // FIPS 180-2 test vector.
  EXPECT_EQ(server::sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string a = server::generate_api_key(), b = server::generate_api_key();
  EXPECT_EQ(a.size(), 68u);
  EXPECT_EQ(a.rfind("imp_", 0), 0u);
  EXPECT_NE(a, b);
}

TEST(ApiKeys, TokenBucketAllowsTheRateAndSaysHowLongToWait) {
  server::RateLimiter limiter;
  const auto t0 = server::RateLimiter::Clock::now();
  for (int i = 0; i < 6; ++i) EXPECT_EQ(limiter.acquire(1, 6, t0), 0) << i;  // a full bucket of 6
  EXPECT_NEAR(limiter.acquire(1, 6, t0), 10.0, 1e-9);                        // 6/min: one every 10 s
  EXPECT_NEAR(limiter.acquire(1, 6, t0 + std::chrono::seconds(4)), 6.0, 1e-6);
  EXPECT_EQ(limiter.acquire(1, 6, t0 + std::chrono::seconds(11)), 0);
  EXPECT_EQ(limiter.acquire(2, 6, t0), 0);   // keys have their own buckets
  EXPECT_EQ(limiter.acquire(3, 0, t0), 0);   // 0 = unlimited
}

}  // namespace
}  // namespace impasto::test

namespace impasto::test {

// Hostile option data: JSON nested far deeper than any option, megabytes of it, huge strings and
// arrays as values. Each is an error naming the field, with a message of bounded length (no user
// value echoed whole), and no recursion over the user's data.
TEST(JobRequest, HostileOptionDataIsRefusedByNameWithShortMessages) {
  const server::ServerOptions limits;
  auto refused = [&](std::vector<FormField> extra) -> std::pair<std::string, std::string> {
    try {
      server::parse_job_request(fields(std::move(extra)), limits);
    } catch (const OptionError& e) {
      return {e.option(), e.what()};
    }
    ADD_FAILURE() << "accepted";
    return {};
  };
  const std::string deep = std::string(200000, '[') + std::string(200000, ']');
  auto [option, message] = refused({{"options", "", "", "{\"style_weight\": " + deep + "}"}});
  EXPECT_EQ(option, "options");
  EXPECT_LT(message.size(), 400u);
  std::tie(option, message) = refused({{"options", "", "", "{\"x\": " + deep + "}"}});
  EXPECT_EQ(option, "options");
  std::tie(option, message) = refused({{"options", "", "", deep}});
  EXPECT_EQ(option, "options");
  // Deep but short: refused for its depth, before anything copies it.
  const std::string nested = std::string(5000, '[') + std::string(5000, ']');
  std::tie(option, message) = refused({{"options", "", "", "{\"style_weight\": " + nested + "}"}});
  EXPECT_EQ(option, "options");
  EXPECT_NE(message.find("levels deep"), std::string::npos) << message;
  std::tie(option, message) = refused({{"style_weight", "", "", nested}});
  EXPECT_EQ(option, "style_weight");
  std::tie(option, message) = refused({{"style_blend_weights", "", "", nested}});
  EXPECT_EQ(option, "style_blend_weights");
  const std::string huge(4'000'000, 'a');
  std::tie(option, message) = refused({{"preserve_colors", "", "", huge}});
  EXPECT_EQ(option, "preserve_colors");
  EXPECT_LT(message.size(), 400u);
  std::tie(option, message) = refused({{"options", "", "", "{\"" + huge + "\": 1}"}});
  EXPECT_LT(message.size(), 400u);
  std::string array = "[";
  for (int i = 0; i < 5000; ++i) array += "\"s1_relu1\",";
  array += "\"s1_relu1\"]";
  // A layer repeated thousands of times would multiply the objective's cost: the method's check
  // (which the service runs before queueing) refuses a layer given twice.
  const auto repeated = server::parse_job_request(fields({{"options", "", "", "{\"style_layers\": " + array + "}"}}), limits);
  EXPECT_EQ(failing_option([&] { method_registry().get("gatys").check(repeated.options); }), "style_layers");
}

}  // namespace impasto::test
