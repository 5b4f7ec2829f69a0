// The parts of the method contract: option schemas (strict reading, defaults, ranges, choices), the
// resource cache that sessions share, the method registry, and sessions that keep what they set up.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <atomic>
#include <thread>

#include "impasto/core/option_schema.h"
#include "impasto/core/resource_cache.h"
#include "impasto/style/gatys.h"
#include "impasto/style/method.h"
#include "style_inputs.h"
#include "test_support.h"

namespace impasto::test {
namespace {

OptionSchema example_schema() {
  return OptionSchema{integer_option("steps", 10, "steps").with_range(1, 100),
                      number_option("weight", Json(), "weight (default: decided later)").with_range(0, std::nullopt),
                      string_option("mode", "a", "mode").with_choices({"a", "b"}),
                      boolean_option("fast", false, "fast"),
                      layers_option("layers", "layers")};
}

TEST(OptionSchema, ResolveFillsDefaultsAndKeepsGivenValues) {
  const Json r = example_schema().resolve(Json{{"steps", 20.0}, {"mode", "b"}, {"layers", {"x", "y:0.5"}}}, "test");
  EXPECT_EQ(r["steps"], 20);
  EXPECT_TRUE(r["steps"].is_number_integer());  // 20.0 reads as the whole number 20
  EXPECT_TRUE(r["weight"].is_null());           // decided later
  EXPECT_EQ(r["mode"], "b");
  EXPECT_EQ(r["fast"], false);
  EXPECT_EQ(r["layers"], Json::array({"x", "y:0.5"}));
  EXPECT_EQ(example_schema().resolve(Json{{"weight", nullptr}}, "test")["steps"], 10);  // null = unset
}

TEST(OptionSchema, EveryMistakeNamesTheOption) {
  const OptionSchema s = example_schema();
  auto option_of = [&](const Json& j) { return failing_option([&] { s.resolve(j, "test"); }); };
  EXPECT_EQ(option_of(Json{{"stepz", 3}}), "stepz");
  EXPECT_EQ(option_of(Json{{"steps", 0}}), "steps");
  EXPECT_EQ(option_of(Json{{"steps", 2.5}}), "steps");
  EXPECT_EQ(option_of(Json{{"steps", "3"}}), "steps");
  EXPECT_EQ(option_of(Json{{"weight", -1}}), "weight");
  EXPECT_EQ(option_of(Json{{"mode", "c"}}), "mode");
  EXPECT_EQ(option_of(Json{{"fast", 1}}), "fast");
  EXPECT_EQ(option_of(Json{{"layers", 3}}), "layers");
  EXPECT_EQ(option_of(Json{{"layers", {{"x", "heavy"}}}}), "layers");
  EXPECT_EQ(failing_option([&] { s.resolve(Json::array(), "test"); }), "options");
  const std::string message = expect_error<OptionError>([&] { s.resolve(Json{{"stepz", 3}}, "method test"); });
  EXPECT_NE(message.find("valid: steps, weight, mode, fast, layers"), std::string::npos) << message;
  EXPECT_NE(expect_error<OptionError>([&] { s.resolve(Json{{"steps", 500}}, "t"); }).find("1..100"), std::string::npos);
}

TEST(OptionSchema, DescribesItselfForFrontEnds) {
  OptionSchema s = example_schema();
  s.add(string_option("path", "", "a file").operator_only());
  const Json all = s.to_json(true), clients = s.to_json(false);
  EXPECT_EQ(all.size(), 6u);
  EXPECT_EQ(clients.size(), 5u);  // the operator's option is not shown to clients
  EXPECT_EQ(all[0]["name"], "steps");
  EXPECT_EQ(all[0]["type"], "integer");
  EXPECT_EQ(all[0]["min"], 1);
  EXPECT_EQ(all[2]["choices"], Json::array({"a", "b"}));
  EXPECT_THROW(s.add(boolean_option("fast", true, "again")), std::logic_error);
}

TEST(ResourceCache, LoadsOnceForConcurrentCallersAndForgetsTheLeastRecentlyUsed) {
  ResourceCache cache(2);
  std::atomic<int> loads{0};
  auto load = [&] {
    ++loads;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return std::make_shared<int>(42);
  };
  std::vector<std::thread> threads;
  std::vector<std::shared_ptr<int>> got(4);
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&, i] { got[i] = cache.get<int>("a", std::function<std::shared_ptr<int>()>(load)); });
  for (auto& t : threads) t.join();
  EXPECT_EQ(loads.load(), 1);
  for (const auto& g : got) EXPECT_EQ(g.get(), got[0].get());
  cache.get<int>("b", std::function<std::shared_ptr<int>()>(load));
  cache.get<int>("c", std::function<std::shared_ptr<int>()>(load));  // "a" goes
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(*got[0], 42);  // still alive for who holds it
  cache.get<int>("a", std::function<std::shared_ptr<int>()>(load));
  EXPECT_EQ(loads.load(), 4);
  EXPECT_EQ(cache.loads(), 4);
  // A failed load is not kept: the next caller tries again.
  int attempts = 0;
  std::function<std::shared_ptr<int>()> failing = [&]() -> std::shared_ptr<int> {
    if (++attempts == 1) throw FileError("x", "not yet");
    return std::make_shared<int>(7);
  };
  EXPECT_THROW(cache.get<int>("d", failing), FileError);
  EXPECT_EQ(*cache.get<int>("d", failing), 7);
}

