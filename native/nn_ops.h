// ncgpu native addon: the row-wise and elementwise kernels of trainable networks
// (src/nn): bias, ReLU backward, LayerNorm, row softmax, losses on N x K logits,
// embeddings and fused optimizer updates.
//
// Same conventions as cpu_ops.h: row-major contiguous f32 matrices, one sample
// per row, raw pointers, callable from any thread; arguments are validated by
// the caller (nn_addon.cc and src/ops/nn.ts). Reductions accumulate in double.
#pragma once

#include <cstdint>

namespace ncgpu {
namespace cpu {

// out[i, j] = x[i, j] + bias[j]; out may equal x.
void bias_add(const float* x, int64_t rows, int64_t cols, const float* bias, float* out);

// dx = dy where x > 0, else 0 (x is the ReLU's input or output); dx may equal dy.
// A NaN in x gives NaN (not a silent 0).
void relu_backward(const float* x, const float* dy, float* dx, int64_t len);

// Softmax cross-entropy over the rows of z (n x k) with labels (n class indices
// stored as f32): grad = (softmax(z) - onehot) / n, returns the mean loss.
double softmax_ce_rows(const float* z, int64_t n, int64_t k, const float* labels, float* grad);

// Mean squared error (1/n) sum_i ||z_i - t_i||^2 over n rows of k outputs;
// grad = 2 (z - t) / n. Returns the loss.
double mse_rows(const float* z, const float* t, int64_t n, int64_t k, float* grad);

// LayerNorm without affine: y = (x - mean) / sqrt(var + eps) per row (biased
// variance), stats[2 i] = mean, stats[2 i + 1] = 1 / sqrt(var + eps).
void layer_norm(const float* x, int64_t rows, int64_t cols, float eps, float* y, float* stats);
// dx = rstd * (dy - mean(dy) - y * mean(dy * y)) per row; dx may not alias.
void layer_norm_backward(const float* y, const float* stats, const float* dy, int64_t rows, int64_t cols, float* dx);

// Softmax of each row of x (rows x cols). With `causal`, the rows are stacked
// cols x cols blocks and row r only sees columns j <= r % cols (the others get
// probability 0).
void row_softmax(const float* x, int64_t rows, int64_t cols, bool causal, float* out);
// dx = p * (dp - sum_j dp_j p_j) per row (masked entries have p = 0).
void softmax_backward(const float* p, const float* dp, int64_t rows, int64_t cols, float* dx);

// out[r, :] = table[ids[r], :] + pos[r % seq_len, :]; an id outside 0..vocab-1
// (or not an integer) gives a row of NaN.
void embedding(const float* ids, int64_t rows, int64_t seq_len, const float* table, int64_t vocab, const float* pos,
               int64_t cols, float* out);
// dtable (vocab x cols) = sum of the rows of dy whose id is v, for each v.
void embedding_backward(const float* ids, int64_t rows, const float* dy, int64_t cols, int64_t vocab, float* dtable);

// SGD with momentum and coupled weight decay (PyTorch convention):
// g' = g + wd p; vel = momentum vel + g'; p -= lr vel. vel may be nullptr
// when momentum == 0 (then p -= lr g').
void sgd_update(float* p, const float* g, float* vel, int64_t len, float lr, float momentum, float wd);
// Adam with the weight decay added to the gradient: g' = g + wd p;
// m = b1 m + (1 - b1) g'; v = b2 v + (1 - b2) g'^2;
// p -= lr (m / bc1) / (sqrt(v / bc2) + eps) with bc = 1 - beta^t.
void adam_update(float* p, const float* g, float* m, float* v, int64_t len, float lr, float b1, float b2, float eps,
                 float wd, float bc1, float bc2);

}  // namespace cpu
}  // namespace ncgpu
