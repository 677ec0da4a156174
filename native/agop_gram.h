// ncgpu native addon: the AGOP over the centers themselves in its n x n Gram form.
//
// With the points equal to the centers (all of them), output c's Jacobian is
// J_c = B_c XM with B_c = W diag(alpha_c) - diag(W alpha_c) (W the symmetric
// n x n weights, XM = X M), so
//   sum_c J_c^T J_c = XM^T Q XM,
//   Q = (W W) o (A A^T) - W o (A S^T + S A^T) + diag(||s_i||^2),  S = W A,
// where o is the entrywise product. That costs n^3 (one syrk of W) + 2 n^2 d
// + 2 n d^2 flops instead of the batched form's 2 n^2 k d + n k d^2: fewer
// whenever n + 2 d < 2 k d, which covers the papers' Deep RFM settings
// (k = 10, d = 784 or 3,072) up to n of about 14,000 or 55,000. It holds two
// n x n matrices, so callers choose it only when they fit (see ops/agop.ts).
#pragma once

#include <cstdint>

#include "agop.h"

namespace ncgpu {
namespace cpu {

// The Gram form loses accuracy where the Jacobians cancel: each J_c row is
// T - s x with T = sum_j w_ij alpha_jc x_j, and Q's f32 error scales with
// ||T||^2 while the result scales with ||J||^2. In collapsed Deep RFM layers
// (near-duplicate points, huge Laplace weights) their ratio, the cancellation
// rho^2 = sum ||T||^2 / sum ||J||^2, grows by orders of magnitude and the Gram
// form's relative error with it (measured on MNIST layers: rho^2 1.1 / 3.4 /
// 18 gave 3.5e-6 / 1.2e-5 / 4e-4, the batched form 2.3e-7 / 8.6e-7 / 1.1e-5).
// Past this limit the Gram form, when only asked for where accurate, declines.
constexpr double kGramCancellationLimit = 4.0;

// out (d x d, both triangles) = sum_c J_c^T J_c of the problem above, scaled
// by gradient_scale^2; problem.self must hold and point_index must be null.
// weight_kernel is the pairwise code of the weights (kLaplaceGrad, kGaussian,
// kGaussianRfm) and self_weight the weight of each center with itself.
// rho^2 is first estimated on 128 evenly spaced centers; with
// only_if_accurate and rho^2 > kGramCancellationLimit the call declines
// (returns gram = false, out untouched) so the caller sums in batches.
AgopOutcome agop_gram(const AgopProblem& problem, int weight_kernel, float self_weight, double gradient_scale,
                      bool only_if_accurate, float* out);

}  // namespace cpu
}  // namespace ncgpu
