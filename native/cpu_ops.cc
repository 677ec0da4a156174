// ncgpu native addon: BLAS-backed and multithreaded f32 CPU kernels.
#include "cpu_ops.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "lapack_decls.h"
#include "thread_pool.h"
#include "vec_math.h"

namespace ncgpu {
namespace cpu {

namespace {

// Work per parallel chunk, in elements. Loops shorter than two chunks run on
// the calling thread only.
constexpr int64_t kGrainCheap = 1 << 16;      // add/mul/compare per element
constexpr int64_t kGrainExpensive = 1 << 13;  // cos/exp per element

// Rows per chunk so that each chunk touches about `grain` elements.
inline int64_t row_grain(int64_t cols, int64_t grain) {
  return std::max<int64_t>(1, grain / std::max<int64_t>(cols, 1));
}

// Splits [0, total) into at most pool-size chunks of at least `grain` items
// and calls fn(chunk_index, begin, end) for each in parallel. Returns the
// number of chunks, so callers can size per-chunk partial results first via
// plan_chunks().
inline int64_t plan_chunks(int64_t total, int64_t grain) {
  if (total <= 0) return 0;
  int64_t by_grain = std::max<int64_t>(1, total / std::max<int64_t>(grain, 1));
  return std::min<int64_t>(by_grain, ThreadPool::instance().threads());
}

template <class F>
void for_chunks(int64_t total, int64_t nchunks, F&& fn) {
  if (nchunks <= 0) return;
  parallel_for(0, nchunks, 1, [&](int64_t cb, int64_t ce) {
    for (int64_t c = cb; c < ce; ++c) {
      int64_t b = total * c / nchunks;
      int64_t e = total * (c + 1) / nchunks;
      fn(c, b, e);
    }
  });
}



// Clamp a squared distance at zero; NaN passes through.
inline float clamp0(float v) { return v < 0.0f ? 0.0f : v; }

// One row of the pairwise epilogue: o[j] = kernel(max(o[j] + sx + sqz[j], 0)).
// Kept free of captured state and marked __restrict so the loop vectorizes.
template <int K>
inline void pairwise_row(float* __restrict o, const float* __restrict sqz, int64_t m, float sx, float coef) {
  for (int64_t j = 0; j < m; ++j) {
    const float r2 = clamp0(o[j] + sx + sqz[j]);
    if (K == kSquaredDistance) {
      o[j] = r2;
    } else if (K == kLaplace) {
      o[j] = exp_vec(std::sqrt(r2) * coef);
    } else if (K == kLaplaceGrad) {
      // the self term (r = 0) of a Laplace gradient vanishes: its direction is undefined
      const float r = std::sqrt(r2);
      o[j] = r < 1e-10f ? 0.0f : exp_vec(r * coef) / r;
    } else {  // Gaussian flavours: exp(coef * r2)
      o[j] = exp_vec(r2 * coef);
    }
  }
}

template <int K>
void pairwise_epilogue(float* out, int64_t n, int64_t m, const float* sqx, const float* sqz, float coef) {
  parallel_for(0, n, row_grain(m, kGrainExpensive), [=](int64_t rb, int64_t re) {
    for (int64_t i = rb; i < re; ++i) pairwise_row<K>(out + i * m, sqz, m, sqx[i], coef);
  });
}

// Copies the upper triangle of a row-major n x n matrix into its lower triangle,
// in square tiles so that both the reads and the writes stay in cache.
void mirror_upper(float* a, int64_t n) {
  constexpr int64_t kTile = 64;
  const int64_t tiles = (n + kTile - 1) / kTile;
  parallel_for(0, tiles, 1, [=](int64_t tb, int64_t te) {
    for (int64_t ti = tb; ti < te; ++ti) {
      const int64_t i0 = ti * kTile, i1 = std::min(n, i0 + kTile);
      for (int64_t j0 = 0; j0 <= i0; j0 += kTile) {
        const int64_t j1 = std::min(n, j0 + kTile);
        for (int64_t i = i0; i < i1; ++i) {
          for (int64_t j = j0; j < std::min(j1, i); ++j) a[i * n + j] = a[j * n + i];
        }
      }
    }
  });
}

// sq[i] = dot(p_i, q_i) for rows of two n x d matrices, computed in parallel.
void row_dots_to(const float* p, const float* q, int64_t n, int64_t d, float* sq) {
  parallel_for(0, n, row_grain(d, kGrainCheap), [=](int64_t rb, int64_t re) {
    for (int64_t i = rb; i < re; ++i) sq[i] = static_cast<float>(dot_d(p + i * d, q + i * d, d));
  });
}

}  // namespace

// ---------------------------------------------------------------------------
// BLAS info / threads
// ---------------------------------------------------------------------------
BlasInfo blas_info() {
  BlasInfo info;
#if defined(NCGPU_BLAS_OPENBLAS)
  info.name = "OpenBLAS";
  const char* cfg = openblas_get_config();
  info.config = cfg ? cfg : "";
  // The config string starts with "OpenBLAS <version> ...".
  const std::string prefix = "OpenBLAS ";
  if (info.config.compare(0, prefix.size(), prefix) == 0) {
    size_t start = prefix.size();
    size_t end = info.config.find(' ', start);
    info.version = info.config.substr(start, end == std::string::npos ? std::string::npos : end - start);
  }
  info.threads = openblas_get_num_threads();
#elif defined(NCGPU_BLAS_ACCELERATE)
  info.name = "Accelerate";
  info.config = "Apple Accelerate (vecLib)";
  info.threads = ThreadPool::instance().threads();
#else
  info.name = "BLAS";
  info.config = "generic CBLAS/LAPACK";
  info.threads = ThreadPool::instance().threads();
#endif
  return info;
}

void set_threads(int n) {
  if (n < 1) n = 1;
#if defined(NCGPU_BLAS_OPENBLAS)
  openblas_set_num_threads(n);
#endif
  ThreadPool::instance().set_threads(n);
}

void apply_thread_env() {
  const char* env = std::getenv("NCGPU_THREADS");
  if (env != nullptr && std::atoi(env) > 0) set_threads(ThreadPool::default_threads());
}

int pool_threads() { return ThreadPool::instance().threads(); }

// ---------------------------------------------------------------------------
// GEMM
// ---------------------------------------------------------------------------
namespace {

inline void blas_gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k, float alpha, const float* a, int lda,
                      const float* b, int ldb, float beta, float* c, int ldc) {
  cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
inline void blas_gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k, double alpha, const double* a, int lda,
                      const double* b, int ldb, double beta, double* c, int ldc) {
  cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

template <typename T>
void gemm_batched(bool trans_a, bool trans_b, int m, int n, int k, T alpha, const T* a, const T* b, T beta, T* c,
                  int64_t batch, int64_t stride_a, int64_t stride_b, int64_t stride_c) {
  if (batch <= 0 || m <= 0 || n <= 0) return;
  const int lda = trans_a ? m : k;
  const int ldb = trans_b ? k : n;
  const int64_t mn = static_cast<int64_t>(m) * n;
  for (int64_t i = 0; i < batch; ++i) {
    T* ci = c + i * stride_c;
    if (k <= 0) {  // empty inner dimension: C = beta * C
      if (beta == T(0)) {
        std::fill(ci, ci + mn, T(0));
      } else if (beta != T(1)) {
        for (int64_t t = 0; t < mn; ++t) ci[t] *= beta;
      }
      continue;
    }
    blas_gemm(trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha,
              a + i * stride_a, lda, b + i * stride_b, ldb, beta, ci, n);
  }
}

}  // namespace

void gemm_f32(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, const float* b,
              float beta, float* c, int64_t batch, int64_t stride_a, int64_t stride_b, int64_t stride_c) {
  gemm_batched(trans_a, trans_b, m, n, k, alpha, a, b, beta, c, batch, stride_a, stride_b, stride_c);
}

void gemm_f64(bool trans_a, bool trans_b, int m, int n, int k, double alpha, const double* a, const double* b,
              double beta, double* c, int64_t batch, int64_t stride_a, int64_t stride_b, int64_t stride_c) {
  gemm_batched(trans_a, trans_b, m, n, k, alpha, a, b, beta, c, batch, stride_a, stride_b, stride_c);
}

void sgemm_direct(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a,
                  const float* b, float beta, float* c, int64_t batch, int64_t stride_a, int64_t stride_b,
                  int64_t stride_c) {
  const int lda = std::max(1, trans_a ? m : k);
  const int ldb = std::max(1, trans_b ? k : n);
  const int ldc = std::max(1, n);
  for (int64_t i = 0; i < batch; ++i) {
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, m, n, k,
                alpha, a + i * stride_a, lda, b + i * stride_b, ldb, beta, c + i * stride_c, ldc);
  }
}

// ---------------------------------------------------------------------------
// Pairwise kernels
// ---------------------------------------------------------------------------
namespace {

void check_kernel(int kernel, double bandwidth) {
  if (kernel < kSquaredDistance || kernel > kLaplaceGrad) {
    throw std::invalid_argument("pairwise: argument 'kernel' must be 0, 1, 2, 3 or 4, got " + std::to_string(kernel));
  }
  if (kernel != kSquaredDistance && !(bandwidth > 0)) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%g", bandwidth);
    throw std::invalid_argument(std::string("pairwise: bandwidth must be > 0, got ") + buf);
  }
}

void finish_checked(float* out, int64_t n, int64_t m, const float* sqx, const float* sqz, int kernel, double L) {
  switch (kernel) {
    case kSquaredDistance:
      pairwise_epilogue<kSquaredDistance>(out, n, m, sqx, sqz, 0.0f);
      break;
    case kLaplace:
      pairwise_epilogue<kLaplace>(out, n, m, sqx, sqz, static_cast<float>(-1.0 / L));
      break;
    case kLaplaceGrad:
      pairwise_epilogue<kLaplaceGrad>(out, n, m, sqx, sqz, static_cast<float>(-1.0 / L));
      break;
    case kGaussian:
      pairwise_epilogue<kGaussian>(out, n, m, sqx, sqz, static_cast<float>(-1.0 / (2.0 * L * L)));
      break;
    default:  // kGaussianRfm
      pairwise_epilogue<kGaussianRfm>(out, n, m, sqx, sqz, static_cast<float>(-1.0 / L));
      break;
  }
}

}  // namespace

