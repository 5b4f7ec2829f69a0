// ONNX export checked in a second, independent runtime: every exported network is read by OpenCV's
// dnn module and run on the same inputs; its outputs must equal impasto's within 1e-4 (the networks'
// outputs are images in [0,1]). A layer ONNX cannot express is refused by name.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <opencv2/dnn.hpp>

#include "impasto/core/error.h"
#include "impasto/data/synthetic.h"
#include "impasto/io/onnx.h"
#include "impasto/nn/cyclegan_nets.h"
#include "impasto/nn/gan_model.h"
#include "impasto/nn/gan_nets.h"
#include "impasto/nn/onnx_export.h"
#include "impasto/nn/transformer_net.h"
#include "impasto/style/export.h"
#include "test_support.h"

namespace impasto::test {
namespace {

// A float32 NCHW tensor as an OpenCV blob and back.
cv::Mat to_blob(const at::Tensor& t) {
  const at::Tensor c = t.contiguous().to(torch::kFloat32);
  std::vector<int> dims(c.sizes().begin(), c.sizes().end());
  cv::Mat blob(static_cast<int>(dims.size()), dims.data(), CV_32F);
  std::memcpy(blob.ptr<float>(), c.data_ptr<float>(), c.numel() * sizeof(float));
  return blob;
}

at::Tensor from_blob(const cv::Mat& m) {
  std::vector<int64_t> dims(m.size.p, m.size.p + m.dims);
  return torch::from_blob(const_cast<float*>(m.ptr<float>()), dims, torch::kFloat32).clone();
}

// The exported file run by OpenCV on `input` (fed to the graph's single input).
at::Tensor run_in_opencv(const std::string& onnx, const at::Tensor& input) {
  cv::dnn::Net net = cv::dnn::readNetFromONNX(onnx);
  net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  net.setInput(to_blob(input));
  return from_blob(net.forward());
}

double max_diff(const at::Tensor& a, const at::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  if (a.sizes() != b.sizes()) return 1e9;
  const double d = (a - b).abs().max().item<double>();
  std::printf("max |opencv - impasto| = %.2e\n", d);
  return d;
}

TEST(OnnxExport, TransformerNetRunsTheSameInOpenCv) {
  const std::string dir = temp_dir("onnx_transformer");
  const TransformerNet net = load_transformer_net(fixture("style_nets/transformer_w4.pth"));
  const at::Tensor photo = synthetic_landscape(40, 56, 3);  // multiples of 4
  at::Tensor expected;
  {
    torch::NoGradGuard no_grad;
    expected = net->forward(photo);
  }
  const OnnxExportResult r = export_onnx(fixture("style_nets/transformer_w4.pth"), dir + "/t.onnx");
  EXPECT_EQ(r.kind, "transformer_net");
  EXPECT_GT(r.nodes, 30);
  EXPECT_LT(max_diff(run_in_opencv(dir + "/t.onnx", photo), expected), 1e-4);
  // The same file at another size: height and width are dynamic.
  const at::Tensor other = synthetic_landscape(64, 32, 4);
  torch::NoGradGuard no_grad;
  EXPECT_LT(max_diff(run_in_opencv(dir + "/t.onnx", other), net->forward(other)), 1e-4);
}

TEST(OnnxExport, CycleGanGeneratorsRunTheSameInOpenCv) {
  const std::string dir = temp_dir("onnx_cyclegan");
  struct Case {
    std::string file;
    int64_t h, w;
  };
  for (const Case& c : {Case{"style_nets/resnet6_ngf2_instance_G.pth", 32, 48}, Case{"style_nets/unet128_ngf1_batch_G.pth", 128, 128},
                        Case{"style_nets/resnet2_ngf2_batch_dropout_G.pth", 24, 20}}) {
    SCOPED_TRACE(c.file);
    const CycleGanGenerator g = load_cyclegan_generator(fixture(c.file));
    const at::Tensor photo = synthetic_landscape(c.h, c.w, 5);
    at::Tensor expected;
    {
      torch::NoGradGuard no_grad;
      expected = translate(*g, photo);
    }
    const OnnxExportResult r = export_onnx(fixture(c.file), dir + "/g.onnx");
    EXPECT_EQ(r.kind, "cyclegan_generator");
    EXPECT_LT(max_diff(run_in_opencv(dir + "/g.onnx", photo), expected), 1e-4);
  }
}

TEST(OnnxExport, DcganGeneratorsRunTheSameInOpenCv) {
  const std::string dir = temp_dir("onnx_dcgan");
  for (const auto& [norm, upsample] : {std::pair<std::string, std::string>{"batch", "transposed"}, {"pixel", "nearest"}}) {
    SCOPED_TRACE(norm + "/" + upsample);
    GanNetOptions o;
    o.arch = "dcgan";
    o.size = 32;
    o.z_dim = 8;
    o.g_width = 4;
    o.g_norm = norm;
    o.g_upsample = upsample;
    torch::manual_seed(3);
    auto g = make_generator(o);
    {  // running statistics other than the initial 0 and 1
      torch::NoGradGuard no_grad;
      g->train();
      for (int i = 0; i < 3; ++i) g->forward(torch::randn({6, o.z_dim}));
    }
    g->eval();
    const at::Tensor z = torch::randn({3, o.z_dim});
    at::Tensor expected;
    {
      torch::NoGradGuard no_grad;
      expected = from_gan_range(g->forward(z)).clamp(0, 1);
    }
    generator_onnx(*g, o).write(dir + "/g.onnx", "impasto test", "");
    EXPECT_LT(max_diff(run_in_opencv(dir + "/g.onnx", z), expected), 1e-4);
  }
}

TEST(OnnxExport, TheCliExportsAGanRunsGenerator) {
  const std::string dir = temp_dir("onnx_cli");
  CommandResult r = run_cli("train gan -q --synthetic digits --size 32 --channels 1 --z-dim 8 --g-width 4 --d-width 4 "
                            "--batch-size 4 --steps 3 --num-samples 4 --out " + dir + "/run");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_cli("export --model " + dir + "/run -o " + dir + "/g.onnx");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("dcgan_generator"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("'z' [N,8]"), std::string::npos) << r.output;
  GanModel model = load_gan_model(dir + "/run");
  const at::Tensor z = sample_latents(2, 8, 0, 11);
  EXPECT_LT(max_diff(run_in_opencv(dir + "/g.onnx", z), generate(model, z)), 1e-4);
  expect_cli_failure("export --model " + dir + "/nothing.pth -o " + dir + "/x.onnx", "nothing.pth");
}

TEST(OnnxExport, ALayerOnnxCannotExpressIsNamed) {
  torch::nn::Sequential seq(torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 4, 3)), torch::nn::Softmax2d());
  OnnxGraph g("x");
  g.input("x", {1, 3, 8, 8});
  const std::string message = expect_error<OptionError>([&] { onnx_forward(*seq, g, "x", "net"); });
  EXPECT_NE(message.find("net.1"), std::string::npos) << message;
  EXPECT_NE(message.find("Softmax2d"), std::string::npos) << message;
  // Not a model at all: named by its file.
  const std::string dir = temp_dir("onnx_bad");
  EXPECT_NE(expect_error<FormatError>([&] { export_onnx(fixture("style_nets/basic_ndf2_instance_D.pth"), dir + "/d.onnx"); })
                .find("basic_ndf2_instance_D.pth"),
            std::string::npos);
  EXPECT_THROW(export_onnx(dir + "/missing.pth", dir + "/m.onnx"), FileError);
}

}  // namespace
}  // namespace impasto::test
