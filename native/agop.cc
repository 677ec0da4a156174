// ncgpu native addon: AGOP of a kernel predictor (see agop.h).
#include "agop.h"
#include "agop_gram.h"

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

// z (n x kc d): z[j, c d + p] = alpha[j, c0 + c] xm[j, p] for the kc outputs from c0.
void scale_rows(const float* xm, const float* alpha, int64_t n, int64_t d, int64_t k, int64_t c0, int64_t kc, float* z) {
  parallel_for(0, n, rows_per_chunk(kc * d), [=](int64_t rb, int64_t re) {
    for (int64_t j = rb; j < re; ++j) {
      const float* src = xm + j * d;
      for (int64_t c = 0; c < kc; ++c) {
        const float a = alpha[j * k + c0 + c];
        float* dst = z + (j * kc + c) * d;
        for (int64_t p = 0; p < d; ++p) dst[p] = a * src[p];
      }
    }
  });
}

// jac (b x kc d): jac[i, c d + p] -= walpha[i, c0 + c] pm[i, p].
void subtract_rank_one(float* jac, const float* walpha, const float* pm, int64_t b, int64_t d, int64_t k, int64_t c0,
                       int64_t kc) {
  parallel_for(0, b, rows_per_chunk(kc * d), [=](int64_t rb, int64_t re) {
    for (int64_t i = rb; i < re; ++i) {
      const float* src = pm + i * d;
      for (int64_t c = 0; c < kc; ++c) {
        const float w = walpha[i * k + c0 + c];
        float* dst = jac + (i * kc + c) * d;
        for (int64_t p = 0; p < d; ++p) dst[p] -= w * src[p];
      }
    }
  });
}