void copy_upper_to_lower(float* a, int64_t n) { mirror_upper(a, n); }

void pairwise_finish(float* out, int64_t n, int64_t m, const float* sqx, const float* sqz, int kernel,
                     double bandwidth) {
  check_kernel(kernel, bandwidth);
  if (n <= 0 || m <= 0) return;
  finish_checked(out, n, m, sqx, sqz, kernel, bandwidth);
}

void pairwise(const float* x, int n, const float* z, int m, int d, const float* mahal, int kernel,
              double bandwidth, float* out) {
  check_kernel(kernel, bandwidth);
  if (n <= 0 || m <= 0) return;
  std::vector<float> sqx(static_cast<size_t>(n));
  std::vector<float> sqz(static_cast<size_t>(m));
  if (mahal != nullptr && d > 0) {
    // XM = X M and ZM = Z M; ||x||_M^2 = dot(XM_i, x_i); cross = XM Z^T.
    std::vector<float> xm(static_cast<size_t>(n) * d);
    std::vector<float> zm(static_cast<size_t>(m) * d);
    gemm_f32(false, false, n, d, d, 1.0f, x, mahal, 0.0f, xm.data(), 1, 0, 0, 0);
    gemm_f32(false, false, m, d, d, 1.0f, z, mahal, 0.0f, zm.data(), 1, 0, 0, 0);
    row_dots_to(xm.data(), x, n, d, sqx.data());
    row_dots_to(zm.data(), z, m, d, sqz.data());
    zm = std::vector<float>();
    gemm_f32(false, true, n, m, d, -2.0f, xm.data(), z, 0.0f, out, 1, 0, 0, 0);
  } else if (x == z && n == m && d > 0) {
    // K(X, X): X X^T is symmetric, so one triangle (syrk) is half the GEMM's flops
    row_dots_to(x, x, n, d, sqx.data());
    sqz = sqx;
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, n, d, -2.0f, x, d, 0.0f, out, n);
    mirror_upper(out, n);
  } else {
    row_dots_to(x, x, n, d, sqx.data());
    row_dots_to(z, z, m, d, sqz.data());
    gemm_f32(false, true, n, m, d, -2.0f, x, z, 0.0f, out, 1, 0, 0, 0);
  }

  finish_checked(out, n, m, sqx.data(), sqz.data(), kernel, bandwidth);
}

