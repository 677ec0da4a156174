// ncgpu native addon: large kernel systems (K + lambda I) X = Y in mixed precision.
//
// K is an n x n f32 symmetric matrix, row-major, possibly past 2^31 elements (it is the one copy
// of a kernel matrix that fills most of memory). The f32 Cholesky factor overwrites K's lower
// triangle in place; the strict upper triangle and a saved diagonal still hold K, so residuals
// of the exact f32 system can be formed in f64 without a second matrix.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ncgpu {
namespace kernel_solve {

enum class MixedStatus {
  kConverged,      // the f64 backward error reached sqrt(n) eps64, or corrections fell below f32 rounding of x
  kStalled,        // the residual stopped falling: cond(K) eps32 is near 1 or beyond
  kMaxRefinements, // still falling after the allowed refinements
  kNotFactored,    // the f32 Cholesky failed even with diagonal shifts
};

const char* status_name(MixedStatus s);

struct MixedResult {
  MixedStatus status = MixedStatus::kNotFactored;
  int refinements = 0;
  // relative residual ||(K + lambda I) x - Y||_F / ||Y||_F of the returned f32 x, in f64
  double residual = 0;
  // the same after the first solve and after each refinement (of the f64 iterate)
  std::vector<double> history;
  // diagonal shift the f32 factorization needed to be positive definite (0 when none)
  double shift = 0;
  // reciprocal condition estimate of the factored f32 matrix (spocon, 1-norm)
  double rcond = 0;
};

// Solves (K + ridge I) X = Y with Y, X and fitted n x k row-major f32. `a` holds K (both triangles)
// and is overwritten by the factorization; when the result is not kConverged, `a` is restored to K
// before returning, so the caller can fall back to another solver. fitted = K X (no ridge).
MixedResult mixed_solve(float* a, int64_t n, const float* y, int64_t k, double ridge, int max_refinements, float* x,
                        float* fitted);

// Relative residual ||(K + ridge I) X - Y||_F / ||Y||_F in f64, reading K from the upper triangle
// and diagonal of `a`; also writes fitted = K X (f32, n x k). Y = 0 gives the absolute norm.
double symmetric_residual(const float* a, int64_t n, const float* x, int64_t k, const float* y, double ridge,
                          float* fitted);

}  // namespace kernel_solve
}  // namespace ncgpu
