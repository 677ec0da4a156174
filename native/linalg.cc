// ncgpu native addon: dense linear algebra on LAPACK.
//
// Layout notes. LAPACK is column-major; a row-major n x m array read as
// column-major is the m x n transpose. Each routine below says how it uses
// that fact (symmetric inputs need nothing; solve/qr transpose explicitly;
// svd lets the transposition fall out of the factorization).
#include "linalg.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <string>
#include <mutex>
#include <type_traits>
#include <vector>

#include "huge_pages.h"
#include "lapack_decls.h"

namespace ncgpu {
namespace linalg {

namespace {

// ---------------------------------------------------------------------------
// Precision-overloaded wrappers around the Fortran symbols
// ---------------------------------------------------------------------------
inline int potrf(char uplo, int n, float* a, int lda) {
  int info = 0;
  spotrf_(&uplo, &n, a, &lda, &info NCGPU_STRLEN_ARG);
  return info;
}
inline int potrf(char uplo, int n, double* a, int lda) {
  int info = 0;
  dpotrf_(&uplo, &n, a, &lda, &info NCGPU_STRLEN_ARG);
  return info;
}
inline int potrs(char uplo, int n, int nrhs, const float* a, int lda, float* b, int ldb) {
  int info = 0;
  spotrs_(&uplo, &n, &nrhs, a, &lda, b, &ldb, &info NCGPU_STRLEN_ARG);
  return info;
}
inline int potrs(char uplo, int n, int nrhs, const double* a, int lda, double* b, int ldb) {
  int info = 0;
  dpotrs_(&uplo, &n, &nrhs, a, &lda, b, &ldb, &info NCGPU_STRLEN_ARG);
  return info;
}
inline int pocon(char uplo, int n, const float* a, int lda, float anorm, float* rcond) {
  std::vector<float> work(3 * static_cast<size_t>(n));
  std::vector<int> iwork(static_cast<size_t>(n));
  int info = 0;
  spocon_(&uplo, &n, a, &lda, &anorm, rcond, work.data(), iwork.data(), &info NCGPU_STRLEN_ARG);
  return info;
}
inline int pocon(char uplo, int n, const double* a, int lda, double anorm, double* rcond) {
  std::vector<double> work(3 * static_cast<size_t>(n));
  std::vector<int> iwork(static_cast<size_t>(n));
  int info = 0;
  dpocon_(&uplo, &n, a, &lda, &anorm, rcond, work.data(), iwork.data(), &info NCGPU_STRLEN_ARG);
  return info;
}
inline int getrf(int m, int n, float* a, int lda, int* ipiv) {
  int info = 0;
  sgetrf_(&m, &n, a, &lda, ipiv, &info);
  return info;
}
inline int getrf(int m, int n, double* a, int lda, int* ipiv) {
  int info = 0;
  dgetrf_(&m, &n, a, &lda, ipiv, &info);
  return info;
}
inline int getrs(char trans, int n, int nrhs, const float* a, int lda, const int* ipiv, float* b, int ldb) {
  int info = 0;
  sgetrs_(&trans, &n, &nrhs, a, &lda, ipiv, b, &ldb, &info NCGPU_STRLEN_ARG);
  return info;
}
inline int getrs(char trans, int n, int nrhs, const double* a, int lda, const int* ipiv, double* b, int ldb) {
  int info = 0;
  dgetrs_(&trans, &n, &nrhs, a, &lda, ipiv, b, &ldb, &info NCGPU_STRLEN_ARG);
  return info;
}
inline int gecon(char norm, int n, const float* a, int lda, float anorm, float* rcond) {
  std::vector<float> work(4 * static_cast<size_t>(n));
  std::vector<int> iwork(static_cast<size_t>(n));
  int info = 0;
  sgecon_(&norm, &n, a, &lda, &anorm, rcond, work.data(), iwork.data(), &info NCGPU_STRLEN_ARG);
  return info;
}
inline int gecon(char norm, int n, const double* a, int lda, double anorm, double* rcond) {
  std::vector<double> work(4 * static_cast<size_t>(n));
  std::vector<int> iwork(static_cast<size_t>(n));
  int info = 0;
  dgecon_(&norm, &n, a, &lda, &anorm, rcond, work.data(), iwork.data(), &info NCGPU_STRLEN_ARG);
  return info;
}
inline void syevd_call(char jobz, char uplo, int n, float* a, int lda, float* w, float* work, int lwork,
                       int* iwork, int liwork, int* info) {
  ssyevd_(&jobz, &uplo, &n, a, &lda, w, work, &lwork, iwork, &liwork, info NCGPU_STRLEN_ARG NCGPU_STRLEN_ARG);
}
inline void syevd_call(char jobz, char uplo, int n, double* a, int lda, double* w, double* work, int lwork,
                       int* iwork, int liwork, int* info) {
  dsyevd_(&jobz, &uplo, &n, a, &lda, w, work, &lwork, iwork, &liwork, info NCGPU_STRLEN_ARG NCGPU_STRLEN_ARG);
}
inline void gesdd_call(char jobz, int m, int n, float* a, int lda, float* s, float* u, int ldu, float* vt,
                       int ldvt, float* work, int lwork, int* iwork, int* info) {
  sgesdd_(&jobz, &m, &n, a, &lda, s, u, &ldu, vt, &ldvt, work, &lwork, iwork, info NCGPU_STRLEN_ARG);
}
inline void gesdd_call(char jobz, int m, int n, double* a, int lda, double* s, double* u, int ldu, double* vt,
                       int ldvt, double* work, int lwork, int* iwork, int* info) {
  dgesdd_(&jobz, &m, &n, a, &lda, s, u, &ldu, vt, &ldvt, work, &lwork, iwork, info NCGPU_STRLEN_ARG);
}
inline void geqrf_call(int m, int n, float* a, int lda, float* tau, float* work, int lwork, int* info) {
  sgeqrf_(&m, &n, a, &lda, tau, work, &lwork, info);
}
inline void geqrf_call(int m, int n, double* a, int lda, double* tau, double* work, int lwork, int* info) {
  dgeqrf_(&m, &n, a, &lda, tau, work, &lwork, info);
}
inline void orgqr_call(int m, int n, int k, float* a, int lda, const float* tau, float* work, int lwork,
                       int* info) {
  sorgqr_(&m, &n, &k, a, &lda, tau, work, &lwork, info);
}
inline void orgqr_call(int m, int n, int k, double* a, int lda, const double* tau, double* work, int lwork,
                       int* info) {
  dorgqr_(&m, &n, &k, a, &lda, tau, work, &lwork, info);
}

// Row-major GEMM / SYRK in either precision.
inline void gemm(bool ta, bool tb, int m, int n, int k, float alpha, const float* a, int lda, const float* b,
                 int ldb, float beta, float* c, int ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a,
              lda, b, ldb, beta, c, ldc);
}
inline void gemm(bool ta, bool tb, int m, int n, int k, double alpha, const double* a, int lda, const double* b,
                 int ldb, double beta, double* c, int ldc) {
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a,
              lda, b, ldb, beta, c, ldc);
}
inline void syrk_upper(int n, int k, const float* a, int lda, float* c, int ldc) {
  cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, n, k, 1.0f, a, lda, 0.0f, c, ldc);
}
inline void syrk_upper(int n, int k, const double* a, int lda, double* c, int ldc) {
  cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, n, k, 1.0, a, lda, 0.0, c, ldc);
}
// The upper triangle of A^T A for the k x n matrix A (the Gram of its columns).
inline void syrk_upper_columns(int n, int k, const float* a, int lda, float* c, int ldc) {
  cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, n, k, 1.0f, a, lda, 0.0f, c, ldc);
}
inline void syrk_upper_columns(int n, int k, const double* a, int lda, double* c, int ldc) {
  cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, n, k, 1.0, a, lda, 0.0, c, ldc);
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------
template <class T>
constexpr double eps() {
  return static_cast<double>(std::numeric_limits<T>::epsilon());
}

