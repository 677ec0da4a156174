// ncgpu native addon: mixed-precision solves of large kernel systems (see kernel_solve.h).
//
// Why this shape: at N = 50,000 the f32 kernel matrix alone is 10 GB, so there is no room for the
// f64 copy a direct solve needs. Cholesky in f32 runs at SGEMM speed in place; iterative
// refinement with f64 residuals then recovers the accuracy of an f64 solve whenever
// cond(K) * 2^-24 < 1 (the classic LAPACK dsposv scheme, here without a second matrix: the factor
// lives in the lower triangle, K stays in the upper one).
#include "kernel_solve.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "lapack_decls.h"
#include "thread_pool.h"

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
// the f64 products below are the refinement's main cost: an AVX2/FMA clone doubles their speed
// while the binary stays portable
#define NCGPU_HOT_CLONES __attribute__((target_clones("arch=haswell", "default")))
#else
#define NCGPU_HOT_CLONES
#endif

namespace ncgpu {
namespace kernel_solve {

const char* status_name(MixedStatus s) {
  switch (s) {
    case MixedStatus::kConverged: return "converged";
    case MixedStatus::kStalled: return "stalled";
    case MixedStatus::kMaxRefinements: return "max-refinements";
    default: return "not-factored";
  }
}

namespace {

constexpr int64_t kRowBlock = 32;
constexpr int64_t kTile = 64;

// Row i's share of K X from the strict upper triangle: out_c[i] += sum_{j>i} K_ij x_c[j] and
// out_c[j] += K_ij x_c[i]. xt and out are k x n (one right-hand side per row), f64.
NCGPU_HOT_CLONES
void upper_row_product(const float* row, int64_t i, int64_t n, const double* xt, int64_t k, double* out) {
  for (int64_t c = 0; c < k; ++c) {
    const double* xc = xt + c * n;
    double* oc = out + c * n;
    const double xi = xc[i];
    double d0 = 0, d1 = 0, d2 = 0, d3 = 0;
    int64_t j = i + 1;
    for (; j + 4 <= n; j += 4) {
      const double v0 = row[j], v1 = row[j + 1], v2 = row[j + 2], v3 = row[j + 3];
      d0 += v0 * xc[j];
      d1 += v1 * xc[j + 1];
      d2 += v2 * xc[j + 2];
      d3 += v3 * xc[j + 3];
      oc[j] += v0 * xi;
      oc[j + 1] += v1 * xi;
      oc[j + 2] += v2 * xi;
      oc[j + 3] += v3 * xi;
    }
    for (; j < n; ++j) {
      const double v = row[j];
      d0 += v * xc[j];
      oc[j] += v * xi;
    }
    oc[i] += (d0 + d1) + (d2 + d3);
  }
}

// out (k x n) = K X for K given by the strict upper triangle of `a` and `diag`, X as xt (k x n).
// Each task sums interleaved row blocks into its own buffer (the scatter to out_c[j] would race).
void symmetric_product(const float* a, const double* diag, int64_t n, const double* xt, int64_t k, double* out) {
  ThreadPool& pool = ThreadPool::instance();
  const int64_t tasks = std::max(1, pool.threads());
  const size_t kn = static_cast<size_t>(k) * static_cast<size_t>(n);
  std::vector<double> partial(static_cast<size_t>(tasks) * kn, 0.0);
  const int64_t blocks = (n + kRowBlock - 1) / kRowBlock;
  pool.parallel_for(0, tasks, 1, [&](int64_t tb, int64_t te) {
    for (int64_t t = tb; t < te; ++t) {
      double* mine = partial.data() + static_cast<size_t>(t) * kn;
      for (int64_t b = t; b < blocks; b += tasks) {
        const int64_t end = std::min(n, (b + 1) * kRowBlock);
        for (int64_t i = b * kRowBlock; i < end; ++i) upper_row_product(a + static_cast<size_t>(i) * n, i, n, xt, k, mine);
      }
    }
  });
  pool.parallel_for(0, k, 1, [&](int64_t cb, int64_t ce) {
    for (int64_t c = cb; c < ce; ++c) {
      double* oc = out + static_cast<size_t>(c) * n;
      const double* xc = xt + static_cast<size_t>(c) * n;
      for (int64_t i = 0; i < n; ++i) oc[i] = diag[i] * xc[i];
      for (int64_t t = 0; t < tasks; ++t) {
        const double* pc = partial.data() + static_cast<size_t>(t) * kn + static_cast<size_t>(c) * n;
        for (int64_t i = 0; i < n; ++i) oc[i] += pc[i];
      }
    }
  });
}

// Copies the strict upper triangle onto the strict lower one, tile by tile (cache-friendly).
void mirror_upper_to_lower(float* a, int64_t n) {
  const int64_t tiles = (n + kTile - 1) / kTile;
  ThreadPool::instance().parallel_for(0, tiles, 1, [=](int64_t rb, int64_t re) {
    for (int64_t ti = rb; ti < re; ++ti) {
      const int64_t i0 = ti * kTile, i1 = std::min(n, i0 + kTile);
      for (int64_t j0 = 0; j0 <= i0; j0 += kTile) {
        const int64_t j1 = std::min(n, j0 + kTile);
        for (int64_t i = i0; i < i1; ++i) {
          for (int64_t j = j0; j < std::min(j1, i); ++j) a[static_cast<size_t>(i) * n + j] = a[static_cast<size_t>(j) * n + i];
        }
      }
    }
  });
}

// 1-norm (= infinity norm) of the symmetric K from its upper triangle and diagonal.
double symmetric_one_norm(const float* a, const double* diag, int64_t n) {
  std::vector<double> col(static_cast<size_t>(n), 0.0);
  for (int64_t i = 0; i < n; ++i) {
    const float* row = a + static_cast<size_t>(i) * n;
    double s = std::fabs(diag[i]);
    for (int64_t j = i + 1; j < n; ++j) {
      const double v = std::fabs(static_cast<double>(row[j]));
      s += v;
      col[static_cast<size_t>(j)] += v;
    }
    col[static_cast<size_t>(i)] += s;
  }
  return *std::max_element(col.begin(), col.end());
}

int spotrf_upper(float* a, int n) {
  // 'U' on LAPACK's column-major view is the lower triangle of the row-major matrix
  const char uplo = 'U';
  int info = 0;
  spotrf_(&uplo, &n, a, &n, &info NCGPU_STRLEN_ARG);
  return info;
}

double frobenius(const double* v, size_t len) {
  double s = 0;
  for (size_t i = 0; i < len; ++i) s += v[i] * v[i];
  return std::sqrt(s);
}

double max_abs(const double* v, size_t len) {
  double m = 0;
  for (size_t i = 0; i < len; ++i) m = std::max(m, std::fabs(v[i]));
  return m;
}

// r = Y^T - K x - ridge x, all k x n; returns ||r||_F.
double residual_of(const float* y, int64_t n, int64_t k, const double* xt, const double* kx, double ridge, double* r) {
  for (int64_t c = 0; c < k; ++c) {
    for (int64_t i = 0; i < n; ++i) {
      const size_t t = static_cast<size_t>(c) * n + i;
      r[t] = static_cast<double>(y[static_cast<size_t>(i) * k + c]) - kx[t] - ridge * xt[t];
    }
  }
  return frobenius(r, static_cast<size_t>(k) * n);
}

void diagonal_of(const float* a, int64_t n, std::vector<double>& diag) {
  diag.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) diag[static_cast<size_t>(i)] = a[static_cast<size_t>(i) * n + i];
}

// symmetric_residual with K's diagonal given (the matrix's own may hold a factor by now)
double residual_with_diagonal(const float* a, const double* diag, int64_t n, const float* x, int64_t k, const float* y,
                              double ridge, float* fitted) {
  if (n == 0 || k == 0) return 0;
  const size_t kn = static_cast<size_t>(k) * n;
  std::vector<double> xt(kn), kx(kn), r(kn);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < k; ++c) xt[static_cast<size_t>(c) * n + i] = x[static_cast<size_t>(i) * k + c];
  symmetric_product(a, diag, n, xt.data(), k, kx.data());
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < k; ++c) fitted[static_cast<size_t>(i) * k + c] = static_cast<float>(kx[static_cast<size_t>(c) * n + i]);
  const double rn = residual_of(y, n, k, xt.data(), kx.data(), ridge, r.data());
  double yn = 0;
  for (size_t t = 0; t < kn; ++t) yn += static_cast<double>(y[t]) * y[t];
  yn = std::sqrt(yn);
  return yn > 0 ? rn / yn : rn;
}

}  // namespace

