// ncgpu native addon: argument reading shared by the bindings that take Float32Arrays and sizes
// (nn_addon.cc, kernel_solve_addon.cc). The TypeScript side validates shapes before calling; these
// checks only keep a bad call from touching memory outside the arrays, and name the argument.
#pragma once

#include <napi.h>

#include <cmath>
#include <cstdint>
#include <string>

#include "async.h"

namespace ncgpu {

class F32Args {
 public:
  F32Args(const Napi::CallbackInfo& info, const char* fn, size_t count) : info_(info), fn_(fn) {
    if (info.Length() < count) fail("expected " + std::to_string(count) + " arguments, got " + std::to_string(info.Length()));
  }

  [[noreturn]] void fail(const std::string& msg) const { throw Napi::RangeError::New(info_.Env(), std::string(fn_) + ": " + msg); }

  double number(size_t i, const char* name) const {
    if (!info_[i].IsNumber()) fail(std::string("argument '") + name + "' must be a number");
    return info_[i].As<Napi::Number>().DoubleValue();
  }

  // A non-negative integer no larger than `max` (default 2^53 - 1).
  int64_t dim(size_t i, const char* name, double max = 9007199254740991.0) const {
    const double v = number(i, name);
    if (!(v >= 0) || v != std::floor(v) || v > max) {
      fail(std::string("argument '") + name + "' must be an integer in 0.." + std::to_string(static_cast<int64_t>(max)));
    }
    return static_cast<int64_t>(v);
  }

  bool boolean(size_t i) const { return info_[i].ToBoolean().Value(); }

  // A Float32Array of at least `need` elements, kept alive for an async call.
  float* f32(size_t i, const char* name, uint64_t need, Task& task) const {
    Napi::Value v = info_[i];
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
      fail(std::string("argument '") + name + "' must be a Float32Array");
    }
    auto a = v.As<Napi::Float32Array>();
    if (a.ElementLength() < need) {
      fail(std::string("argument '") + name + "' has " + std::to_string(a.ElementLength()) + " elements, needs " +
           std::to_string(need));
    }
    task.keep_alive(a);
    return a.Data();
  }

  // As f32(), or nullptr for null/undefined.
  float* f32_or_null(size_t i, const char* name, uint64_t need, Task& task) const {
    if (info_[i].IsNull() || info_[i].IsUndefined()) return nullptr;
    return f32(i, name, need, task);
  }

 private:
  const Napi::CallbackInfo& info_;
  const char* fn_;
};

}  // namespace ncgpu