// Workspace size from an lwork = -1 query. Rounds up: in single precision
// the size comes back as a float and may have been rounded down.
template <class T>
int lwork_from(T query) {
  double v = std::ceil(static_cast<double>(query) * (1.0 + 4.0 * eps<T>())) + 1.0;
  if (!(v < static_cast<double>(INT_MAX))) throw std::runtime_error("LAPACK workspace too large for 32-bit indices");
  return std::max(1, static_cast<int>(v));
}

std::string fmt_g(double v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.2g", v);
  return buf;
}

template <class S, class D>
void transpose_to(const S* src, int rows, int cols, D* dst) {
  // dst (cols x rows) = src (rows x cols)^T, both row-major; blocked for cache.
  const int bs = 32;
  for (int i0 = 0; i0 < rows; i0 += bs) {
    for (int j0 = 0; j0 < cols; j0 += bs) {
      const int i1 = std::min(rows, i0 + bs), j1 = std::min(cols, j0 + bs);
      for (int i = i0; i < i1; ++i)
        for (int j = j0; j < j1; ++j) dst[static_cast<size_t>(j) * rows + i] = static_cast<D>(src[static_cast<size_t>(i) * cols + j]);
    }
  }
}

template <class T>
void transpose_square_inplace(T* a, int n) {
  for (int i = 0; i < n; ++i)
    for (int j = i + 1; j < n; ++j) std::swap(a[static_cast<size_t>(i) * n + j], a[static_cast<size_t>(j) * n + i]);
}