TEST(MethodRegistry, ChoosesTheMethodTheOptionsMean) {
  MethodRegistry& r = method_registry();
  EXPECT_EQ(r.method_for({}), "gatys");
  EXPECT_EQ(r.method_for({"style_weight", "iterations"}), "gatys");
  EXPECT_EQ(r.method_for({"model"}), "network");
  EXPECT_EQ(r.method_for({"model", "strength"}), "network");
  EXPECT_EQ(r.method_for({"model", "style_weight"}), "network");  // explain: the rest measures its result
  EXPECT_EQ(r.method_for({"no_such_option"}), "gatys");            // whose check names it
  EXPECT_EQ(failing_option([&] { r.get("adain-x"); }), "method");
  const Json d = r.get("gatys").description().to_json();
  EXPECT_EQ(d["capabilities"]["iterative"], true);
  EXPECT_EQ(d["capabilities"]["masks"], true);
  EXPECT_EQ(r.get("network").description().to_json()["capabilities"]["model"], true);
}

TEST(MethodRegistry, GatysChecksEveryOptionWithoutLoadingTheBackbone) {
  const Method& gatys = method_registry().get("gatys");
  const Json effective = gatys.check(Json{{"style_weight", 2.0}});
  EXPECT_EQ(effective["content_weight"], 0.01);  // the default backbone's recipe
  EXPECT_EQ(effective["style_layers"].size(), 8u);
  // A VGG's layer names are checked from its description: no weight file is read (there is none).
  EXPECT_EQ(failing_option([&] { gatys.check(Json{{"backbone", "vgg19"}}); }), "weights");
  EXPECT_EQ(expect_error<FileError>([&] { gatys.check(Json{{"backbone", "vgg19"}, {"weights", "/nonexistent.pth"}}); })
                .find("/nonexistent.pth"),
            0u);
  const std::string fixture_weights = fixture("weights/vgg19_w8.pth");
  EXPECT_EQ(failing_option([&] {
              gatys.check(Json{{"backbone", "vgg19"}, {"weights", fixture_weights}, {"style_layers", {"relu9_1"}}});
            }),
            "style_layers");
  const Json vgg = gatys.check(Json{{"backbone", "vgg19"}, {"weights", fixture_weights}});
  EXPECT_EQ(vgg["content_layers"], (Json{{"relu4_2", 1.0}}));
}

TEST(GatysSession, ManyImagesInOrderMatchSeparateRuns) {
  // One session for two photos gives what a session per photo gives: what it keeps (the backbone,
  // the style Grams per size) changes nothing but the cost.
  const StylizeInputs inputs = landscape_and_painting(48);
  const Json options = {{"image_size", 48}, {"iterations", 6}, {"device", "cpu"}};
  auto session = open_session("gatys", options, StyleSet{inputs.styles, inputs.init});
  Image other = inputs.content;
  other.rgb = inputs.content.rgb.flip(3);
  const at::Tensor first = session->stylize(inputs.content, {}).image.rgb;
  const at::Tensor second = session->stylize(other, {}).image.rgb;
  StylizeInputs other_inputs = inputs;
  other_inputs.content = other;
  EXPECT_LT((first - stylize_once("gatys", options, inputs).image.rgb).abs().max().item<double>(), 1e-5);
  EXPECT_LT((second - stylize_once("gatys", options, other_inputs).image.rgb).abs().max().item<double>(), 1e-5);
  EXPECT_GT((first - second.flip(3)).abs().max().item<double>(), 0.0);  // two different photos were stylized
}

}  // namespace
}  // namespace impasto::test
