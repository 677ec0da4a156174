// ncgpu native addon: the AGOP over the centers in its n x n Gram form (see agop_gram.h).
#include "agop_gram.h"

#include <algorithm>
#include <cstdint>
#include <cmath>
#include <memory>
#include <mutex>
#include <vector>

#include "cpu_ops.h"
#include "huge_pages.h"
#include "lapack_decls.h"
#include "thread_pool.h"

namespace ncgpu {
namespace cpu {

namespace {

// Scratch kept from one call to the next, as in agop.cc: layer after layer a Deep RFM asks for
// the same sizes, and where fresh pages are expensive faulting in two n x n matrices per call
// costs as much as the syrk. The n x n part is a buffer of its own, allocated only once the Gram
// form is taken and given back when a call declines it (the layers after a collapsed one are
// collapsed too), so that a run which moves on to the batched form does not keep it resident.
// A call that finds the scratch in use by another allocates its own.
class Scratch {
 public:
  float* vectors(int64_t need) { return get(vectors_, vector_floats_, need); }
  float* squares(int64_t need) { return get(squares_, square_floats_, need); }
  void release_squares() {
    squares_.reset();
    square_floats_ = 0;
  }

 private:
  static float* get(std::unique_ptr<float[]>& buffer, int64_t& floats, int64_t need) {
    if (floats < need) {
      buffer.reset();
      buffer.reset(new float[static_cast<size_t>(need)]);  // uninitialized: pages stay untouched until used
      advise_huge_pages(buffer.get(), static_cast<size_t>(need) * sizeof(float));
      floats = need;
    }
    return buffer.get();
  }

