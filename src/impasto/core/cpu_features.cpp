#include "impasto/core/cpu_features.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define IMPASTO_X86 1
#endif

#include <cstdint>
#include <cstring>
#include <vector>

namespace impasto {
namespace {

#ifdef IMPASTO_X86
struct Registers {
  uint32_t a = 0, b = 0, c = 0, d = 0;
};

bool cpuid(uint32_t leaf, uint32_t subleaf, Registers& r) {
  return __get_cpuid_count(leaf, subleaf, &r.a, &r.b, &r.c, &r.d) != 0;
}

// The register state the operating system saves (XCR0), read with XGETBV when OSXSAVE says it may be.
uint64_t saved_state() {
  uint32_t lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

bool bit(uint32_t value, int n) { return (value >> n) & 1u; }

CpuFeatures detect() {
  CpuFeatures f;
  Registers r;
  if (!cpuid(0, 0, r)) return f;
  const uint32_t max_leaf = r.a;
  char vendor[13] = {};
  std::memcpy(vendor, &r.b, 4);
  std::memcpy(vendor + 4, &r.d, 4);
  std::memcpy(vendor + 8, &r.c, 4);
  f.vendor = vendor;

  Registers ext;
  if (cpuid(0x80000000u, 0, ext) && ext.a >= 0x80000004u) {
    char brand[49] = {};
    for (uint32_t i = 0; i < 3; ++i) {
      Registers p;
      cpuid(0x80000002u + i, 0, p);
      std::memcpy(brand + 16 * i, &p, 16);
    }
    std::string s = brand;
    const size_t first = s.find_first_not_of(' ');
    const size_t last = s.find_last_not_of(' ');
    f.model = first == std::string::npos ? "" : s.substr(first, last - first + 1);
  }

  Registers one;
  cpuid(1, 0, one);
  const bool osxsave = bit(one.c, 27);
  const uint64_t xcr0 = osxsave ? saved_state() : 0;
  const bool avx_state = (xcr0 & 0x6) == 0x6;               // SSE and AVX registers
  const bool avx512_state = avx_state && (xcr0 & 0xe0) == 0xe0;  // opmask, ZMM0-15 upper, ZMM16-31
  const bool amx_state = (xcr0 & 0x60000) == 0x60000;      // XTILECFG and XTILEDATA
  f.fma = avx_state && bit(one.c, 12);

  if (max_leaf >= 7) {
    Registers seven;
    cpuid(7, 0, seven);
    f.avx2 = avx_state && bit(seven.b, 5);
    f.avx512f = avx512_state && bit(seven.b, 16);
    f.avx512bw = avx512_state && bit(seven.b, 30);
    f.avx512_vnni = avx512_state && bit(seven.c, 11);
    f.amx_bf16 = amx_state && bit(seven.d, 22);
    f.amx_tile = amx_state && bit(seven.d, 24);
    f.amx_int8 = amx_state && bit(seven.d, 25);
    if (seven.a >= 1) {
      Registers seven_one;
      cpuid(7, 1, seven_one);
      f.avx_vnni = avx_state && bit(seven_one.a, 4);
      f.avx512_bf16 = avx512_state && bit(seven_one.a, 5);
    }
  }
  return f;
}
#else
CpuFeatures detect() { return CpuFeatures{}; }
#endif

}  // namespace

std::string CpuFeatures::flags() const {
  const std::vector<std::pair<const char*, bool>> all = {
      {"avx2", avx2},         {"fma", fma},           {"avx512f", avx512f},   {"avx512bw", avx512bw},
      {"avx512_vnni", avx512_vnni}, {"avx512_bf16", avx512_bf16}, {"avx_vnni", avx_vnni},
      {"amx_tile", amx_tile}, {"amx_bf16", amx_bf16}, {"amx_int8", amx_int8}};
  std::string out;
  for (const auto& [name, present] : all)
    if (present) out += (out.empty() ? "" : " ") + std::string(name);
  return out.empty() ? "none" : out;
}

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect();
  return features;
}

}  // namespace impasto
