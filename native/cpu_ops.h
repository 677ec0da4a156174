// ncgpu native addon: BLAS-backed and multithreaded f32 CPU kernels.
//
// All matrices are row-major and contiguous. Functions take raw pointers and
// sizes and never touch JavaScript values, so they can run on any thread.
// Arguments are expected to be validated by the caller (addon.cc); the few
// checks that depend on data (labels, bandwidth) throw std::invalid_argument.
#pragma once

#include <cstdint>
#include <string>

namespace ncgpu {
namespace cpu {

// ---------------------------------------------------------------------------
// BLAS backend information and threading
// ---------------------------------------------------------------------------
struct BlasInfo {
  std::string name;     // "OpenBLAS", "Accelerate" or "BLAS"
  std::string version;  // e.g. "0.3.21"; empty when unknown
  std::string config;   // openblas_get_config() or a short description
  int threads = 1;      // BLAS threads (OpenBLAS), else the ncgpu pool size
};
BlasInfo blas_info();

// Sets the OpenBLAS thread count (when linked) and resizes the ncgpu pool.
void set_threads(int n);

// When NCGPU_THREADS is set to a positive integer, applies it to both the
// ncgpu pool and the BLAS library (called once at module load).
void apply_thread_env();

// Current size of the ncgpu thread pool.
int pool_threads();

// ---------------------------------------------------------------------------
// GEMM
// ---------------------------------------------------------------------------
// For i in [0, batch): C_i = alpha * op(A_i) * op(B_i) + beta * C_i with
// A_i = a + i * stride_a (and so on). op(A) is m x k, op(B) is k x n, C is
// m x n; leading dimensions are the natural row-major ones. A stride of 0
// broadcasts that operand. k == 0 gives C = beta * C.
void gemm_f32(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, const float* b,
              float beta, float* c, int64_t batch, int64_t stride_a, int64_t stride_b, int64_t stride_c);

// The same in f64 (cblas_dgemm), for host computations that need double throughout.
void gemm_f64(bool trans_a, bool trans_b, int m, int n, int k, double alpha, const double* a, const double* b,
              double beta, double* c, int64_t batch, int64_t stride_a, int64_t stride_b, int64_t stride_c);

// The same loop with nothing but cblas_sgemm calls (benchmark baseline).
void sgemm_direct(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a,
                  const float* b, float beta, float* c, int64_t batch, int64_t stride_a, int64_t stride_b,
                  int64_t stride_c);

// ---------------------------------------------------------------------------
// Pairwise kernels
// ---------------------------------------------------------------------------
enum PairwiseKernel : int {
  kSquaredDistance = 0,  // r2
  kLaplace = 1,          // exp(-sqrt(r2) / L)
  kGaussian = 2,         // exp(-r2 / (2 L^2))
  kGaussianRfm = 3,      // exp(-r2 / L)
  kLaplaceGrad = 4,      // exp(-r / L) / r, 0 for r < 1e-10 (AGOP weights; internal)
};

// out (n x m): kernel of the squared (Mahalanobis) distance between rows of
// x (n x d) and z (m x d). mahal is d x d or nullptr for the identity.
// out must not overlap the inputs.
void pairwise(const float* x, int n, const float* z, int m, int d, const float* mahal, int kernel,
              double bandwidth, float* out);

// The second half of pairwise(), for callers that form the cross terms
// themselves: out (n x m) holds -2 <x_i, z_j>_M on entry and
// kernel(max(out_ij + sqx[i] + sqz[j], 0)) on exit, with sqx and sqz the
// squared M-norms of the rows. The kernel and bandwidth are checked as in pairwise().
void pairwise_finish(float* out, int64_t n, int64_t m, const float* sqx, const float* sqz, int kernel,
                     double bandwidth);

// Copies the upper triangle of a row-major n x n matrix into its lower triangle.
void copy_upper_to_lower(float* a, int64_t n);

// ---------------------------------------------------------------------------
// Row-wise and elementwise ops
// ---------------------------------------------------------------------------
void row_norms(const float* x, int64_t rows, int64_t cols, float* out, bool squared);
// out may equal x; zero rows stay zero.
void row_normalize(const float* x, int64_t rows, int64_t cols, float* out);
void row_dot(const float* a, const float* b, int64_t rows, int64_t cols, float* out);

enum UnaryOp : int { kRelu = 0, kCos = 1, kScale = 2, kExp = 3 };
// out may equal x.
void unary(int op, const float* x, float* out, int64_t len, float alpha);
// out = alpha * x + y; out may equal x or y.
void axpy(float alpha, const float* x, const float* y, float* out, int64_t len);

// out[j] = sum_i x[i, j], accumulated in double.
void col_sums(const float* x, int64_t rows, int64_t cols, float* out);
// out (k x cols): row c is the sum of the rows of x labelled c (double
// accumulation). Throws std::invalid_argument for a label outside [0, k).
void class_sums(const float* x, int64_t rows, int64_t cols, const int32_t* labels, int64_t k, float* out);
// The moments of x about per-class shifts s (k x cols), in one pass and in double: sums (k x
// cols) row c = sum over rows labelled c of (x_i - s_c), and sq[c] = sum of ||x_i - s_c||^2.
// Nothing of size rows x cols is written. Throws std::invalid_argument for a label outside [0, k).
void class_deviations(const float* x, int64_t rows, int64_t cols, const int32_t* labels, int64_t k,
                      const float* shifts, double* sums, double* sq);

// Largest element; NaN if any element is NaN, -Infinity when len == 0.
double max_value(const float* x, int64_t len);
// Number of NaN / +-Infinity entries.
int64_t count_non_finite(const float* x, int64_t len);

}  // namespace cpu
}  // namespace ncgpu