// dst = (src + src^T) / 2 for an n x n matrix, converting the element type where they differ
// (the average is formed in the output type).
template <class In, class Out>
void symmetrize_into(const In* src, int n, Out* dst) {
  // (A + A^T) / 2 in square tiles, so that the column-wise reads and writes stay in cache
  constexpr int kTile = 64;
  for (int i0 = 0; i0 < n; i0 += kTile) {
    for (int j0 = i0; j0 < n; j0 += kTile) {
      for (int i = i0; i < std::min(n, i0 + kTile); ++i) {
        for (int j = std::max(i, j0); j < std::min(n, j0 + kTile); ++j) {
          const Out v = (static_cast<Out>(src[static_cast<size_t>(i) * n + j]) + static_cast<Out>(src[static_cast<size_t>(j) * n + i])) / Out(2);
          dst[static_cast<size_t>(i) * n + j] = v;
          dst[static_cast<size_t>(j) * n + i] = v;
        }
      }
    }
  }
}

template <class T>
void symmetrize_to(const T* src, int n, T* dst) {
  symmetrize_into(src, n, dst);
}

// Makes an n x n matrix exactly symmetric: (A + A^T) / 2 in place.
template <class T>
void symmetrize_inplace(T* a, int n) {
  for (int i = 0; i < n; ++i)
    for (int j = i + 1; j < n; ++j) {
      T& x = a[static_cast<size_t>(i) * n + j];
      T& y = a[static_cast<size_t>(j) * n + i];
      T v = (x + y) / T(2);
      x = v;
      y = v;
    }
}

// Whether |a_ij - a_ji| <= tol * max|a| for all i, j.
template <class T>
bool is_symmetric(const T* a, int n, double tol) {
  double maxabs = 0;
  for (size_t t = 0; t < static_cast<size_t>(n) * n; ++t) maxabs = std::max(maxabs, std::fabs(static_cast<double>(a[t])));
  const double lim = tol * maxabs;
  for (int i = 0; i < n; ++i)
    for (int j = i + 1; j < n; ++j) {
      double d = std::fabs(static_cast<double>(a[static_cast<size_t>(i) * n + j]) -
                           static_cast<double>(a[static_cast<size_t>(j) * n + i]));
      if (!(d <= lim)) return false;  // also catches NaN
    }
  return true;
}