double symmetric_residual(const float* a, int64_t n, const float* x, int64_t k, const float* y, double ridge,
                          float* fitted) {
  std::vector<double> diag;
  diagonal_of(a, n, diag);
  return residual_with_diagonal(a, diag.data(), n, x, k, y, ridge, fitted);
}

MixedResult mixed_solve(float* a, int64_t n, const float* y, int64_t k, double ridge, int max_refinements, float* x,
                        float* fitted) {
  MixedResult res;
  if (n > std::numeric_limits<int>::max()) throw std::invalid_argument("mixedSolve: n is beyond LAPACK's 32-bit sizes");
  if (n == 0 || k == 0) {
    res.status = MixedStatus::kConverged;
    return res;
  }
  const size_t kn = static_cast<size_t>(k) * n;
  std::vector<double> diag;
  diagonal_of(a, n, diag);
  const double anorm = symmetric_one_norm(a, diag.data(), n) + ridge;
  double max_diag = 0;
  for (double v : diag) max_diag = std::max(max_diag, std::fabs(v));
  const double eps32 = std::numeric_limits<float>::epsilon() / 2;
  const double eps64 = std::numeric_limits<double>::epsilon() / 2;
  const auto restore = [&] {
    mirror_upper_to_lower(a, n);
    for (int64_t i = 0; i < n; ++i) a[static_cast<size_t>(i) * n + i] = static_cast<float>(diag[static_cast<size_t>(i)]);
  };

  // Rounding can make a near-singular K indefinite in f32: factor K + shift I instead, which is
  // still a preconditioner for the refinement against the unshifted system.
  const int ni = static_cast<int>(n);
  for (int attempt = 0;; ++attempt) {
    for (int64_t i = 0; i < n; ++i) {
      a[static_cast<size_t>(i) * n + i] = static_cast<float>(diag[static_cast<size_t>(i)] + ridge + res.shift);
    }
    const int info = spotrf_upper(a, ni);
    if (info < 0) throw std::runtime_error("mixedSolve: LAPACK spotrf rejected argument " + std::to_string(-info));
    if (info == 0) break;
    restore();
    if (attempt == 4) return res;  // kNotFactored
    res.shift = res.shift == 0 ? std::sqrt(static_cast<double>(n)) * eps32 * std::max(max_diag, 1e-30) : res.shift * 10;
  }
  {
    const char uplo = 'U';
    const float an = static_cast<float>(anorm + res.shift);
    float rc = 0;
    int info = 0;
    std::vector<float> work(3 * static_cast<size_t>(n));
    std::vector<int> iwork(static_cast<size_t>(n));
    spocon_(&uplo, &ni, a, &ni, &an, &rc, work.data(), iwork.data(), &info NCGPU_STRLEN_ARG);
    res.rcond = rc;
  }

  std::vector<double> yt(kn);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < k; ++c) yt[static_cast<size_t>(c) * n + i] = y[static_cast<size_t>(i) * k + c];
  const double ynorm = frobenius(yt.data(), kn);
  std::vector<double> xt(kn, 0.0), kx(kn, 0.0), r(yt), x_prev(kn), kx_prev(kn);
  std::vector<float> corr(kn);
  double prev = ynorm > 0 ? 1.0 : 0.0;
  res.status = MixedStatus::kMaxRefinements;
  const int nk = static_cast<int>(k);
  for (int it = 0; it <= max_refinements && ynorm > 0; ++it) {
    // the correction solve in f32; r is scaled to unit max so it cannot underflow as it shrinks
    const double rmax = max_abs(r.data(), kn);
    if (rmax == 0) {
      res.status = MixedStatus::kConverged;
      break;
    }
    for (size_t t = 0; t < kn; ++t) corr[t] = static_cast<float>(r[t] / rmax);
    const char uplo = 'U';
    int info = 0;
    // k x n row-major is n x k column-major with leading dimension n: LAPACK's layout
    spotrs_(&uplo, &ni, &nk, a, &ni, corr.data(), &ni, &info NCGPU_STRLEN_ARG);
    if (info != 0) throw std::runtime_error("mixedSolve: LAPACK spotrs failed (info=" + std::to_string(info) + ")");
    x_prev = xt;
    kx_prev = kx;
    double cmax = 0;
    for (size_t t = 0; t < kn; ++t) {
      const double c = rmax * corr[t];
      xt[t] += c;
      cmax = std::max(cmax, std::fabs(c));
    }
    symmetric_product(a, diag.data(), n, xt.data(), k, kx.data());
    const double rel = residual_of(y, n, k, xt.data(), kx.data(), ridge, r.data()) / ynorm;
    res.history.push_back(rel);
    res.refinements = it;
    if (it > 0 && !(rel < prev)) {
      // the step made things worse: keep the previous iterate
      xt.swap(x_prev);
      kx.swap(kx_prev);
      res.history.back() = prev;
      res.status = MixedStatus::kStalled;
      break;
    }
    const double xmax = max_abs(xt.data(), kn);
    const double backward = max_abs(r.data(), kn);
    if (backward <= xmax * anorm * eps64 * std::sqrt(static_cast<double>(n)) || cmax <= eps32 * xmax) {
      res.status = MixedStatus::kConverged;
      break;
    }
    if (it > 0 && rel > 0.9 * prev) {
      res.status = MixedStatus::kStalled;
      break;
    }
    prev = rel;
  }
  if (ynorm == 0) res.status = MixedStatus::kConverged;

  // what the caller gets is the f32 x: report its residual and K x, not the f64 iterate's
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < k; ++c) x[static_cast<size_t>(i) * k + c] = static_cast<float>(xt[static_cast<size_t>(c) * n + i]);
  res.residual = residual_with_diagonal(a, diag.data(), n, x, k, y, ridge, fitted);
  if (res.status != MixedStatus::kConverged) restore();
  return res;
}

}  // namespace kernel_solve
}  // namespace ncgpu
