// ncgpu native addon: row-wise and elementwise kernels of trainable networks.
#include "nn_ops.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "thread_pool.h"
#include "vec_math.h"

namespace ncgpu {
namespace cpu {

namespace {

// Elements per parallel chunk; rows of these ops cost a few flops per element
// (exp for the softmax family), so smaller loops stay on the calling thread.
constexpr int64_t kGrain = 1 << 15;

inline int64_t rows_per_chunk(int64_t cols) { return std::max<int64_t>(1, kGrain / std::max<int64_t>(cols, 1)); }

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// Softmax weights use exp_vec with a cutoff of -75: a weight under e^-75 is far below f32
// resolution next to the row's max (weight 1), and stopping there keeps the normalized outputs of
// rows up to ~1e5 wide out of the denormal range, where every multiply is a slow microcode assist.
constexpr float kSoftmaxExpCutoff = -75.0f;
inline float exp_fast(float x) { return exp_vec(x, kSoftmaxExpCutoff); }

// Loss partials per chunk, summed in chunk order so the result does not depend
// on thread timing.
template <class RowLoss>
double row_loss_sum(int64_t n, int64_t k, RowLoss&& row_loss) {
  const int64_t grain = rows_per_chunk(k);
  const int64_t chunks = std::max<int64_t>(1, (n + grain - 1) / grain);
  std::vector<double> partial(static_cast<size_t>(chunks), 0.0);
  parallel_for(0, chunks, 1, [&](int64_t cb, int64_t ce) {
    for (int64_t c = cb; c < ce; ++c) {
      double s = 0;
      for (int64_t i = c * grain; i < std::min(n, (c + 1) * grain); ++i) s += row_loss(i);
      partial[static_cast<size_t>(c)] = s;
    }
  });
  double total = 0;
  for (double s : partial) total += s;
  return total;
}

}  // namespace

void bias_add(const float* x, int64_t rows, int64_t cols, const float* bias, float* out) {
  parallel_for(0, rows, rows_per_chunk(cols), [=](int64_t rb, int64_t re) {
    for (int64_t i = rb; i < re; ++i) {
      const float* xi = x + i * cols;
      float* oi = out + i * cols;
      for (int64_t j = 0; j < cols; ++j) oi[j] = xi[j] + bias[j];
    }
  });
}

void relu_backward(const float* x, const float* dy, float* dx, int64_t len) {
  parallel_for(0, len, kGrain * 4, [=](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      // unconditional loads and selects: the loop vectorizes (random signs would mispredict)
      const float v = x[i];
      const float g = dy[i];
      const float masked = v != v ? v : 0.0f;
      dx[i] = v > 0.0f ? g : masked;
    }
  });
}

double softmax_ce_rows(const float* z, int64_t n, int64_t k, const float* labels, float* grad) {
  const double inv_n = 1.0 / static_cast<double>(n);
  const double total = row_loss_sum(n, k, [=](int64_t i) -> double {
    const float* zi = z + i * k;
    float* gi = grad + i * k;
    const int64_t y = static_cast<int64_t>(labels[i]);
    double m = zi[0];
    // written so that a NaN logit makes the max NaN (and so the loss)
    for (int64_t r = 1; r < k; ++r) {
      if (!(zi[r] <= m)) m = zi[r];
    }
    double s = 0, other = 0;
    for (int64_t r = 0; r < k; ++r) {
      const double e = std::exp(zi[r] - m);
      gi[r] = static_cast<float>(e);
      s += e;
      if (r != y) other += e;
    }
    const double zy = zi[y];
    // the label's own term: log1p of the others when it holds the max, so tiny losses stay exact
    const double loss = zy == m ? std::log1p(other) : m - zy + std::log(s);
    const double scale = inv_n / s;
    for (int64_t r = 0; r < k; ++r) gi[r] = static_cast<float>(gi[r] * scale);
    gi[y] = static_cast<float>(-other * scale);
    return loss;
  });
  return total * inv_n;
}

double mse_rows(const float* z, const float* t, int64_t n, int64_t k, float* grad) {
  const double inv_n = 1.0 / static_cast<double>(n);
  const float g_scale = static_cast<float>(2.0 * inv_n);
  const double total = row_loss_sum(n, k, [=](int64_t i) -> double {
    double s = 0;
    for (int64_t j = i * k; j < (i + 1) * k; ++j) {
      const float d = z[j] - t[j];
      s += static_cast<double>(d) * d;
      grad[j] = g_scale * d;
    }
    return s;
  });
  return total * inv_n;
}

void layer_norm(const float* x, int64_t rows, int64_t cols, float eps, float* y, float* stats) {
  const double inv_c = 1.0 / static_cast<double>(cols);
  parallel_for(0, rows, rows_per_chunk(cols), [=](int64_t rb, int64_t re) {
    for (int64_t i = rb; i < re; ++i) {
      const float* xi = x + i * cols;
      float* yi = y + i * cols;
      const double mean = sum_d(xi, cols) * inv_c;
      // two passes: the centred sum of squares does not cancel for rows with a large mean
      const double rstd = 1.0 / std::sqrt(centered_sq_d(xi, cols, mean) * inv_c + eps);
      // (x - mean) rstd in float: vectorizes; the error is a few ulp of y
      const float a = static_cast<float>(rstd);
      const float mf = static_cast<float>(mean);
      for (int64_t j = 0; j < cols; ++j) yi[j] = (xi[j] - mf) * a;
      stats[2 * i] = static_cast<float>(mean);
      stats[2 * i + 1] = static_cast<float>(rstd);
    }
  });
}

void layer_norm_backward(const float* y, const float* stats, const float* dy, int64_t rows, int64_t cols, float* dx) {
  const double inv_c = 1.0 / static_cast<double>(cols);
  parallel_for(0, rows, rows_per_chunk(cols), [=](int64_t rb, int64_t re) {
    for (int64_t i = rb; i < re; ++i) {
      const float* yi = y + i * cols;
      const float* gi = dy + i * cols;
      float* oi = dx + i * cols;
      const double mg = sum_d(gi, cols) * inv_c, mgy = dot_d(gi, yi, cols) * inv_c;
      const float rstd = stats[2 * i + 1];
      const float fmg = static_cast<float>(mg), fmgy = static_cast<float>(mgy);
      for (int64_t j = 0; j < cols; ++j) oi[j] = rstd * (gi[j] - fmg - yi[j] * fmgy);
    }
  });
}

void row_softmax(const float* x, int64_t rows, int64_t cols, bool causal, float* out) {
  parallel_for(0, rows, rows_per_chunk(cols), [=](int64_t rb, int64_t re) {
    for (int64_t i = rb; i < re; ++i) {
      const float* xi = x + i * cols;
      float* oi = out + i * cols;
      const int64_t valid = causal ? (i % cols) + 1 : cols;
      float m = xi[0];
      for (int64_t j = 1; j < valid; ++j) {
        if (!(xi[j] <= m)) m = xi[j];
      }
      for (int64_t j = 0; j < valid; ++j) oi[j] = exp_fast(xi[j] - m);
      const float inv = static_cast<float>(1.0 / sum_d(oi, valid));
      for (int64_t j = 0; j < valid; ++j) oi[j] *= inv;
      for (int64_t j = valid; j < cols; ++j) oi[j] = 0.0f;
    }
  });
}

void softmax_backward(const float* p, const float* dp, int64_t rows, int64_t cols, float* dx) {
  parallel_for(0, rows, rows_per_chunk(cols), [=](int64_t rb, int64_t re) {
    for (int64_t i = rb; i < re; ++i) {
      const float* pi = p + i * cols;
      const float* gi = dp + i * cols;
      float* oi = dx + i * cols;
      const float d = static_cast<float>(dot_d(pi, gi, cols));
      for (int64_t j = 0; j < cols; ++j) oi[j] = pi[j] * (gi[j] - d);
    }
  });
}

void embedding(const float* ids, int64_t rows, int64_t seq_len, const float* table, int64_t vocab, const float* pos,
               int64_t cols, float* out) {
  parallel_for(0, rows, rows_per_chunk(cols), [=](int64_t rb, int64_t re) {
    for (int64_t i = rb; i < re; ++i) {
      const float id = ids[i];
      float* oi = out + i * cols;
      if (!(id >= 0 && id < static_cast<float>(vocab) && id == std::floor(id))) {
        std::fill(oi, oi + cols, kNaN);
        continue;
      }
      const float* ti = table + static_cast<int64_t>(id) * cols;
      const float* pi = pos + (i % seq_len) * cols;
      for (int64_t j = 0; j < cols; ++j) oi[j] = ti[j] + pi[j];
    }
  });
}

void embedding_backward(const float* ids, int64_t rows, const float* dy, int64_t cols, int64_t vocab, float* dtable) {
  // Accumulated in double per table row; parallel over column blocks so no two
  // threads write the same entry, and the sum order (by row) is fixed.
  std::fill(dtable, dtable + vocab * cols, 0.0f);
  const int64_t block = 64;
  const int64_t blocks = (cols + block - 1) / block;
  parallel_for(0, blocks, std::max<int64_t>(1, kGrain / std::max<int64_t>(rows * block, 1)), [=](int64_t bb, int64_t be) {
    std::vector<double> acc(static_cast<size_t>(vocab * block));
    for (int64_t b = bb; b < be; ++b) {
      const int64_t c0 = b * block, c1 = std::min(cols, c0 + block), w = c1 - c0;
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t i = 0; i < rows; ++i) {
        const float id = ids[i];
        if (!(id >= 0 && id < static_cast<float>(vocab))) continue;  // the forward already gave NaN
        double* a = acc.data() + static_cast<int64_t>(id) * block;
        const float* g = dy + i * cols + c0;
        for (int64_t j = 0; j < w; ++j) a[j] += g[j];
      }
      for (int64_t v = 0; v < vocab; ++v) {
        for (int64_t j = 0; j < w; ++j) dtable[v * cols + c0 + j] = static_cast<float>(acc[v * block + j]);
      }
    }
  });
}

void sgd_update(float* p, const float* g, float* vel, int64_t len, float lr, float momentum, float wd) {
  parallel_for(0, len, kGrain * 4, [=](int64_t b, int64_t e) {
    if (vel == nullptr) {
      for (int64_t i = b; i < e; ++i) p[i] -= lr * (g[i] + wd * p[i]);
    } else {
      for (int64_t i = b; i < e; ++i) {
        const float v = momentum * vel[i] + (g[i] + wd * p[i]);
        vel[i] = v;
        p[i] -= lr * v;
      }
    }
  });
}

void adam_update(float* p, const float* g, float* m, float* v, int64_t len, float lr, float b1, float b2, float eps,
                 float wd, float bc1, float bc2) {
  const float inv_bc1 = 1.0f / bc1, inv_bc2 = 1.0f / bc2;
  parallel_for(0, len, kGrain, [=](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const float gi = g[i] + wd * p[i];
      const float mi = b1 * m[i] + (1.0f - b1) * gi;
      const float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
      m[i] = mi;
      v[i] = vi;
      p[i] -= lr * (mi * inv_bc1) / (std::sqrt(vi * inv_bc2) + eps);
    }
  });
}

}  // namespace cpu
}  // namespace ncgpu
