#!/usr/bin/env bash
# The one-pass networks in fp32 and bf16 (nn/precision.h), impasto beside PyTorch in one run, on the
# same machine, one after the other:
#   1. the CPU's model and flags (`impasto list`: bf16 is native only with AVX512-BF16 or AMX);
#   2. impasto: BM_StyleNet (TransformerNet and resnet_9blocks at 512 and 1024 px, fp32 and bf16,
#      with GFLOP/s and the bf16 output's PSNR against fp32) and BM_ConvPeak (one 3x3 convolution,
#      128 -> 128 channels: the rate this machine reaches per mode);
#   3. PyTorch with impasto's allocator and OpenMP settings (the fair reference), fp32 and
#      torch.autocast bf16, the same architectures with random weights;
#   4. PyTorch out of the box, the same.
# Usage: bench/precision.sh [seconds per PyTorch figure (5)]. Needs build/ and python3-torch.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-5}
build/impasto list | sed -n '/^cpu:/,$p'
build/impasto_bench --benchmark_filter='BM_StyleNet|BM_ConvPeak'
echo "== PyTorch with impasto's runtime settings (MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=1073741824 OMP_WAIT_POLICY=PASSIVE)"
MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=1073741824 OMP_WAIT_POLICY=PASSIVE \
  /usr/bin/python3 bench/reference_style_nets.py --nets-only --seconds "$seconds"
echo "== PyTorch out of the box"
/usr/bin/python3 bench/reference_style_nets.py --nets-only --seconds "$seconds"