  std::unique_ptr<float[]> vectors_, squares_;
  int64_t vector_floats_ = 0, square_floats_ = 0;
};

std::mutex scratch_mutex;
Scratch shared_scratch;

constexpr int64_t kCancellationRows = 128;

// xc = x - 1 mean^T (n x d). The AGOP is translation invariant (each B_c annihilates the ones
// vector), and centering first keeps the f32 distances and the final XM^T Q XM well scaled.
void center_rows(const float* x, int64_t n, int64_t d, float* xc) {
  std::vector<double> mean(static_cast<size_t>(d), 0.0);
  for (int64_t i = 0; i < n; ++i) {
    const float* xi = x + i * d;
    for (int64_t p = 0; p < d; ++p) mean[p] += xi[p];
  }
  std::vector<float> m32(static_cast<size_t>(d));
  for (int64_t p = 0; p < d; ++p) m32[p] = static_cast<float>(mean[p] / static_cast<double>(n));
  const float* mp = m32.data();
  parallel_for(0, n, std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(d, 1)), [=](int64_t rb, int64_t re) {
    for (int64_t i = rb; i < re; ++i) {
      for (int64_t p = 0; p < d; ++p) xc[i * d + p] = x[i * d + p] - mp[p];
    }
  });
}

// Column-major (k x n) f64 copy of a row-major n x k f32 matrix: row j of the result's
// transpose, i.e. output c's values at every center, is contiguous.
std::vector<double> outputs_by_row(const float* a, int64_t n, int64_t k) {
  std::vector<double> t(static_cast<size_t>(n * k));
  for (int64_t j = 0; j < n; ++j) {
    for (int64_t c = 0; c < k; ++c) t[c * n + j] = a[j * k + c];
  }
  return t;
}

// The upper triangle of w2 (holding W W) becomes Q = (W W) o (A A^T) - W o (A S^T + S A^T)
// + diag(||s_j||^2); the sums over the k outputs run in double.
void form_q(float* w2, const float* w, const std::vector<double>& at, const std::vector<double>& st, int64_t n,
            int64_t k) {
  const double* A = at.data();
  const double* S = st.data();
  parallel_for(0, n, 16, [=](int64_t rb, int64_t re) {
    std::vector<double> aa(static_cast<size_t>(n)), as(static_cast<size_t>(n));
    for (int64_t j = rb; j < re; ++j) {
      std::fill(aa.begin() + j, aa.end(), 0.0);
      std::fill(as.begin() + j, as.end(), 0.0);
      double ss = 0;
      for (int64_t c = 0; c < k; ++c) {
        const double* ac = A + c * n;
        const double* sc = S + c * n;
        const double ajc = ac[j], sjc = sc[j];
        ss += sjc * sjc;
        for (int64_t l = j; l < n; ++l) {
          aa[l] += ajc * ac[l];
          as[l] += ajc * sc[l] + sjc * ac[l];
        }
      }
      float* qj = w2 + j * n;
      const float* wj = w + j * n;
      for (int64_t l = j; l < n; ++l) qj[l] = static_cast<float>(qj[l] * aa[l] - wj[l] * as[l]);
      qj[j] = static_cast<float>(static_cast<double>(qj[j]) + ss);
    }
  });
}

// rho^2 (see agop_gram.h) on m evenly spaced centers: their weight rows Ws (m x n), then per
// output T = (Ws diag(alpha_c)) XMc and J = T - (Ws alpha_c) xmc_i, with XMc the centered X M.
// Scaling the m x n weights rather than the n x d centers keeps the per-output work at one GEMM.
double sampled_cancellation(const AgopProblem& a, const float* xc, const float* xmc, const float* sq, int weight_kernel,
                            float self_weight, float* ws, float* wsc, float* t) {
  const int64_t n = a.n, d = a.d, k = a.k, m = std::min(n, kCancellationRows);
  std::vector<int64_t> rows(static_cast<size_t>(m));
  for (int64_t r = 0; r < m; ++r) rows[r] = static_cast<int64_t>((static_cast<double>(r) + 0.5) * n / m);
  std::vector<float> ps(static_cast<size_t>(m * d)), sqs(static_cast<size_t>(m));
  for (int64_t r = 0; r < m; ++r) {
    std::copy(xmc + rows[r] * d, xmc + (rows[r] + 1) * d, ps.data() + r * d);
    sqs[r] = sq[rows[r]];
  }
  const int mi = static_cast<int>(m), ni = static_cast<int>(n), di = static_cast<int>(d);
  gemm_f32(false, true, mi, ni, di, -2.0f, ps.data(), xc, 0.0f, ws, 1, 0, 0, 0);
  pairwise_finish(ws, m, n, sqs.data(), sq, weight_kernel, a.bandwidth);
  for (int64_t r = 0; r < m; ++r) ws[r * n + rows[r]] = self_weight;
  double terms = 0, jacobians = 0;
  for (int64_t c = 0; c < k; ++c) {
    std::vector<double> s(static_cast<size_t>(m), 0.0);
    for (int64_t r = 0; r < m; ++r) {
      for (int64_t j = 0; j < n; ++j) {
        const float v = ws[r * n + j] * a.alpha[j * k + c];
        wsc[r * n + j] = v;
        s[r] += v;
      }
    }
    gemm_f32(false, false, mi, di, ni, 1.0f, wsc, xmc, 0.0f, t, 1, 0, 0, 0);
    for (int64_t r = 0; r < m; ++r) {
      for (int64_t p = 0; p < d; ++p) {
        const double tv = t[r * d + p];
        const double jv = tv - s[r] * ps[r * d + p];
        terms += tv * tv;
        jacobians += jv * jv;
      }
    }
  }
  return jacobians > 0 ? terms / jacobians : std::numeric_limits<double>::infinity();
}

}  // namespace

AgopOutcome agop_gram(const AgopProblem& a, int weight_kernel, float self_weight, double gradient_scale,
                      bool only_if_accurate, float* out) {
  const int64_t n = a.n, d = a.d, k = a.k, m = std::min(n, kCancellationRows);
  std::unique_lock<std::mutex> lock(scratch_mutex, std::try_to_lock);
  Scratch own;
  Scratch& scratch = lock.owns_lock() ? shared_scratch : own;
  float* next = scratch.vectors((a.mahal != nullptr ? 3 : 2) * n * d + n * (k + 1) + d * d + m * (2 * n + d));
  auto take = [&next](int64_t elements) {
    float* p = next;
    next += elements;
    return p;
  };
  float* xc = take(n * d);
  float* xmc = a.mahal != nullptr ? take(n * d) : xc;
  float* t = take(n * d);
  float* sq = take(n);
  float* s = take(n * k);
  float* g = take(d * d);
  float* ws = take(m * n);
  float* wsc = take(m * n);
  float* ts = take(m * d);
  const int ni = static_cast<int>(n), di = static_cast<int>(d), ki = static_cast<int>(k);

  center_rows(a.x, n, d, xc);
  if (a.mahal != nullptr) gemm_f32(false, false, ni, di, di, 1.0f, xc, a.mahal, 0.0f, xmc, 1, 0, 0, 0);
  row_dot(xmc, xc, n, d, sq);
  AgopOutcome outcome;
  outcome.cancellation = sampled_cancellation(a, xc, xmc, sq, weight_kernel, self_weight, ws, wsc, ts);
  if (only_if_accurate && !(outcome.cancellation <= kGramCancellationLimit)) {
    scratch.release_squares();
    return outcome;
  }
  outcome.gram = true;
  float* w = scratch.squares(2 * n * n);
  float* q = w + n * n;

  // the weights W of the squared distances between the centered centers
  if (a.mahal != nullptr) {
    gemm_f32(false, true, ni, ni, di, -2.0f, xmc, xc, 0.0f, w, 1, 0, 0, 0);
  } else {
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, ni, di, -2.0f, xc, di, 0.0f, w, ni);
    copy_upper_to_lower(w, n);
  }
  pairwise_finish(w, n, n, sq, sq, weight_kernel, a.bandwidth);
  for (int64_t i = 0; i < n; ++i) w[i * n + i] = self_weight;

  // S = W A, then Q in the upper triangle of W W
  gemm_f32(false, false, ni, ki, ni, 1.0f, w, a.alpha, 0.0f, s, 1, 0, 0, 0);
  cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, ni, ni, 1.0f, w, ni, 0.0f, q, ni);
  form_q(q, w, outputs_by_row(a.alpha, n, k), outputs_by_row(s, n, k), n, k);

  // G = XM^T (Q XM)
  cblas_ssymm(CblasRowMajor, CblasLeft, CblasUpper, ni, di, 1.0f, q, ni, xmc, di, 0.0f, t, di);
  gemm_f32(true, false, di, di, ni, 1.0f, xmc, t, 0.0f, g, 1, 0, 0, 0);
  const double s2 = gradient_scale * gradient_scale;
  for (int64_t r = 0; r < d; ++r) {
    for (int64_t p = r; p < d; ++p) {
      const float v = static_cast<float>(s2 * 0.5 * (static_cast<double>(g[r * d + p]) + g[p * d + r]));
      out[r * d + p] = v;
      out[p * d + r] = v;
    }
  }
  return outcome;
}

}  // namespace cpu
}  // namespace ncgpu
