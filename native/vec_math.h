// Small vectorizable float kernels shared by the CPU ops (cpu_ops.cc, agop.cc, nn_ops.cc):
// an exp that needs no libm call, and f64-accumulated row reductions.
#pragma once

#include <cstdint>
#include <cstring>

namespace ncgpu {
namespace cpu {

// ln(FLT_MIN): the smallest argument whose exp is a normal float
constexpr float kExpMinNormal = -87.33654475f;

// exp(x) for float, written with only arithmetic, conversions and selects so
// that loops calling it vectorize without libm. Relative error is a few ulp.
// exp(x) = 2^n * e^r with n = round(x / ln 2), |r| <= ln(2) / 2; e^r by a
// degree-7 Taylor polynomial (truncation error < 1e-8 relative).
// Below `lo` (a compile-time constant at every call site) it returns 0.
inline float exp_vec(float x, float lo = kExpMinNormal) {
  const float hi = 88.0f;          // keeps 2^n finite; exp(88) ~ 1.65e38
  float xc = x < lo ? lo : x;
  xc = xc > hi ? hi : xc;
  // Round x / ln 2 to the nearest integer with the 1.5 * 2^23 trick.
  const float shifter = 12582912.0f;
  float n = (xc * 1.44269504088896341f + shifter) - shifter;
  // Cody-Waite reduction: ln 2 split into an exact high part and a low part.
  float r = xc - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  float y = p * scale;
  y = x < lo ? 0.0f : y;
  return x != x ? x : y;  // NaN in, NaN out
}

// Dot product of two float vectors accumulated in double. Four independent
// accumulators keep the loop pipelined (and let the compiler vectorize it).
inline double dot_d(const float* a, const float* b, int64_t n) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += static_cast<double>(a[i]) * b[i];
    s1 += static_cast<double>(a[i + 1]) * b[i + 1];
    s2 += static_cast<double>(a[i + 2]) * b[i + 2];
    s3 += static_cast<double>(a[i + 3]) * b[i + 3];
  }
  for (; i < n; ++i) s0 += static_cast<double>(a[i]) * b[i];
  return (s0 + s1) + (s2 + s3);
}

// Sum of a float row in double with four independent accumulators (pipelined, exact enough for
// rows of any width).
inline double sum_d(const float* a, int64_t n) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += a[i];
    s1 += a[i + 1];
    s2 += a[i + 2];
    s3 += a[i + 3];
  }
  for (; i < n; ++i) s0 += a[i];
  return (s0 + s1) + (s2 + s3);
}

// Sum of (a_i - c)^2 in the same pipelined style.
inline double centered_sq_d(const float* a, int64_t n, double c) {
  double s0 = 0, s1 = 0;
  int64_t i = 0;
  for (; i + 2 <= n; i += 2) {
    const double d0 = a[i] - c, d1 = a[i + 1] - c;
    s0 += d0 * d0;
    s1 += d1 * d1;
  }
  for (; i < n; ++i) s0 += (a[i] - c) * (a[i] - c);
  return s0 + s1;
}

}  // namespace cpu
}  // namespace ncgpu
