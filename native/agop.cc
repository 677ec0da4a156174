// ncgpu native addon: AGOP of a kernel predictor (see agop.h).
#include "agop.h"

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "cpu_ops.h"
#include "lapack_decls.h"
#include "thread_pool.h"

namespace ncgpu {
namespace cpu {

namespace {

constexpr int64_t kGrain = 1 << 15;  // elements per parallel chunk

inline int64_t rows_per_chunk(int64_t cols) { return std::max<int64_t>(1, kGrain / std::max<int64_t>(cols, 1)); }

// z (n x d): row j of xm scaled by alpha[j, c].
void scale_rows(const float* xm, const float* alpha, int64_t n, int64_t d, int64_t k, int64_t c, float* z) {
  parallel_for(0, n, rows_per_chunk(d), [=](int64_t rb, int64_t re) {
    for (int64_t j = rb; j < re; ++j) {
      const float a = alpha[j * k + c];
      const float* src = xm + j * d;
      float* dst = z + j * d;
      for (int64_t p = 0; p < d; ++p) dst[p] = a * src[p];
    }
  });
}

// j (b x d) -= walpha[:, c] (b) outer pm (b x d), row by row.
void subtract_rank_one(float* j, const float* walpha, const float* pm, int64_t b, int64_t d, int64_t k, int64_t c) {
  parallel_for(0, b, rows_per_chunk(d), [=](int64_t rb, int64_t re) {
    for (int64_t i = rb; i < re; ++i) {
      const float w = walpha[i * k + c];
      const float* src = pm + i * d;
      float* dst = j + i * d;
      for (int64_t p = 0; p < d; ++p) dst[p] -= w * src[p];
    }
  });
}

// Kernel code of the pairwise weights w_ij and the gradient scale s.
struct GradientForm {
  int weights;
  double scale;
};

GradientForm gradient_form(int kernel, double L) {
  switch (kernel) {
    case kLaplace:
      return {kLaplaceGrad, 1.0 / L};
    case kGaussian:
      return {kGaussian, 1.0 / (L * L)};
    case kGaussianRfm:
      return {kGaussianRfm, 2.0 / L};
    default:
      throw std::invalid_argument("agop: argument 'kernel' must be 1 (laplace), 2 (gaussian) or 3 (gaussian-rfm), got " +
                                  std::to_string(kernel));
  }
}

// Scratch memory kept from one call to the next. Layer after layer an RFM asks for the same
// sizes, and where fresh pages are expensive (VMs, sandboxes) faulting in ~100 MB per call costs
// as much as a sizable GEMM. A call that finds the scratch in use by another allocates its own.
std::mutex scratch_mutex;
std::vector<float> scratch_f32;
std::vector<double> scratch_f64;

}  // namespace

void agop(const float* x, int64_t n, int64_t d, const float* alpha, int64_t k, const float* points, int64_t m,
          const float* mahal, int kernel, double bandwidth, bool self, int64_t batch_rows, float* out) {
  const GradientForm form = gradient_form(kernel, bandwidth);
  if (!(bandwidth > 0)) throw std::invalid_argument("agop: bandwidth must be > 0");
  if (self && m != n) throw std::invalid_argument("agop: 'self' needs as many points as centers");
  const int64_t dd = d * d;
  std::fill(out, out + dd, 0.0f);
  if (n == 0 || m == 0 || k == 0 || d == 0) return;
  const int64_t batch = std::max<int64_t>(1, std::min(batch_rows, m));

  // Centers in the metric: XM = X M (or X itself).
  std::vector<float> xm_store;
  const float* xm = x;
  if (mahal != nullptr) {
    xm_store.resize(static_cast<size_t>(n * d));
    gemm_f32(false, false, static_cast<int>(n), static_cast<int>(d), static_cast<int>(d), 1.0f, x, mahal, 0.0f,
             xm_store.data(), 1, 0, 0, 0);
    xm = xm_store.data();
  }

  std::unique_lock<std::mutex> lock(scratch_mutex, std::try_to_lock);
  std::vector<float> own_f32;
  std::vector<double> own_f64;
  std::vector<float>& f32 = lock.owns_lock() ? scratch_f32 : own_f32;
  std::vector<double>& f64 = lock.owns_lock() ? scratch_f64 : own_f64;
  const int64_t pm_size = mahal != nullptr ? batch * d : 0;
  const size_t need = static_cast<size_t>(batch * n + batch * k + n * d + batch * d + pm_size + dd);
  if (f32.size() < need) f32.resize(need);
  if (f64.size() < static_cast<size_t>(dd)) f64.resize(static_cast<size_t>(dd));
  float* w = f32.data();
  float* walpha = w + batch * n;
  float* z = walpha + batch * k;
  float* jac = z + n * d;
  float* pm_store = jac + batch * d;
  // One batch's sum of J^T J in f32 (upper triangle, from syrk), added to a
  // double accumulator so many batches do not lose small contributions.
  float* g_batch = pm_store + pm_size;
  double* g = f64.data();
  std::fill(g, g + dd, 0.0);
  const float self_weight = form.weights == kLaplaceGrad ? 0.0f : 1.0f;

  for (int64_t i0 = 0; i0 < m; i0 += batch) {
    const int64_t b = std::min(batch, m - i0);
    const float* p = points + i0 * d;
    pairwise(p, static_cast<int>(b), x, static_cast<int>(n), static_cast<int>(d), mahal, form.weights, bandwidth, w);
    if (self) {
      for (int64_t i = 0; i < b; ++i) w[i * n + i0 + i] = self_weight;
    }
    const float* pm = p;
    if (mahal != nullptr) {
      gemm_f32(false, false, static_cast<int>(b), static_cast<int>(d), static_cast<int>(d), 1.0f, p, mahal, 0.0f,
               pm_store, 1, 0, 0, 0);
      pm = pm_store;
    }
    // (W alpha)[i, c] = sum_j w_ij alpha_jc
    gemm_f32(false, false, static_cast<int>(b), static_cast<int>(k), static_cast<int>(n), 1.0f, w, alpha, 0.0f, walpha,
             1, 0, 0, 0);
    for (int64_t c = 0; c < k; ++c) {
      scale_rows(xm, alpha, n, d, k, c, z);
      gemm_f32(false, false, static_cast<int>(b), static_cast<int>(d), static_cast<int>(n), 1.0f, w, z, 0.0f, jac, 1, 0,
               0, 0);
      subtract_rank_one(jac, walpha, pm, b, d, k, c);
      cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, static_cast<int>(d), static_cast<int>(b), 1.0f, jac,
                  static_cast<int>(d), c == 0 ? 0.0f : 1.0f, g_batch, static_cast<int>(d));
    }
    for (int64_t r = 0; r < d; ++r) {
      for (int64_t q = r; q < d; ++q) g[r * d + q] += g_batch[r * d + q];
    }
  }

  // The sign of the gradient drops out of J^T J; its scale enters squared.
  const double s2 = form.scale * form.scale;
  for (int64_t r = 0; r < d; ++r) {
    for (int64_t q = r; q < d; ++q) {
      const float v = static_cast<float>(s2 * g[r * d + q]);
      out[r * d + q] = v;
      out[q * d + r] = v;
    }
  }
}

}  // namespace cpu
}  // namespace ncgpu
