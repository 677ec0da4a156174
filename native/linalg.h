// ncgpu native addon: dense linear algebra on LAPACK.
//
// Every routine is a template instantiated for float (s* LAPACK routines) and
// double (d* routines) and computes in that precision. Matrices are row-major
// and contiguous; inputs are never modified; outputs are caller-allocated
// buffers of the documented sizes. Failures throw std::runtime_error whose
// message starts with the JavaScript function name.
#pragma once

#include <cstdint>

namespace ncgpu {
namespace linalg {

enum class SolveMethod { kAuto, kCholesky, kLu };

struct SolveInfo {
  SolveMethod method;  // kCholesky or kLu: the factorization actually used
  double rcond;        // reciprocal condition number estimate (1-norm)
};

// Solves A X = B for X. a: n x n, b and x: n x k. x must not alias a or b.
//  kCholesky: potrf/potrs/pocon. Reads only the LOWER triangle of the
//             row-major A (a[i*n + j] with j <= i). Throws if A is not
//             positive definite.
//  kAuto:     Cholesky when A is symmetric (to sqrt(eps) relative to max|A|)
//             and positive definite, otherwise LU, silently.
//  kLu:       getrf/getrs/gecon on the full matrix.
// Throws when rcond < n * eps(T) or the LU factor is exactly singular.
// T is the arithmetic, In the type of a, b and x: solve<double>(const float*, ...) factors an f32
// matrix in f64 without a separate converted copy. `ridge` is added to the diagonal in T.
template <class T, class In = T>
SolveInfo solve(const In* a, int n, const In* b, int k, SolveMethod method, In* x, double ridge = 0);

// Symmetric eigendecomposition (syevd) of (A + A^T) / 2, so both triangles
// of A are used. values: n, ascending. vectors: n x n row-major whose column
// j is the unit eigenvector for values[j].
template <class T>
void eigh(const T* a, int n, T* values, T* vectors);

// Thin SVD (gesdd) of the m x n matrix A, r = min(m, n):
// u: m x r, s: r (descending), vt: r x n, with A = U diag(s) Vt.
template <class T>
void svd(const T* a, int m, int n, T* u, T* s, T* vt);

// Thin QR (geqrf + orgqr), r = min(m, n): q: m x r with orthonormal columns,
// r_out: r x n upper triangular, A = Q R.
template <class T>
void qr(const T* a, int m, int n, T* q, T* r_out);

// Moore-Penrose pseudo-inverse (n x m) via SVD. Singular values <= rcond *
// s_max are dropped; rcond <= 0 selects max(m, n) * eps(T).
template <class T>
void pinv(const T* a, int m, int n, double rcond, T* out);

// Pseudo-inverse of the symmetric n x n matrix (A + A^T) / 2 via eigh.
// Eigenvalues with |w| <= rcond * max|w| are dropped; rcond <= 0 selects
// n * eps(T). The result is exactly symmetric.
template <class T>
void pinv_sym(const T* a, int n, double rcond, T* out);

// out (n x n, both triangles) = A A^T for the n x k matrix A whose row i starts at a + i * lda:
// the Gram of rows, or of a block of columns of a wider matrix.
template <class T>
void gram_rows(const T* a, int n, int k, int lda, T* out);

// Symmetric PSD square root V diag(sqrt(max(w, 0))) V^T of (A + A^T) / 2.
// Returns the number of negative eigenvalues that were clipped to zero.
// The result is exactly symmetric.
template <class T>
int64_t sqrt_psd(const T* a, int n, T* root);

// The same root of an f32 matrix computed in double (eigendecomposition and product), rounded to
// f32 once at the end; its double buffers are kept between calls (see linalg.cc).
int64_t sqrt_psd_f64(const float* a, int n, float* root);

}  // namespace linalg
}  // namespace ncgpu
