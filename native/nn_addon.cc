// ncgpu native addon: JavaScript bindings of nn_ops (src/nn's row-wise kernels).
//
// Each function exists as a synchronous call and an `...Async` variant that
// runs on a libuv worker (async.h). The TypeScript backend validates shapes
// before calling; the checks here only keep a bad call from touching memory
// outside the arrays, and name the argument when they fail.
#include <napi.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include "async.h"
#include "f32_args.h"
#include "nn_addon.h"
#include "nn_ops.h"

namespace ncgpu {
namespace {


// Tasks that return a loss (a number) to JavaScript.
void return_number(Task& task, std::shared_ptr<double> value) {
  task.result = [value](Napi::Env env, Task&) -> Napi::Value { return Napi::Number::New(env, *value); };
}

TaskPtr parse_bias_add(const Napi::CallbackInfo& info, bool async) {
  F32Args a(info, "biasAdd", 5);
  auto t = std::make_unique<Task>("biasAdd", async);
  const int64_t rows = a.dim(1, "rows"), cols = a.dim(2, "cols");
  const float* x = a.f32(0, "x", rows * cols, *t);
  const float* bias = a.f32(3, "bias", cols, *t);
  float* out = a.f32(4, "out", rows * cols, *t);
  t->run = [=] { cpu::bias_add(x, rows, cols, bias, out); };
  return t;
}

TaskPtr parse_relu_backward(const Napi::CallbackInfo& info, bool async) {
  F32Args a(info, "reluBackward", 4);
  auto t = std::make_unique<Task>("reluBackward", async);
  const int64_t len = a.dim(3, "len");
  const float* x = a.f32(0, "x", len, *t);
  const float* dy = a.f32(1, "dy", len, *t);
  float* dx = a.f32(2, "dx", len, *t);
  t->run = [=] { cpu::relu_backward(x, dy, dx, len); };
  return t;
}

TaskPtr parse_softmax_ce_rows(const Napi::CallbackInfo& info, bool async) {
  F32Args a(info, "softmaxCeRows", 5);
  auto t = std::make_unique<Task>("softmaxCeRows", async);
  const int64_t n = a.dim(1, "n"), k = a.dim(2, "k");
  if (n < 1 || k < 1) a.fail("needs at least one row and one class");
  const float* z = a.f32(0, "z", n * k, *t);
  const float* labels = a.f32(3, "labels", n, *t);
  float* grad = a.f32(4, "grad", n * k, *t);
  auto loss = std::make_shared<double>(0);
  t->run = [=] {
    for (int64_t i = 0; i < n; ++i) {
      const float y = labels[i];
      if (!(y >= 0 && y < static_cast<float>(k) && y == std::floor(y))) {
        throw std::invalid_argument("softmaxCeRows: label " + std::to_string(y) + " of row " + std::to_string(i) +
                                    " is outside 0.." + std::to_string(k - 1));
      }
    }
    *loss = cpu::softmax_ce_rows(z, n, k, labels, grad);
  };
  return_number(*t, loss);
  return t;
}

TaskPtr parse_mse_rows(const Napi::CallbackInfo& info, bool async) {
  F32Args a(info, "mseRows", 5);
  auto t = std::make_unique<Task>("mseRows", async);
  const int64_t n = a.dim(2, "n"), k = a.dim(3, "k");
  if (n < 1) a.fail("needs at least one row");
  const float* z = a.f32(0, "z", n * k, *t);
  const float* target = a.f32(1, "target", n * k, *t);
  float* grad = a.f32(4, "grad", n * k, *t);
  auto loss = std::make_shared<double>(0);
  t->run = [=] { *loss = cpu::mse_rows(z, target, n, k, grad); };
  return_number(*t, loss);
  return t;
}

TaskPtr parse_layer_norm(const Napi::CallbackInfo& info, bool async) {
  F32Args a(info, "layerNorm", 6);
  auto t = std::make_unique<Task>("layerNorm", async);
  const int64_t rows = a.dim(1, "rows"), cols = a.dim(2, "cols");
  const float eps = static_cast<float>(a.number(3, "eps"));
  const float* x = a.f32(0, "x", rows * cols, *t);
  float* y = a.f32(4, "y", rows * cols, *t);
  float* stats = a.f32(5, "stats", 2 * rows, *t);
  t->run = [=] { cpu::layer_norm(x, rows, cols, eps, y, stats); };
  return t;
}

TaskPtr parse_layer_norm_backward(const Napi::CallbackInfo& info, bool async) {
  F32Args a(info, "layerNormBackward", 6);
  auto t = std::make_unique<Task>("layerNormBackward", async);
  const int64_t rows = a.dim(3, "rows"), cols = a.dim(4, "cols");
  const float* y = a.f32(0, "y", rows * cols, *t);
  const float* stats = a.f32(1, "stats", 2 * rows, *t);
  const float* dy = a.f32(2, "dy", rows * cols, *t);
  float* dx = a.f32(5, "dx", rows * cols, *t);
  t->run = [=] { cpu::layer_norm_backward(y, stats, dy, rows, cols, dx); };
  return t;
}

TaskPtr parse_row_softmax(const Napi::CallbackInfo& info, bool async) {
  F32Args a(info, "rowSoftmax", 5);
  auto t = std::make_unique<Task>("rowSoftmax", async);
  const int64_t rows = a.dim(1, "rows"), cols = a.dim(2, "cols");
  const bool causal = a.boolean(3);
  const float* x = a.f32(0, "x", rows * cols, *t);
  float* out = a.f32(4, "out", rows * cols, *t);
  t->run = [=] { cpu::row_softmax(x, rows, cols, causal, out); };
  return t;
}

TaskPtr parse_softmax_backward(const Napi::CallbackInfo& info, bool async) {
  F32Args a(info, "softmaxBackward", 5);
  auto t = std::make_unique<Task>("softmaxBackward", async);
  const int64_t rows = a.dim(2, "rows"), cols = a.dim(3, "cols");
  const float* p = a.f32(0, "p", rows * cols, *t);
  const float* dp = a.f32(1, "dp", rows * cols, *t);
  float* dx = a.f32(4, "dx", rows * cols, *t);
  t->run = [=] { cpu::softmax_backward(p, dp, rows, cols, dx); };
  return t;
}

TaskPtr parse_embedding(const Napi::CallbackInfo& info, bool async) {
  F32Args a(info, "embedding", 8);
  auto t = std::make_unique<Task>("embedding", async);
  const int64_t rows = a.dim(1, "rows"), seq = a.dim(2, "seqLen"), vocab = a.dim(4, "vocab"), cols = a.dim(6, "cols");
  if (seq < 1) a.fail("argument 'seqLen' must be >= 1");
  const float* ids = a.f32(0, "ids", rows, *t);
  const float* table = a.f32(3, "table", vocab * cols, *t);
  const float* pos = a.f32(5, "positions", seq * cols, *t);
  float* out = a.f32(7, "out", rows * cols, *t);
  t->run = [=] { cpu::embedding(ids, rows, seq, table, vocab, pos, cols, out); };
  return t;
}

TaskPtr parse_embedding_backward(const Napi::CallbackInfo& info, bool async) {
  F32Args a(info, "embeddingBackward", 6);
  auto t = std::make_unique<Task>("embeddingBackward", async);
  const int64_t rows = a.dim(1, "rows"), cols = a.dim(3, "cols"), vocab = a.dim(4, "vocab");
  const float* ids = a.f32(0, "ids", rows, *t);
  const float* dy = a.f32(2, "dy", rows * cols, *t);
  float* dtable = a.f32(5, "dtable", vocab * cols, *t);
  t->run = [=] { cpu::embedding_backward(ids, rows, dy, cols, vocab, dtable); };
  return t;
}

TaskPtr parse_sgd_update(const Napi::CallbackInfo& info, bool async) {
  F32Args a(info, "sgdUpdate", 7);
  auto t = std::make_unique<Task>("sgdUpdate", async);
  const int64_t len = a.dim(3, "len");
  float* p = a.f32(0, "param", len, *t);
  const float* g = a.f32(1, "grad", len, *t);
  float* vel = a.f32_or_null(2, "velocity", len, *t);
  const float lr = static_cast<float>(a.number(4, "lr"));
  const float momentum = static_cast<float>(a.number(5, "momentum"));
  const float wd = static_cast<float>(a.number(6, "weightDecay"));
  if (vel == nullptr && momentum != 0) a.fail("argument 'velocity' is needed when momentum != 0");
  t->run = [=] { cpu::sgd_update(p, g, vel, len, lr, momentum, wd); };
  return t;
}

TaskPtr parse_adam_update(const Napi::CallbackInfo& info, bool async) {
  F32Args a(info, "adamUpdate", 12);
  auto t = std::make_unique<Task>("adamUpdate", async);
  const int64_t len = a.dim(4, "len");
  float* p = a.f32(0, "param", len, *t);
  const float* g = a.f32(1, "grad", len, *t);
  float* m = a.f32(2, "m", len, *t);
  float* v = a.f32(3, "v", len, *t);
  const float lr = static_cast<float>(a.number(5, "lr"));
  const float b1 = static_cast<float>(a.number(6, "beta1"));
  const float b2 = static_cast<float>(a.number(7, "beta2"));
  const float eps = static_cast<float>(a.number(8, "eps"));
  const float wd = static_cast<float>(a.number(9, "weightDecay"));
  const float bc1 = static_cast<float>(a.number(10, "bc1"));
  const float bc2 = static_cast<float>(a.number(11, "bc2"));
  if (!(bc1 > 0) || !(bc2 > 0)) a.fail("bias corrections must be > 0");
  t->run = [=] { cpu::adam_update(p, g, m, v, len, lr, b1, b2, eps, wd, bc1, bc2); };
  return t;
}

}  // namespace

void register_nn(Napi::Env env, Napi::Object exports) {
  export_pair<parse_bias_add>(env, exports, "biasAdd");
  export_pair<parse_relu_backward>(env, exports, "reluBackward");
  export_pair<parse_softmax_ce_rows>(env, exports, "softmaxCeRows");
  export_pair<parse_mse_rows>(env, exports, "mseRows");
  export_pair<parse_layer_norm>(env, exports, "layerNorm");
  export_pair<parse_layer_norm_backward>(env, exports, "layerNormBackward");
  export_pair<parse_row_softmax>(env, exports, "rowSoftmax");
  export_pair<parse_softmax_backward>(env, exports, "softmaxBackward");
  export_pair<parse_embedding>(env, exports, "embedding");
  export_pair<parse_embedding_backward>(env, exports, "embeddingBackward");
  export_pair<parse_sgd_update>(env, exports, "sgdUpdate");
  export_pair<parse_adam_update>(env, exports, "adamUpdate");
}

}  // namespace ncgpu