// 1-norm (max column sum) of the row-major n x n matrix.
template <class T>
T one_norm(const T* a, int n) {
  std::vector<double> col(static_cast<size_t>(n), 0.0);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) col[static_cast<size_t>(j)] += std::fabs(static_cast<double>(a[static_cast<size_t>(i) * n + j]));
  double mx = 0;
  for (double v : col) mx = std::max(mx, v);
  return static_cast<T>(mx);
}

// 1-norm of the symmetric matrix defined by the lower triangle of a.
template <class T>
T one_norm_sym_lower(const T* a, int n) {
  std::vector<double> col(static_cast<size_t>(n), 0.0);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j <= i; ++j) {
      double v = std::fabs(static_cast<double>(a[static_cast<size_t>(i) * n + j]));
      col[static_cast<size_t>(j)] += v;
      if (j != i) col[static_cast<size_t>(i)] += v;
    }
  double mx = 0;
  for (double v : col) mx = std::max(mx, v);
  return static_cast<T>(mx);
}

[[noreturn]] void throw_singular(double rcond, const char* routine, int info) {
  throw std::runtime_error("solve: matrix is singular to working precision (rcond=" + fmt_g(rcond) + ", LAPACK " +
                           routine + " info=" + std::to_string(info) +
                           "); add a ridge (lambda > 0) or solve in f64");
}

// LAPACK syevd on the symmetric matrix in `vecs` (n x n, both triangles valid), with the given
// workspace vectors (resized as needed). On return w holds the ascending eigenvalues and `vecs`
// the eigenvectors column-major, i.e. read row-major, the rows of V^T.
template <class T>
void syevd_in_place(const char* fn, T* vecs, int n, T* w, LargeVector<T>& work, std::vector<int>& iwork) {
  int info = 0;
  T wq = 0;
  int iwq = 0;
  // The matrix is symmetric, so the row-major array is also its column-major
  // self; uplo 'L' is as good as 'U'.
  syevd_call('V', 'L', n, vecs, n, w, &wq, -1, &iwq, -1, &info);
  if (info != 0) throw std::runtime_error(std::string(fn) + ": LAPACK syevd workspace query failed (info=" + std::to_string(info) + ")");
  work.resize(static_cast<size_t>(lwork_from(wq)));
  iwork.resize(static_cast<size_t>(std::max(1, iwq)));
  syevd_call('V', 'L', n, vecs, n, w, work.data(), static_cast<int>(work.size()), iwork.data(),
             static_cast<int>(iwork.size()), &info);
  if (info < 0) throw std::runtime_error(std::string(fn) + ": LAPACK syevd rejected argument " + std::to_string(-info));
  if (info > 0) {
    throw std::runtime_error(std::string(fn) + ": eigenvalue algorithm failed to converge (LAPACK syevd info=" +
                             std::to_string(info) + "); check the input for NaN/Inf");
  }
}

// In-place eigendecomposition of a symmetric matrix stored in `vecs` (n x n,
// both triangles valid). On return `vecs` holds the eigenvectors as
// row-major columns and w the ascending eigenvalues.
template <class T>
void eigh_inplace(const char* fn, T* vecs, int n, T* w) {
  if (n == 0) return;
  LargeVector<T> work;
  std::vector<int> iwork;
  syevd_in_place(fn, vecs, n, w, work, iwork);
  // Column-major eigenvectors (column j contiguous) -> row-major with
  // eigenvector j in column j.
  transpose_square_inplace(vecs, n);
}

}  // namespace