// dst (b x d): rows index[0..b) of src.
void gather_rows(const float* src, const int32_t* index, int64_t b, int64_t d, float* dst) {
  parallel_for(0, b, rows_per_chunk(d), [=](int64_t rb, int64_t re) {
    for (int64_t i = rb; i < re; ++i) std::copy(src + index[i] * d, src + (index[i] + 1) * d, dst + i * d);
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

// Hands out consecutive pieces of one float buffer.
class Carver {
 public:
  explicit Carver(float* base) : next_(base) {}
  float* take(int64_t elements) {
    float* p = next_;
    next_ += elements;
    return p;
  }

 private:
  float* next_;
};

}  // namespace

AgopOutcome agop(const AgopProblem& a, float* out) {
  const GradientForm form = gradient_form(a.kernel, a.bandwidth);
  if (!(a.bandwidth > 0)) throw std::invalid_argument("agop: bandwidth must be > 0");
  if (a.self && a.m != a.n) throw std::invalid_argument("agop: 'self' needs as many points as centers");
  const int64_t n = a.n, d = a.d, k = a.k;
  const bool gathered = a.point_index != nullptr;
  const int64_t count = gathered ? a.samples : a.m;  // points whose gradients enter the sum
  if (gathered) {
    for (int64_t i = 0; i < count; ++i) {
      if (a.point_index[i] < 0 || a.point_index[i] >= a.m) {
        throw std::invalid_argument("agop: point index " + std::to_string(a.point_index[i]) + " is outside [0, " +
                                    std::to_string(a.m) + ")");
      }
    }
  }
  const int64_t dd = d * d;
  std::fill(out, out + dd, 0.0f);
  AgopOutcome outcome;
  if (n == 0 || count == 0 || k == 0 || d == 0) return outcome;
  const float self_weight = form.weights == kLaplaceGrad ? 0.0f : 1.0f;
  if (a.method != AgopMethod::kBatched) {
    if (!a.self || gathered) throw std::invalid_argument("agop: the Gram form sums over all the centers themselves (self, no point index)");
    outcome = agop_gram(a, form.weights, self_weight, form.scale, a.method == AgopMethod::kGramIfAccurate, out);
    if (outcome.gram) return outcome;
  }
  const int64_t batch = std::clamp<int64_t>(a.batch_rows, 1, count);
  // equal output blocks: K = 10 with room for 8 runs as 5 + 5, not 8 + 2
  const int64_t blocks = (k + std::clamp<int64_t>(a.output_block, 1, k) - 1) / std::clamp<int64_t>(a.output_block, 1, k);
  const int64_t kc = (k + blocks - 1) / blocks;

  // Where the batch's points and their images p M come from: the centers' own rows of X M
  // (self), a copy of the sampled rows, or the points array with p M computed per batch.
  const bool need_p = gathered && !a.self;
  const bool need_pm = a.self ? gathered : a.mahal != nullptr;

  std::unique_lock<std::mutex> lock(scratch_mutex, std::try_to_lock);
  std::vector<float> own_f32;
  std::vector<double> own_f64;
  std::vector<float>& f32 = lock.owns_lock() ? scratch_f32 : own_f32;
  std::vector<double>& f64 = lock.owns_lock() ? scratch_f64 : own_f64;
  const int64_t need = n + (a.mahal != nullptr ? n * d : 0) + n * kc * d + batch * (n + k + kc * d + 1) +
                       (need_p ? batch * d : 0) + (need_pm ? batch * d : 0) + dd;
  if (f32.size() < static_cast<size_t>(need)) f32.resize(static_cast<size_t>(need));
  if (f64.size() < static_cast<size_t>(dd)) f64.resize(static_cast<size_t>(dd));
  Carver carve(f32.data());
  float* sqx = carve.take(n);
  float* xm_store = a.mahal != nullptr ? carve.take(n * d) : nullptr;
  float* z = carve.take(n * kc * d);
  float* w = carve.take(batch * n);
  float* walpha = carve.take(batch * k);
  float* jac = carve.take(batch * kc * d);
  float* sq_store = carve.take(batch);
  float* p_store = need_p ? carve.take(batch * d) : nullptr;
  float* pm_store = need_pm ? carve.take(batch * d) : nullptr;
  // One batch's sum of J^T J in f32 (upper triangle, from syrk), added to a
  // double accumulator so many batches do not lose small contributions.
  float* g_batch = carve.take(dd);
  double* g = f64.data();
  std::fill(g, g + dd, 0.0);

  // Centers in the metric, XM = X M (or X itself), and their squared M-norms.
  const float* xm = a.x;
  if (a.mahal != nullptr) {
    gemm_f32(false, false, static_cast<int>(n), static_cast<int>(d), static_cast<int>(d), 1.0f, a.x, a.mahal, 0.0f,
             xm_store, 1, 0, 0, 0);
    xm = xm_store;
  }
  row_dot(xm, a.x, n, d, sqx);
  if (blocks == 1) scale_rows(xm, a.alpha, n, d, k, 0, k, z);

  for (int64_t i0 = 0; i0 < count; i0 += batch) {
    const int64_t b = std::min(batch, count - i0);
    const int32_t* index = gathered ? a.point_index + i0 : nullptr;
    const float* pm;  // the batch's points times M
    const float* sqp;  // and their squared M-norms
    if (a.self && !gathered) {
      pm = xm + i0 * d;
      sqp = sqx + i0;
    } else if (a.self) {
      gather_rows(xm, index, b, d, pm_store);
      for (int64_t i = 0; i < b; ++i) sq_store[i] = sqx[index[i]];
      pm = pm_store;
      sqp = sq_store;
    } else {
      const float* p = a.points + i0 * d;
      if (gathered) {
        gather_rows(a.points, index, b, d, p_store);
        p = p_store;
      }
      pm = p;
      if (a.mahal != nullptr) {
        gemm_f32(false, false, static_cast<int>(b), static_cast<int>(d), static_cast<int>(d), 1.0f, p, a.mahal, 0.0f,
                 pm_store, 1, 0, 0, 0);
        pm = pm_store;
      }
      row_dot(pm, p, b, d, sq_store);
      sqp = sq_store;
    }

    // W (b x n): -2 <p_i, x_j>_M, then the weights of the squared distances
    gemm_f32(false, true, static_cast<int>(b), static_cast<int>(n), static_cast<int>(d), -2.0f, pm, a.x, 0.0f, w, 1, 0,
             0, 0);
    pairwise_finish(w, b, n, sqp, sqx, form.weights, a.bandwidth);
    if (a.self) {
      for (int64_t i = 0; i < b; ++i) w[i * n + (gathered ? index[i] : i0 + i)] = self_weight;
    }
    // (W alpha)[i, c] = sum_j w_ij alpha_jc
    gemm_f32(false, false, static_cast<int>(b), static_cast<int>(k), static_cast<int>(n), 1.0f, w, a.alpha, 0.0f,
             walpha, 1, 0, 0, 0);
    for (int64_t c0 = 0; c0 < k; c0 += kc) {
      const int64_t nc = std::min(kc, k - c0);
      if (blocks > 1) scale_rows(xm, a.alpha, n, d, k, c0, nc, z);
      gemm_f32(false, false, static_cast<int>(b), static_cast<int>(nc * d), static_cast<int>(n), 1.0f, w, z, 0.0f, jac,
               1, 0, 0, 0);
      subtract_rank_one(jac, walpha, pm, b, d, k, c0, nc);
      // the b x (nc d) Jacobians, row-major, are the (b nc) x d matrix whose rows are the gradients
      cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, static_cast<int>(d), static_cast<int>(b * nc), 1.0f, jac,
                  static_cast<int>(d), c0 == 0 ? 0.0f : 1.0f, g_batch, static_cast<int>(d));
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
  return outcome;
}

}  // namespace cpu
}  // namespace ncgpu
