// ncgpu native addon: average gradient outer product (AGOP) of a kernel predictor.
//
// Same conventions as cpu_ops.h: row-major contiguous f32 matrices, raw
// pointers, callable from any thread; argument shapes are validated by
// addon.cc, data-dependent checks throw std::invalid_argument.
#pragma once

#include <cstdint>
#include <limits>

namespace ncgpu {
namespace cpu {

// The predictor f_c(p) = sum_j alpha[j, c] k_M(x_j, p) with centers x (n x d),
// coefficients alpha (n x k), kernel 1 (laplace), 2 (gaussian, 2 L^2 form) or
// 3 (gaussian-rfm, exp(-r^2 / L)) of bandwidth L and Mahalanobis matrix mahal
// (d x d, nullptr for the identity), and the points where its gradients are taken.
enum class AgopMethod { kBatched = 0, kGram = 1, kGramIfAccurate = 2 };

struct AgopProblem {
  const float* x = nullptr;
  int64_t n = 0;
  int64_t d = 0;
  const float* alpha = nullptr;
  int64_t k = 0;
  // m x d
  const float* points = nullptr;
  int64_t m = 0;
  // When set, the gradients are taken at rows point_index[0..samples) of points
  // only (distinct indices in [0, m)); else at all m rows.
  const int32_t* point_index = nullptr;
  int64_t samples = 0;
  const float* mahal = nullptr;
  int kernel = 1;
  double bandwidth = 1;
  // The points are the centers (same array, m == n): each point's distance to
  // its own center is then exactly 0 rather than GEMM rounding noise.
  bool self = false;
  // Points per batch: each batch holds its weights (batch_rows x n) and
  // Jacobians (batch_rows x output_block d).
  int64_t batch_rows = 1;
  // Outputs per Jacobian GEMM: the scaled centers Z take n x output_block d
  // floats; output_block >= k builds Z once, a smaller block rebuilds its slice
  // of Z for every batch.
  int64_t output_block = 1;
  // How the sum is formed: batches, the n x n Gram form (agop_gram.h; needs
  // self and no point_index, and leaves batch_rows and output_block unused),
  // or the Gram form where its sampled cancellation says it is accurate.
  AgopMethod method = AgopMethod::kBatched;
};

// What agop() did: whether it used the Gram form, and the cancellation rho^2
// it estimated for it (NaN when it never considered the Gram form).
struct AgopOutcome {
  bool gram = false;
  double cancellation = std::numeric_limits<double>::quiet_NaN();
};

// out (d x d) = sum over the points p_i and the k outputs c of
// grad f_c(p_i) grad f_c(p_i)^T. With r_ij = ||p_i - x_j||_M and s the
// kernel's gradient scale (1/L, 1/L^2, 2/L), and weights w_ij = k_ij / r_ij
// (Laplace; 0 when r_ij < 1e-10) or k_ij (Gaussian):
//   grad f_c(p_i)^T = -s [ sum_j w_ij alpha_jc (x_j M) - (sum_j w_ij alpha_jc) (p_i M) ]
// Per batch of points that is one GEMM W Z with Z = [diag(alpha_1) X M | ... ]
// (n x k d; all outputs side by side), a rank-one correction, and one syrk of
// the Jacobians read as (batch k) x d. Batches add up in double.
//
// Temporary memory, about n (output_block d + 1) + batch_rows (n + output_block d + 2 d + k)
// + 3 d^2 floats (plus n d for X M when mahal is set), is kept for reuse by the
// next call (see agop.cc).
AgopOutcome agop(const AgopProblem& problem, float* out);

}  // namespace cpu
}  // namespace ncgpu