// ---------------------------------------------------------------------------
// solve
// ---------------------------------------------------------------------------
template <class T, class In>
SolveInfo solve(const In* a, int n, const In* b, int k, SolveMethod method, In* x, double ridge) {
  if (n == 0) return {method == SolveMethod::kLu ? SolveMethod::kLu : SolveMethod::kCholesky, 1.0};
  const double threshold = n * eps<T>();
  const size_t nn = static_cast<size_t>(n) * n;
  // the factorization's copy, converted to the arithmetic T on the way, with the ridge added in T
  LargeVector<T> fac(a, a + nn);
  const auto add_ridge = [&] {
    if (ridge != 0) {
      for (int i = 0; i < n; ++i) fac[static_cast<size_t>(i) * n + i] += static_cast<T>(ridge);
    }
  };
  add_ridge();
  // Right-hand side in column-major order (n x k, ld n) for LAPACK.
  std::vector<T> bcol(static_cast<size_t>(n) * std::max(k, 1));
  transpose_to(b, n, k, bcol.data());

  // symmetry is judged at the input's precision: an f32 kernel matrix is symmetric to f32 rounding
  bool try_chol = method == SolveMethod::kCholesky ||
                  (method == SolveMethod::kAuto && is_symmetric(a, n, std::sqrt(eps<In>())));
  if (try_chol) {
    // 'U' on the column-major view = the lower triangle of the row-major A.
    const T anorm = one_norm_sym_lower(fac.data(), n);
    int info = potrf('U', n, fac.data(), n);
    if (info < 0) throw std::runtime_error("solve: LAPACK potrf rejected argument " + std::to_string(-info));
    if (info == 0) {
      T rcond = 0;
      pocon('U', n, fac.data(), n, anorm, &rcond);
      if (!(static_cast<double>(rcond) >= threshold)) throw_singular(rcond, "potrf", 0);
      if (k > 0) {
        info = potrs('U', n, k, fac.data(), n, bcol.data(), n);
        if (info != 0) throw std::runtime_error("solve: LAPACK potrs failed (info=" + std::to_string(info) + ")");
        transpose_to(bcol.data(), k, n, x);
      }
      return {SolveMethod::kCholesky, static_cast<double>(rcond)};
    }
    if (method == SolveMethod::kCholesky) {
      throw std::runtime_error("solve: matrix is not positive definite (LAPACK potrf info=" + std::to_string(info) +
                               "); add a ridge or use method 'lu'");
    }
    std::copy(a, a + nn, fac.begin());  // auto: fall back to LU
    add_ridge();
  }

  // LU of the column-major view, which is A^T; getrs with trans = 'T' then
  // solves A X = B. gecon on A^T with the infinity norm gives the 1-norm
  // condition number of A, and ||A^T||_inf = ||A||_1.
  const T anorm = one_norm(fac.data(), n);
  std::vector<int> ipiv(static_cast<size_t>(n));
  int info = getrf(n, n, fac.data(), n, ipiv.data());
  if (info < 0) throw std::runtime_error("solve: LAPACK getrf rejected argument " + std::to_string(-info));
  if (info > 0) throw_singular(0.0, "getrf", info);
  T rcond = 0;
  gecon('I', n, fac.data(), n, anorm, &rcond);
  if (!(static_cast<double>(rcond) >= threshold)) throw_singular(rcond, "getrf", 0);
  if (k > 0) {
    info = getrs('T', n, k, fac.data(), n, ipiv.data(), bcol.data(), n);
    if (info != 0) throw std::runtime_error("solve: LAPACK getrs failed (info=" + std::to_string(info) + ")");
    transpose_to(bcol.data(), k, n, x);
  }
  return {SolveMethod::kLu, static_cast<double>(rcond)};
}

// ---------------------------------------------------------------------------
// eigh
// ---------------------------------------------------------------------------
template <class T>
void eigh(const T* a, int n, T* values, T* vectors) {
  if (n == 0) return;
  symmetrize_to(a, n, vectors);
  eigh_inplace("eigh", vectors, n, values);
}

