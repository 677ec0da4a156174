// ncgpu native addon: average gradient outer product (AGOP) of a kernel predictor.
//
// Same conventions as cpu_ops.h: row-major contiguous f32 matrices, raw
// pointers, callable from any thread; argument shapes are validated by
// addon.cc, data-dependent checks throw std::invalid_argument.
#pragma once

#include <cstdint>

namespace ncgpu {
namespace cpu {

// The predictor f_c(p) = sum_j alpha[j, c] k_M(x_j, p) with centers x (n x d),
// coefficients alpha (n x k), kernel 1 (laplace), 2 (gaussian, 2 L^2 form) or
// 3 (gaussian-rfm, exp(-r^2 / L)) of bandwidth L and Mahalanobis matrix mahal
// (d x d, nullptr for the identity).
//
// out (d x d) = sum over the m points p_i and the k outputs c of
// grad f_c(p_i) grad f_c(p_i)^T. With r_ij = ||p_i - x_j||_M and s the
// kernel's gradient scale (1/L, 1/L^2, 2/L), and weights w_ij = k_ij / r_ij
// (Laplace; 0 when r_ij < 1e-10) or k_ij (Gaussian):
//   grad f_c(p_i)^T = -s [ sum_j w_ij alpha_jc (x_j M) - (sum_j w_ij alpha_jc) (p_i M) ]
// which is one GEMM per class and point batch plus a rank-one correction.
//
// Points are processed `batch_rows` at a time, so temporary memory is about
// batch_rows * (n + 2 d + k) + n * d floats, kept for reuse by the next call
// (see agop.cc). `self` says the points are the
// centers (same array, m == n): the distance of each point to itself is then
// exactly 0 rather than GEMM rounding noise.
void agop(const float* x, int64_t n, int64_t d, const float* alpha, int64_t k, const float* points, int64_t m,
          const float* mahal, int kernel, double bandwidth, bool self, int64_t batch_rows, float* out);

}  // namespace cpu
}  // namespace ncgpu