// ---------------------------------------------------------------------------
// Row-wise ops
// ---------------------------------------------------------------------------
void row_norms(const float* x, int64_t rows, int64_t cols, float* out, bool squared) {
  parallel_for(0, rows, row_grain(cols, kGrainCheap), [=](int64_t rb, int64_t re) {
    for (int64_t i = rb; i < re; ++i) {
      const float* xi = x + i * cols;
      double s = dot_d(xi, xi, cols);
      out[i] = static_cast<float>(squared ? s : std::sqrt(s));
    }
  });
}

void row_normalize(const float* x, int64_t rows, int64_t cols, float* out) {
  parallel_for(0, rows, row_grain(cols, kGrainCheap), [=](int64_t rb, int64_t re) {
    for (int64_t i = rb; i < re; ++i) {
      const float* xi = x + i * cols;
      float* oi = out + i * cols;
      double nrm = std::sqrt(dot_d(xi, xi, cols));
      if (nrm > 0) {
        const double inv = 1.0 / nrm;
        for (int64_t j = 0; j < cols; ++j) oi[j] = static_cast<float>(xi[j] * inv);
      } else if (oi != xi) {
        for (int64_t j = 0; j < cols; ++j) oi[j] = xi[j];  // zero (or NaN) row copied unchanged
      }
    }
  });
}