// ---------------------------------------------------------------------------
// svd
// ---------------------------------------------------------------------------
template <class T>
void svd(const T* a, int m, int n, T* u, T* s, T* vt) {
  const int r = std::min(m, n);
  if (r == 0) return;
  // The row-major m x n A is the column-major n x m matrix A^T. Its SVD
  // A^T = U' S V'^T gives A = V' S U'^T, and:
  //  * U' (n x r column-major, ld n) laid out is exactly Vt (r x n row-major);
  //  * V'^T (r x m column-major, ld r) laid out is exactly U (m x r row-major).
  // So gesdd writes our vt into its U slot and our u into its VT slot.
  std::vector<T> acopy(a, a + static_cast<size_t>(m) * n);
  std::vector<int> iwork(8 * static_cast<size_t>(r));
  int info = 0;
  T wq = 0;
  gesdd_call('S', n, m, acopy.data(), n, s, vt, n, u, r, &wq, -1, iwork.data(), &info);
  if (info != 0) throw std::runtime_error("svd: LAPACK gesdd workspace query failed (info=" + std::to_string(info) + ")");
  std::vector<T> work(static_cast<size_t>(lwork_from(wq)));
  gesdd_call('S', n, m, acopy.data(), n, s, vt, n, u, r, work.data(), static_cast<int>(work.size()), iwork.data(),
             &info);
  if (info < 0) throw std::runtime_error("svd: LAPACK gesdd rejected argument " + std::to_string(-info));
  if (info > 0) {
    throw std::runtime_error("svd: SVD failed to converge (LAPACK gesdd info=" + std::to_string(info) +
                             "); check the input for NaN/Inf");
  }
}

// ---------------------------------------------------------------------------
// qr
// ---------------------------------------------------------------------------
template <class T>
void qr(const T* a, int m, int n, T* q, T* r_out) {
  const int r = std::min(m, n);
  if (r == 0) return;
  // Column-major copy of A (m x n, ld m).
  std::vector<T> col(static_cast<size_t>(m) * n);
  transpose_to(a, m, n, col.data());
  std::vector<T> tau(static_cast<size_t>(r));
  int info = 0;
  T wq = 0;
  geqrf_call(m, n, col.data(), m, tau.data(), &wq, -1, &info);
  if (info != 0) throw std::runtime_error("qr: LAPACK geqrf workspace query failed (info=" + std::to_string(info) + ")");
  std::vector<T> work(static_cast<size_t>(lwork_from(wq)));
  geqrf_call(m, n, col.data(), m, tau.data(), work.data(), static_cast<int>(work.size()), &info);
  if (info != 0) throw std::runtime_error("qr: LAPACK geqrf failed (info=" + std::to_string(info) + ")");

  // R: upper triangle of the first r rows, row-major r x n.
  for (int i = 0; i < r; ++i)
    for (int j = 0; j < n; ++j)
      r_out[static_cast<size_t>(i) * n + j] = j >= i ? col[static_cast<size_t>(j) * m + i] : T(0);

  // Q: the first r columns formed by orgqr, back to row-major m x r.
  orgqr_call(m, r, r, col.data(), m, tau.data(), &wq, -1, &info);
  if (info != 0) throw std::runtime_error("qr: LAPACK orgqr workspace query failed (info=" + std::to_string(info) + ")");
  work.assign(static_cast<size_t>(lwork_from(wq)), T(0));
  orgqr_call(m, r, r, col.data(), m, tau.data(), work.data(), static_cast<int>(work.size()), &info);
  if (info != 0) throw std::runtime_error("qr: LAPACK orgqr failed (info=" + std::to_string(info) + ")");
  transpose_to(col.data(), r, m, q);  // column-major m x r == row-major r x m
}

