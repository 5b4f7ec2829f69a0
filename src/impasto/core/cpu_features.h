#pragma once
// What this CPU can do, detected at run time (machines differ: the same binary runs where bf16 or
// AVX-512 are missing). Read once with CPUID and, for the vector registers, XGETBV (an instruction
// set counts only when the operating system saves its registers). Printed beside every benchmark
// figure and by `impasto list`; the reduced-precision paths (nn/precision.h) choose by it.
#include <string>

namespace impasto {

struct CpuFeatures {
  std::string vendor;  // GenuineIntel, AuthenticAMD, ... ("" off x86)
  std::string model;   // the brand string, e.g. "AMD EPYC 9B14"
  bool avx2 = false, fma = false;
  bool avx512f = false, avx512bw = false, avx512_vnni = false, avx512_bf16 = false;
  bool avx_vnni = false;
  bool amx_tile = false, amx_bf16 = false, amx_int8 = false;

  // Native bf16 arithmetic (AVX512-BF16 dot products or AMX tiles): oneDNN's bf16 convolutions run
  // at about twice the fp32 rate; without it they are emulated and slower than fp32.
  bool native_bf16() const { return avx512_bf16 || amx_bf16; }
  // Native int8 dot products (VNNI or AMX-INT8).
  bool native_int8() const { return avx512_vnni || avx_vnni || amx_int8; }
  // The flags above that are present, space-separated in Linux's /proc/cpuinfo names
  // ("avx2 fma avx512f avx512bw avx512_vnni avx512_bf16 ..."); "none" when none is.
  std::string flags() const;
};

const CpuFeatures& cpu_features();

}  // namespace impasto
