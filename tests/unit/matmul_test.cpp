// nn/matmul.h: dense_bmm through oneDNN must give LibTorch's bmm to float32 accuracy for every layout
// the Gram products use (transposed views read in place), bf16 inputs with float32 sums, and fall
// back to at::bmm for what it does not take.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "impasto/nn/matmul.h"

namespace impasto {
namespace {

double relative_error(const at::Tensor& a, const at::Tensor& b) {
  return ((a.to(torch::kDouble) - b.to(torch::kDouble)).norm() / b.to(torch::kDouble).norm()).item<double>();
}

TEST(DenseBmm, MatchesBmmInEveryLayout) {
  torch::manual_seed(5);
  // A Gram's shapes: F F^T (rows or columns), S F and F S; a batch of two; odd sizes.
  const at::Tensor f = torch::randn({2, 37, 1001}), s = torch::randn({2, 37, 37}), rows = torch::randn({2, 1001, 37});
  struct Product { const char* name; at::Tensor a, b; };
  for (const Product& p : {Product{"F F^T", f, f.transpose(1, 2)}, Product{"F'^T F'", rows.transpose(1, 2), rows},
                           Product{"S F", s, f}, Product{"F' S", rows, s},
                           Product{"broadcast batch", s[0].unsqueeze(0).expand({2, 37, 37}), f},
                           Product{"strided slice", f.slice(2, 0, 1001, 2), rows.slice(1, 0, 1001, 2)}}) {
    SCOPED_TRACE(p.name);
    const at::Tensor out = dense_bmm(p.a, p.b);
    const at::Tensor ref = at::bmm(p.a.to(torch::kDouble), p.b.to(torch::kDouble));
    EXPECT_EQ(out.scalar_type(), torch::kFloat);
    EXPECT_TRUE(out.is_contiguous());
    ASSERT_EQ(out.sizes(), ref.sizes());
    EXPECT_LT(relative_error(out, ref), 1e-6);
  }
}

// bf16 inputs: the products of bf16 numbers are exact in float32, so the result is the float32
// product of the rounded inputs, not a bf16-rounded one.
TEST(DenseBmm, Bf16InputsSumInFloat32) {
  torch::manual_seed(6);
  const at::Tensor f = torch::randn({1, 64, 4096}).to(torch::kBFloat16);
  const at::Tensor out = dense_bmm(f, f.transpose(1, 2));
  EXPECT_EQ(out.scalar_type(), torch::kFloat);
  const at::Tensor ref = at::bmm(f.to(torch::kDouble), f.transpose(1, 2).to(torch::kDouble));
  EXPECT_LT(relative_error(out, ref), 1e-5);  // float32 sums of 4096 terms; a bf16 result would be off by ~1e-3
}

TEST(DenseBmm, FallsBackToBmm) {
  torch::manual_seed(7);
  const at::Tensor a = torch::randn({1, 5, 9}, torch::kDouble), b = torch::randn({1, 9, 4}, torch::kDouble);
  const at::Tensor out = dense_bmm(a, b);  // float64 (the losses' gradient checks) stays float64
  EXPECT_EQ(out.scalar_type(), torch::kDouble);
  EXPECT_TRUE(torch::allclose(out, at::bmm(a, b), 0, 1e-14));
  const at::Tensor af = a.to(torch::kFloat), bf = b.to(torch::kFloat);
  set_onednn_matmul_enabled(false);
  const at::Tensor off = dense_bmm(af, bf);
  set_onednn_matmul_enabled(true);
  EXPECT_TRUE(torch::equal(off, at::bmm(af, bf)));
  EXPECT_THROW(dense_bmm(af, bf.transpose(1, 2)), c10::Error);  // [1,5,9] x [1,4,9]: shapes that do not chain
}

}  // namespace
}  // namespace impasto