// ---------------------------------------------------------------------------
// pinv / pinvSym / sqrtPsd
// ---------------------------------------------------------------------------
template <class T>
void pinv(const T* a, int m, int n, double rcond, T* out) {
  const size_t out_len = static_cast<size_t>(n) * m;
  const int r = std::min(m, n);
  if (r == 0) return;
  std::vector<T> u(static_cast<size_t>(m) * r), s(static_cast<size_t>(r)), vt(static_cast<size_t>(r) * n);
  svd(a, m, n, u.data(), s.data(), vt.data());
  const double rc = rcond > 0 ? rcond : std::max(m, n) * eps<T>();
  const double cutoff = rc * static_cast<double>(s[0]);
  int kept = 0;
  while (kept < r && static_cast<double>(s[static_cast<size_t>(kept)]) > cutoff) ++kept;
  if (kept == 0) {
    std::fill(out, out + out_len, T(0));
    return;
  }
  // A^+ = V diag(1/s) U^T = (diag(1/s) Vt)^T U^T over the kept triplets.
  for (int p = 0; p < kept; ++p) {
    const T inv = T(1) / s[static_cast<size_t>(p)];
    T* row = vt.data() + static_cast<size_t>(p) * n;
    for (int j = 0; j < n; ++j) row[j] *= inv;
  }
  gemm(true, true, n, m, kept, T(1), vt.data(), n, u.data(), r, T(0), out, m);
}

template <class T>
void pinv_sym(const T* a, int n, double rcond, T* out) {
  if (n == 0) return;
  std::vector<T> w(static_cast<size_t>(n));
  std::vector<T> v(static_cast<size_t>(n) * n);
  symmetrize_to(a, n, v.data());
  eigh_inplace("pinvSym", v.data(), n, w.data());
  double maxabs = 0;
  for (T wi : w) maxabs = std::max(maxabs, std::fabs(static_cast<double>(wi)));
  const double rc = rcond > 0 ? rcond : n * eps<T>();
  const double cutoff = rc * maxabs;
  // B = V diag(1/w) over kept eigenpairs (dropped columns zeroed); out = B V^T.
  std::vector<T> bm(v);
  for (int j = 0; j < n; ++j) {
    const double wj = static_cast<double>(w[static_cast<size_t>(j)]);
    const T f = std::fabs(wj) > cutoff ? static_cast<T>(1.0 / wj) : T(0);
    for (int i = 0; i < n; ++i) bm[static_cast<size_t>(i) * n + j] *= f;
  }
  gemm(false, true, n, n, n, T(1), bm.data(), n, v.data(), n, T(0), out, n);
  symmetrize_inplace(out, n);
}

namespace {

// Copies the upper triangle of a row-major n x n matrix into its lower triangle, in square
// tiles so that the column-wise reads stay in cache.
template <class T>
void mirror_upper_tiled(T* a, int n) {
  constexpr int kTile = 64;
  for (int i0 = 0; i0 < n; i0 += kTile) {
    for (int j0 = 0; j0 <= i0; j0 += kTile) {
      for (int i = i0; i < std::min(n, i0 + kTile); ++i) {
        for (int j = j0; j < std::min(i, j0 + kTile); ++j) a[static_cast<size_t>(i) * n + j] = a[static_cast<size_t>(j) * n + i];
      }
    }
  }
}

// Buffers of the square root kept from one call to the next: a Deep RFM asks for the same d x d
// root at every layer, and where fresh pages are expensive (about 3 ms per MB in some VMs)
// faulting in the eigenvectors, the LAPACK workspace and the product costs as much as the
// eigendecomposition's own arithmetic. A call that finds them in use allocates its own.
template <class T>
struct SqrtBuffers {
  LargeVector<T> vecs, w, work, root;
  std::vector<int> iwork;
};
std::mutex sqrt_scratch_mutex;
SqrtBuffers<double> sqrt_scratch;

// V diag(sqrt(max(w, 0))) V^T into `out` (upper triangle) from the symmetric matrix in s.vecs
// (overwritten); returns the number of negative eigenvalues clipped.
template <class T>
int64_t root_from_symmetric(SqrtBuffers<T>& s, int n, T* out) {
  s.w.resize(static_cast<size_t>(n));
  syevd_in_place("sqrtPsd", s.vecs.data(), n, s.w.data(), s.work, s.iwork);
  // LAPACK's column-major eigenvectors are, read row-major, the rows of V^T: scaling row j by
  // w_j^(1/4) gives B^T with B = V diag(w+^(1/4)), and root = B B^T = (B^T)^T (B^T)
  int64_t clipped = 0;
  for (int j = 0; j < n; ++j) {
    const T wj = s.w[static_cast<size_t>(j)];
    if (wj < T(0)) ++clipped;
    const T f = wj > T(0) ? std::sqrt(std::sqrt(wj)) : T(0);
    T* row = s.vecs.data() + static_cast<size_t>(j) * n;
    for (int i = 0; i < n; ++i) row[i] *= f;
  }
  syrk_upper_columns(n, n, s.vecs.data(), n, out, n);
  return clipped;
}

// Runs body on the kept f64 buffers, or on buffers of its own when another call holds those.
template <class F>
int64_t with_sqrt_scratch(F&& body) {
  std::unique_lock<std::mutex> lock(sqrt_scratch_mutex, std::try_to_lock);
  SqrtBuffers<double> own;
  return body(lock.owns_lock() ? sqrt_scratch : own);
}

}  // namespace