void row_dot(const float* a, const float* b, int64_t rows, int64_t cols, float* out) {
  parallel_for(0, rows, row_grain(cols, kGrainCheap), [=](int64_t rb, int64_t re) {
    for (int64_t i = rb; i < re; ++i) out[i] = static_cast<float>(dot_d(a + i * cols, b + i * cols, cols));
  });
}

// ---------------------------------------------------------------------------
// Elementwise ops
// ---------------------------------------------------------------------------
void unary(int op, const float* x, float* out, int64_t len, float alpha) {
  switch (op) {
    case kRelu:
      parallel_for(0, len, kGrainCheap, [=](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) out[i] = x[i] < 0.0f ? 0.0f : x[i];
      });
      break;
    case kCos:
      parallel_for(0, len, kGrainExpensive, [=](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) out[i] = std::cos(x[i]);
      });
      break;
    case kScale:
      parallel_for(0, len, kGrainCheap, [=](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) out[i] = alpha * x[i];
      });
      break;
    case kExp:
      parallel_for(0, len, kGrainExpensive, [=](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) out[i] = std::exp(x[i]);
      });
      break;
    default:
      throw std::invalid_argument("unary: argument 'op' must be 0 (relu), 1 (cos), 2 (scale) or 3 (exp), got " +
                                  std::to_string(op));
  }
}

void axpy(float alpha, const float* x, const float* y, float* out, int64_t len) {
  parallel_for(0, len, kGrainCheap, [=](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) out[i] = alpha * x[i] + y[i];
  });
}

// ---------------------------------------------------------------------------
// Reductions
// ---------------------------------------------------------------------------
void col_sums(const float* x, int64_t rows, int64_t cols, float* out) {
  if (cols <= 0) return;
  const int64_t nchunks = plan_chunks(rows, row_grain(cols, kGrainCheap));
  if (nchunks == 0) {
    std::fill(out, out + cols, 0.0f);
    return;
  }
  std::vector<double> partial(static_cast<size_t>(nchunks * cols), 0.0);
  for_chunks(rows, nchunks, [&](int64_t c, int64_t rb, int64_t re) {
    double* acc = partial.data() + c * cols;
    for (int64_t i = rb; i < re; ++i) {
      const float* xi = x + i * cols;
      for (int64_t j = 0; j < cols; ++j) acc[j] += xi[j];
    }
  });
  for (int64_t j = 0; j < cols; ++j) {
    double s = 0;
    for (int64_t c = 0; c < nchunks; ++c) s += partial[static_cast<size_t>(c * cols + j)];
    out[j] = static_cast<float>(s);
  }
}

namespace {

void check_class_labels(const char* fn, const int32_t* labels, int64_t rows, int64_t k) {
  for (int64_t i = 0; i < rows; ++i) {
    if (labels[i] < 0 || labels[i] >= k) {
      std::string range = k > 0 ? "0.." + std::to_string(k - 1) : std::string("empty (k = 0)");
      throw std::invalid_argument(std::string(fn) + ": labels[" + std::to_string(i) + "] = " + std::to_string(labels[i]) +
                                  " is outside the class range " + range);
    }
  }
}

// Per-class double accumulators of `width` values, summed over row chunks that run in parallel:
// row_fn(i, acc) adds row i's contribution into acc (its class's width values). Returns the
// k x width totals.
template <class RowFn>
std::vector<double> accumulate_by_class(int64_t rows, int64_t cols, const int32_t* labels, int64_t k, int64_t width,
                                        RowFn row_fn) {
  const int64_t kw = k * width;
  std::vector<double> total(static_cast<size_t>(kw), 0.0);
  if (kw <= 0) return total;
  // one k x width accumulator per chunk; cap their total at ~256 MiB
  int64_t nchunks = plan_chunks(rows, row_grain(cols, kGrainCheap));
  nchunks = std::min(nchunks, std::max<int64_t>(1, (int64_t{256} << 20) / (kw * 8)));
  if (nchunks == 0) return total;
  std::vector<double> partial(static_cast<size_t>(nchunks * kw), 0.0);
  for_chunks(rows, nchunks, [&](int64_t c, int64_t rb, int64_t re) {
    double* acc = partial.data() + c * kw;
    for (int64_t i = rb; i < re; ++i) row_fn(i, acc + static_cast<int64_t>(labels[i]) * width);
  });
  parallel_for(0, kw, kGrainCheap, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      double s = 0;
      for (int64_t c = 0; c < nchunks; ++c) s += partial[static_cast<size_t>(c * kw + t)];
      total[static_cast<size_t>(t)] = s;
    }
  });
  return total;
}

}  // namespace

