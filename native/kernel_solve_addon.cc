// ncgpu native addon: JavaScript bindings of kernel_solve (mixed-precision kernel systems).
//
// The matrices here are the largest ncgpu handles (up to n^2 = 2.5e9 f32 values), so sizes are
// checked in 64-bit arithmetic and nothing is copied: `a` is used (and overwritten) in place.
#include <napi.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>

#include "async.h"
#include "f32_args.h"
#include "huge_pages.h"
#include "kernel_solve.h"
#include "kernel_solve_addon.h"

namespace ncgpu {
namespace {

// LAPACK takes 32-bit sizes
constexpr double kMaxDim = 2147483647.0;


size_t new_f32(Napi::Env env, Task& task, uint64_t length, float** data) {
  auto a = Napi::Float32Array::New(env, static_cast<size_t>(length));
  *data = a.Data();
  advise_huge_pages(*data, static_cast<size_t>(length) * 4);
  return task.hold(a);
}

// mixedSolve(a, n, y, k, ridge, maxRefinements) -> { x, fitted, status, refinements, residual, history, shift, rcond }
TaskPtr parse_mixed_solve(const Napi::CallbackInfo& info, bool async) {
  F32Args args(info, "mixedSolve", 6);
  auto task = std::make_unique<Task>("mixedSolve", async);
  const int64_t n = args.dim(1, "n", kMaxDim), k = args.dim(3, "k", kMaxDim);
  float* a = args.f32(0, "a", static_cast<uint64_t>(n) * static_cast<uint64_t>(n), *task);
  const float* y = args.f32(2, "y", static_cast<uint64_t>(n) * k, *task);
  const double ridge = args.number(4, "ridge");
  if (!(ridge >= 0) || std::isinf(ridge)) args.fail("argument 'ridge' must be a finite number >= 0");
  const int64_t refinements = args.dim(5, "maxRefinements", kMaxDim);
  float *x = nullptr, *fitted = nullptr;
  const size_t sx = new_f32(info.Env(), *task, static_cast<uint64_t>(n) * k, &x);
  const size_t sf = new_f32(info.Env(), *task, static_cast<uint64_t>(n) * k, &fitted);
  auto res = std::make_shared<kernel_solve::MixedResult>();
  task->run = [=] { *res = kernel_solve::mixed_solve(a, n, y, k, ridge, static_cast<int>(refinements), x, fitted); };
  task->result = [sx, sf, res](Napi::Env env, Task& t) -> Napi::Value {
    Napi::Object o = Napi::Object::New(env);
    o.Set("x", t.held(sx));
    o.Set("fitted", t.held(sf));
    o.Set("status", kernel_solve::status_name(res->status));
    o.Set("refinements", Napi::Number::New(env, res->refinements));
    o.Set("residual", Napi::Number::New(env, res->residual));
    Napi::Array history = Napi::Array::New(env, res->history.size());
    for (size_t i = 0; i < res->history.size(); ++i) history.Set(static_cast<uint32_t>(i), Napi::Number::New(env, res->history[i]));
    o.Set("history", history);
    o.Set("shift", Napi::Number::New(env, res->shift));
    o.Set("rcond", Napi::Number::New(env, res->rcond));
    return o;
  };
  return task;
}

// symmetricResidual(a, n, x, k, y, ridge) -> { residual, fitted }: reads the upper triangle and diagonal of a
TaskPtr parse_symmetric_residual(const Napi::CallbackInfo& info, bool async) {
  F32Args args(info, "symmetricResidual", 6);
  auto task = std::make_unique<Task>("symmetricResidual", async);
  const int64_t n = args.dim(1, "n", kMaxDim), k = args.dim(3, "k", kMaxDim);
  const float* a = args.f32(0, "a", static_cast<uint64_t>(n) * static_cast<uint64_t>(n), *task);
  const float* x = args.f32(2, "x", static_cast<uint64_t>(n) * k, *task);
  const float* y = args.f32(4, "y", static_cast<uint64_t>(n) * k, *task);
  const double ridge = args.number(5, "ridge");
  float* fitted = nullptr;
  const size_t sf = new_f32(info.Env(), *task, static_cast<uint64_t>(n) * k, &fitted);
  auto residual = std::make_shared<double>(0);
  task->run = [=] { *residual = kernel_solve::symmetric_residual(a, n, x, k, y, ridge, fitted); };
  task->result = [sf, residual](Napi::Env env, Task& t) -> Napi::Value {
    Napi::Object o = Napi::Object::New(env);
    o.Set("residual", Napi::Number::New(env, *residual));
    o.Set("fitted", t.held(sf));
    return o;
  };
  return task;
}

}  // namespace

void register_kernel_solve(Napi::Env env, Napi::Object exports) {
  export_pair<parse_mixed_solve>(env, exports, "mixedSolve");
  export_pair<parse_symmetric_residual>(env, exports, "symmetricResidual");
}

}  // namespace ncgpu