template <class T>
int64_t sqrt_psd(const T* a, int n, T* root) {
  if (n == 0) return 0;
  auto body = [&](SqrtBuffers<T>& s) {
    s.vecs.resize(static_cast<size_t>(n) * n);
    symmetrize_to(a, n, s.vecs.data());
    const int64_t clipped = root_from_symmetric(s, n, root);
    mirror_upper_tiled(root, n);
    return clipped;
  };
  if constexpr (std::is_same_v<T, double>) {
    return with_sqrt_scratch(body);
  } else {
    SqrtBuffers<T> own;  // f32 arithmetic throughout
    return body(own);
  }
}

int64_t sqrt_psd_f64(const float* a, int n, float* root) {
  if (n == 0) return 0;
  return with_sqrt_scratch([&](SqrtBuffers<double>& s) {
    const size_t nn = static_cast<size_t>(n) * n;
    s.vecs.resize(nn);
    s.root.resize(nn);
    symmetrize_into(a, n, s.vecs.data());
    const int64_t clipped = root_from_symmetric(s, n, s.root.data());
    mirror_upper_tiled(s.root.data(), n);
    for (size_t i = 0; i < nn; ++i) root[i] = static_cast<float>(s.root[i]);
    return clipped;
  });
}

template <class T>
void gram_rows(const T* a, int n, int k, int lda, T* out) {
  if (n == 0) return;
  if (k == 0) {
    std::fill(out, out + static_cast<size_t>(n) * n, T(0));
    return;
  }
  syrk_upper(n, k, a, lda, out, n);
  mirror_upper_tiled(out, n);
}

// ---------------------------------------------------------------------------
// Instantiations
// ---------------------------------------------------------------------------
template SolveInfo solve<float, float>(const float*, int, const float*, int, SolveMethod, float*, double);
template SolveInfo solve<double, double>(const double*, int, const double*, int, SolveMethod, double*, double);
template SolveInfo solve<double, float>(const float*, int, const float*, int, SolveMethod, float*, double);
template void eigh<float>(const float*, int, float*, float*);
template void eigh<double>(const double*, int, double*, double*);
template void svd<float>(const float*, int, int, float*, float*, float*);
template void svd<double>(const double*, int, int, double*, double*, double*);
template void qr<float>(const float*, int, int, float*, float*);
template void qr<double>(const double*, int, int, double*, double*);
template void pinv<float>(const float*, int, int, double, float*);
template void pinv<double>(const double*, int, int, double, double*);
template void pinv_sym<float>(const float*, int, double, float*);
template void pinv_sym<double>(const double*, int, double, double*);
template int64_t sqrt_psd<float>(const float*, int, float*);
template void gram_rows<float>(const float*, int, int, int, float*);
template void gram_rows<double>(const double*, int, int, int, double*);
template int64_t sqrt_psd<double>(const double*, int, double*);

}  // namespace linalg
}  // namespace ncgpu