void class_sums(const float* x, int64_t rows, int64_t cols, const int32_t* labels, int64_t k, float* out) {
  check_class_labels("classSums", labels, rows, k);
  const std::vector<double> total = accumulate_by_class(rows, cols, labels, k, cols, [=](int64_t i, double* acc) {
    const float* xi = x + i * cols;
    for (int64_t j = 0; j < cols; ++j) acc[j] += xi[j];
  });
  for (size_t t = 0; t < total.size(); ++t) out[t] = static_cast<float>(total[t]);
}

void class_deviations(const float* x, int64_t rows, int64_t cols, const int32_t* labels, int64_t k,
                      const float* shifts, double* sums, double* sq) {
  check_class_labels("classDeviations", labels, rows, k);
  // each class's row holds its cols deviation sums, then its sum of squares
  const int64_t width = cols + 1;
  const std::vector<double> total = accumulate_by_class(rows, cols, labels, k, width, [=](int64_t i, double* acc) {
    const float* xi = x + i * cols;
    const float* s = shifts + static_cast<int64_t>(labels[i]) * cols;
    double q = 0;
    for (int64_t j = 0; j < cols; ++j) {
      const double v = static_cast<double>(xi[j]) - s[j];
      acc[j] += v;
      q += v * v;
    }
    acc[cols] += q;
  });
  for (int64_t c = 0; c < k; ++c) {
    std::copy(total.begin() + c * width, total.begin() + c * width + cols, sums + c * cols);
    sq[c] = total[static_cast<size_t>(c * width + cols)];
  }
}

double max_value(const float* x, int64_t len) {
  if (len <= 0) return -std::numeric_limits<double>::infinity();
  const int64_t nchunks = plan_chunks(len, kGrainCheap);
  std::vector<float> best(static_cast<size_t>(nchunks), -std::numeric_limits<float>::infinity());
  std::vector<int> has_nan(static_cast<size_t>(nchunks), 0);
  for_chunks(len, nchunks, [&](int64_t c, int64_t b, int64_t e) {
    float mx = -std::numeric_limits<float>::infinity();
    int nan = 0;
    for (int64_t i = b; i < e; ++i) {
      const float v = x[i];
      mx = v > mx ? v : mx;
      nan |= (v != v);
    }
    best[static_cast<size_t>(c)] = mx;
    has_nan[static_cast<size_t>(c)] = nan;
  });
  float mx = -std::numeric_limits<float>::infinity();
  for (int64_t c = 0; c < nchunks; ++c) {
    if (has_nan[static_cast<size_t>(c)]) return std::numeric_limits<double>::quiet_NaN();
    mx = std::max(mx, best[static_cast<size_t>(c)]);
  }
  return mx;
}

int64_t count_non_finite(const float* x, int64_t len) {
  if (len <= 0) return 0;
  const int64_t nchunks = plan_chunks(len, kGrainCheap);
  std::vector<int64_t> counts(static_cast<size_t>(nchunks), 0);
  for_chunks(len, nchunks, [&](int64_t c, int64_t b, int64_t e) {
    int64_t cnt = 0;
    for (int64_t i = b; i < e; ++i) {
      uint32_t bits;
      std::memcpy(&bits, x + i, sizeof bits);
      cnt += (bits & 0x7f800000u) == 0x7f800000u;  // exponent all ones: Inf or NaN
    }
    counts[static_cast<size_t>(c)] = cnt;
  });
  int64_t total = 0;
  for (int64_t c : counts) total += c;
  return total;
}

}  // namespace cpu
}  // namespace ncgpu
