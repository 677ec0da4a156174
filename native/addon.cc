// ncgpu native addon: JavaScript bindings.
//
// This file only unpacks and validates arguments and wires each function to
// the math in cpu_ops.cc / linalg.cc. Every compute function `f` is exported
// twice: `f(...)` runs on the calling thread, `fAsync(...)` runs on a libuv
// worker thread and returns a Promise (see async.h).
//
// Conventions: matrices are row-major typed arrays; "f32" is Float32Array,
// "f64" Float64Array. Argument errors throw TypeError (wrong type) or
// RangeError (bad value / too short), with messages that start with the
// function name and name the argument. The async variants reject instead.
#include <napi.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "agop.h"
#include "async.h"
#include "cpu_ops.h"
#include "huge_pages.h"
#include "kernel_solve_addon.h"
#include "stderr_capture.h"
#include "linalg.h"
#include "nn_addon.h"

namespace ncgpu {
namespace {

constexpr int64_t kMaxSafeInteger = (int64_t{1} << 53) - 1;

// ---------------------------------------------------------------------------
// Argument reading
// ---------------------------------------------------------------------------
struct ArrayArg {
  Napi::Object object;
  void* data = nullptr;
  size_t length = 0;  // elements
  napi_typedarray_type type = napi_float32_array;
  bool present = false;  // false for an optional argument given as null/undefined

  float* f32() const { return static_cast<float*>(data); }
  double* f64() const { return static_cast<double*>(data); }
  int32_t* i32() const { return static_cast<int32_t*>(data); }
  bool is_f64() const { return type == napi_float64_array; }
  size_t element_size() const { return is_f64() ? 8 : 4; }
};

const char* typed_array_name(napi_typedarray_type t) {
  switch (t) {
    case napi_int8_array: return "Int8Array";
    case napi_uint8_array: return "Uint8Array";
    case napi_uint8_clamped_array: return "Uint8ClampedArray";
    case napi_int16_array: return "Int16Array";
    case napi_uint16_array: return "Uint16Array";
    case napi_int32_array: return "Int32Array";
    case napi_uint32_array: return "Uint32Array";
    case napi_float32_array: return "Float32Array";
    case napi_float64_array: return "Float64Array";
    case napi_bigint64_array: return "BigInt64Array";
    case napi_biguint64_array: return "BigUint64Array";
    default: return "TypedArray";
  }
}

std::string fmt_number(double v) {
  char buf[40];
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
  } else {
    std::snprintf(buf, sizeof buf, "%.17g", v);
    // Prefer the shortest form that round-trips.
    for (int p = 1; p <= 17; ++p) {
      char tmp[40];
      std::snprintf(tmp, sizeof tmp, "%.*g", p, v);
      if (std::strtod(tmp, nullptr) == v) {
        std::snprintf(buf, sizeof buf, "%s", tmp);
        break;
      }
    }
    if (std::isnan(v)) std::snprintf(buf, sizeof buf, "NaN");
    if (std::isinf(v)) std::snprintf(buf, sizeof buf, v > 0 ? "Infinity" : "-Infinity");
  }
  return buf;
}

std::string describe(const Napi::Value& v) {
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsBoolean()) return "boolean";
  if (v.IsNumber()) return "number " + fmt_number(v.As<Napi::Number>().DoubleValue());
  if (v.IsString()) return "string";
  if (v.IsTypedArray()) return typed_array_name(v.As<Napi::TypedArray>().TypedArrayType());
  if (v.IsArray()) return "Array";
  if (v.IsFunction()) return "function";
  if (v.IsBigInt()) return "bigint";
  return "object";
}

class Args {
 public:
  Args(const Napi::CallbackInfo& info, const char* fn, size_t min_args) : info_(info), env_(info.Env()), fn_(fn) {
    if (info.Length() < min_args) {
      type_error("expected " + std::to_string(min_args) + " arguments, got " + std::to_string(info.Length()));
    }
  }

  Napi::Env env() const { return env_; }
  const char* fn() const { return fn_; }
  Napi::Value at(size_t i) const { return info_[i]; }

  [[noreturn]] void type_error(const std::string& msg) const {
    throw Napi::TypeError::New(env_, std::string(fn_) + ": " + msg);
  }
  [[noreturn]] void range_error(const std::string& msg) const {
    throw Napi::RangeError::New(env_, std::string(fn_) + ": " + msg);
  }

  double number(size_t i, const char* name) const {
    Napi::Value v = info_[i];
    if (!v.IsNumber()) type_error(arg(name) + " must be a number, got " + describe(v));
    return v.As<Napi::Number>().DoubleValue();
  }

  double number_or(size_t i, const char* name, double fallback) const {
    Napi::Value v = info_[i];
    if (v.IsUndefined() || v.IsNull()) return fallback;
    return number(i, name);
  }

  // Non-negative integer no larger than `max`.
  int64_t dim(size_t i, const char* name, int64_t max = INT_MAX) const {
    double v = number(i, name);
    if (!(v >= 0) || v != std::floor(v) || std::isinf(v)) {
      range_error(arg(name) + " must be a non-negative integer, got " + fmt_number(v));
    }
    if (v > static_cast<double>(max)) range_error(arg(name) + " must be at most " + std::to_string(max) + ", got " + fmt_number(v));
    return static_cast<int64_t>(v);
  }

  // A boolean; numbers are accepted by truthiness (0 is false).
  bool boolean(size_t i, const char* name) const {
    Napi::Value v = info_[i];
    if (v.IsBoolean()) return v.As<Napi::Boolean>().Value();
    if (v.IsNumber()) return v.As<Napi::Number>().DoubleValue() != 0;
    type_error(arg(name) + " must be a boolean, got " + describe(v));
  }

  std::string string(size_t i, const char* name) const {
    Napi::Value v = info_[i];
    if (!v.IsString()) type_error(arg(name) + " must be a string, got " + describe(v));
    return v.As<Napi::String>().Utf8Value();
  }

  ArrayArg typed(size_t i, const char* name, napi_typedarray_type want) const {
    ArrayArg a = any_typed(i, name);
    if (a.type != want) type_error(arg(name) + " must be a " + typed_array_name(want) + ", got " + typed_array_name(a.type));
    return a;
  }
  ArrayArg f32(size_t i, const char* name) const { return typed(i, name, napi_float32_array); }
  ArrayArg i32(size_t i, const char* name) const { return typed(i, name, napi_int32_array); }

  // Float32Array, or null/undefined (present == false).
  ArrayArg f32_or_null(size_t i, const char* name) const {
    Napi::Value v = info_[i];
    if (v.IsNull() || v.IsUndefined()) return ArrayArg{};
    ArrayArg a = any_typed(i, name);
    if (a.type != napi_float32_array) {
      type_error(arg(name) + " must be a Float32Array or null, got " + typed_array_name(a.type));
    }
    return a;
  }

  // Float32Array or Float64Array (LAPACK inputs; the dtype follows it).
  ArrayArg real(size_t i, const char* name) const {
    ArrayArg a = any_typed(i, name);
    if (a.type != napi_float32_array && a.type != napi_float64_array) {
      type_error(arg(name) + " must be a Float32Array or Float64Array, got " + typed_array_name(a.type));
    }
    return a;
  }

  // Same dtype as `like`.
  ArrayArg real_like(size_t i, const char* name, const ArrayArg& like, const char* like_name) const {
    ArrayArg a = real(i, name);
    if (a.type != like.type) {
      type_error(arg(name) + " must be a " + typed_array_name(like.type) + " like '" + like_name + "', got " +
                 typed_array_name(a.type));
    }
    return a;
  }

  void need(const ArrayArg& a, const char* name, uint64_t needed, const std::string& detail) const {
    if (a.length < needed) {
      range_error(arg(name) + " has " + std::to_string(a.length) + " elements, needs at least " +
                  std::to_string(needed) + " (" + detail + ")");
    }
  }

  // Checked product of non-negative sizes; throws RangeError on overflow.
  uint64_t mul(uint64_t x, uint64_t y) const {
    if (x != 0 && y > static_cast<uint64_t>(kMaxSafeInteger) / x) range_error("array size overflows");
    return x * y;
  }

  // Throws unless the byte ranges [a, a + a_bytes) and [b, b + b_bytes) are
  // disjoint, or identical starts when `same_ok`.
  void no_overlap(const ArrayArg& a, const char* a_name, uint64_t a_elems, const ArrayArg& b, const char* b_name,
                  uint64_t b_elems, bool same_ok) const {
    if (!a.present || !b.present || a_elems == 0 || b_elems == 0) return;
    auto pa = reinterpret_cast<uintptr_t>(a.data), pb = reinterpret_cast<uintptr_t>(b.data);
    uint64_t ea = pa + a_elems * a.element_size(), eb = pb + b_elems * b.element_size();
    if (pa < eb && pb < ea) {
      if (same_ok && pa == pb) return;
      range_error(arg(a_name) + " must not overlap argument '" + b_name + "'" +
                  (same_ok ? " (only the identical array is allowed)" : ""));
    }
  }

 private:
  std::string arg(const char* name) const { return std::string("argument '") + name + "'"; }

  ArrayArg any_typed(size_t i, const char* name) const {
    Napi::Value v = info_[i];
    if (!v.IsTypedArray()) type_error(arg(name) + " must be a typed array, got " + describe(v));
    ArrayArg a;
    a.object = v.As<Napi::Object>();
    napi_value arraybuffer;
    size_t byte_offset;
    napi_status st = napi_get_typedarray_info(env_, v, &a.type, &a.length, &a.data, &arraybuffer, &byte_offset);
    if (st != napi_ok) type_error(arg(name) + " could not be read as a typed array");
    a.present = true;
    return a;
  }

  const Napi::CallbackInfo& info_;
  Napi::Env env_;
  const char* fn_;
};

std::string shape(int64_t rows, int64_t cols) { return std::to_string(rows) + "x" + std::to_string(cols); }

// Allocates a new Float32Array or Float64Array output and holds it in the task.
size_t new_real(Napi::Env env, Task& task, bool f64, uint64_t length, void** data) {
  Napi::Object arr;
  if (f64) {
    auto a = Napi::Float64Array::New(env, static_cast<size_t>(length));
    *data = a.Data();
    arr = a;
  } else {
    auto a = Napi::Float32Array::New(env, static_cast<size_t>(length));
    *data = a.Data();
    arr = a;
  }
  advise_huge_pages(*data, static_cast<size_t>(length) * (f64 ? 8 : 4));
  return task.hold(arr);
}

// A task result that is an object of the task's held arrays, { name: array, ... }.
std::function<Napi::Value(Napi::Env, Task&)> held_object(std::vector<std::pair<const char*, size_t>> fields) {
  return [fields](Napi::Env env, Task& t) -> Napi::Value {
    Napi::Object o = Napi::Object::New(env);
    for (const auto& field : fields) o.Set(field.first, t.held(field.second));
    return o;
  };
}

// ---------------------------------------------------------------------------
// BLAS info / threads
// ---------------------------------------------------------------------------
Napi::Value BlasInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  cpu::BlasInfo bi = cpu::blas_info();
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", bi.name);
  o.Set("version", bi.version);
  o.Set("threads", Napi::Number::New(env, bi.threads));
  o.Set("config", bi.config);
  return o;
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  Args args(info, "setThreads", 1);
  int64_t n = args.dim(0, "n", 1024);
  if (n < 1) args.range_error("argument 'n' must be >= 1, got " + std::to_string(n));
  cpu::set_threads(static_cast<int>(n));
  return info.Env().Undefined();
}

// adviseHugePages(array) -> boolean: asks for 2 MiB pages behind a large typed array that has not
// been written yet (see huge_pages.h); false where the advice was not given (small array, no THP)
Napi::Value AdviseHugePages(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsTypedArray()) {
    Napi::TypeError::New(env, "adviseHugePages: argument 'array' must be a typed array").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto a = info[0].As<Napi::TypedArray>();
  auto* base = static_cast<uint8_t*>(a.ArrayBuffer().Data()) + a.ByteOffset();
  return Napi::Boolean::New(env, advise_huge_pages(base, a.ByteLength()));
}

// ---------------------------------------------------------------------------
// gemm / sgemmDirect
// ---------------------------------------------------------------------------
TaskPtr parse_gemm(const Napi::CallbackInfo& info, bool async) {
  Args args(info, "gemm", 14);
  const bool ta = args.boolean(0, "transA");
  const bool tb = args.boolean(1, "transB");
  const int64_t m = args.dim(2, "m"), n = args.dim(3, "n"), k = args.dim(4, "k");
  const double alpha = args.number(5, "alpha");
  // the dtype follows 'a': Float32Array (sgemm) or Float64Array (dgemm), with 'b' and 'c' alike
  ArrayArg a = args.real(6, "a");
  ArrayArg b = args.real_like(7, "b", a, "a");
  const double beta = args.number(8, "beta");
  ArrayArg c = args.real_like(9, "c", a, "a");
  const int64_t batch = args.dim(10, "batch", kMaxSafeInteger);
  const int64_t sa = args.dim(11, "strideA", kMaxSafeInteger);
  const int64_t sb = args.dim(12, "strideB", kMaxSafeInteger);
  const int64_t sc = args.dim(13, "strideC", kMaxSafeInteger);

  auto extent = [&](uint64_t size, int64_t stride) -> uint64_t {
    if (batch == 0 || size == 0) return 0;
    uint64_t e = args.mul(static_cast<uint64_t>(batch - 1), static_cast<uint64_t>(stride)) + size;
    if (e > static_cast<uint64_t>(kMaxSafeInteger)) args.range_error("array size overflows");
    return e;
  };
  auto detail = [&](int64_t rows, int64_t cols, int64_t stride) {
    std::string d = "batch " + std::to_string(batch);
    if (batch > 1) d += ", stride " + std::to_string(stride);
    return d + ", " + shape(rows, cols);
  };
  const uint64_t size_a = args.mul(m, k), size_b = args.mul(k, n), size_c = args.mul(m, n);
  // A stored m x k (k x m when transposed); B stored k x n (n x k).
  const uint64_t ea = extent(size_a, sa), eb = extent(size_b, sb), ec = extent(size_c, sc);
  args.need(a, "a", ea, detail(ta ? k : m, ta ? m : k, sa));
  args.need(b, "b", eb, detail(tb ? n : k, tb ? k : n, sb));
  args.need(c, "c", ec, detail(m, n, sc));
  args.no_overlap(c, "c", ec, a, "a", ea, false);
  args.no_overlap(c, "c", ec, b, "b", eb, false);

  auto task = std::make_unique<Task>("gemm", async);
  task->keep_alive(a.object);
  task->keep_alive(b.object);
  task->keep_alive(c.object);
  const int im = static_cast<int>(m), in = static_cast<int>(n), ik = static_cast<int>(k);
  if (a.is_f64()) {
    double *pa = a.f64(), *pb = b.f64(), *pc = c.f64();
    task->run = [=] { cpu::gemm_f64(ta, tb, im, in, ik, alpha, pa, pb, beta, pc, batch, sa, sb, sc); };
  } else {
    float *pa = a.f32(), *pb = b.f32(), *pc = c.f32();
    const float fa = static_cast<float>(alpha), fb = static_cast<float>(beta);
    task->run = [=] { cpu::gemm_f32(ta, tb, im, in, ik, fa, pa, pb, fb, pc, batch, sa, sb, sc); };
  }
  return task;
}

// The benchmark baseline: argument unpacking without any checks, then a bare
// cblas_sgemm loop.
struct DirectArgs {
  bool ta, tb;
  int m, n, k;
  float alpha, beta;
  float *a, *b, *c;
  int64_t batch, sa, sb, sc;
};

DirectArgs unpack_direct(const Napi::CallbackInfo& info) {
  DirectArgs d;
  d.ta = info[0].ToBoolean().Value();
  d.tb = info[1].ToBoolean().Value();
  d.m = info[2].As<Napi::Number>().Int32Value();
  d.n = info[3].As<Napi::Number>().Int32Value();
  d.k = info[4].As<Napi::Number>().Int32Value();
  d.alpha = info[5].As<Napi::Number>().FloatValue();
  d.a = info[6].As<Napi::Float32Array>().Data();
  d.b = info[7].As<Napi::Float32Array>().Data();
  d.beta = info[8].As<Napi::Number>().FloatValue();
  d.c = info[9].As<Napi::Float32Array>().Data();
  d.batch = info[10].As<Napi::Number>().Int64Value();
  d.sa = info[11].As<Napi::Number>().Int64Value();
  d.sb = info[12].As<Napi::Number>().Int64Value();
  d.sc = info[13].As<Napi::Number>().Int64Value();
  return d;
}

Napi::Value SgemmDirect(const Napi::CallbackInfo& info) {
  DirectArgs d = unpack_direct(info);
  cpu::sgemm_direct(d.ta, d.tb, d.m, d.n, d.k, d.alpha, d.a, d.b, d.beta, d.c, d.batch, d.sa, d.sb, d.sc);
  return info.Env().Undefined();
}

TaskPtr parse_sgemm_direct(const Napi::CallbackInfo& info, bool async) {
  DirectArgs d = unpack_direct(info);
  auto task = std::make_unique<Task>("sgemmDirect", async);
  for (size_t i : {6, 7, 9}) task->keep_alive(info[i].As<Napi::Object>());
  task->run = [d] {
    cpu::sgemm_direct(d.ta, d.tb, d.m, d.n, d.k, d.alpha, d.a, d.b, d.beta, d.c, d.batch, d.sa, d.sb, d.sc);
  };
  return task;
}

// ---------------------------------------------------------------------------
// pairwise
// ---------------------------------------------------------------------------
TaskPtr parse_pairwise(const Napi::CallbackInfo& info, bool async) {
  Args args(info, "pairwise", 9);
  ArrayArg x = args.f32(0, "x");
  const int64_t n = args.dim(1, "n");
  ArrayArg z = args.f32(2, "z");
  const int64_t m = args.dim(3, "m");
  const int64_t d = args.dim(4, "d");
  ArrayArg mahal = args.f32_or_null(5, "mahal");
  const double kd = args.number(6, "kernel");
  if (!(kd == 0 || kd == 1 || kd == 2 || kd == 3)) {
    args.range_error("argument 'kernel' must be 0 (distance), 1 (laplace), 2 (gaussian) or 3 (gaussian-rfm), got " +
                     fmt_number(kd));
  }
  const int kernel = static_cast<int>(kd);
  const double bandwidth = kernel == 0 ? args.number_or(7, "bandwidth", 1.0) : args.number(7, "bandwidth");
  if (kernel != 0 && !(bandwidth > 0)) args.range_error("bandwidth must be > 0, got " + fmt_number(bandwidth));
  ArrayArg out = args.f32(8, "out");

  const uint64_t nx = args.mul(n, d), nz = args.mul(m, d), nm = args.mul(d, d), no = args.mul(n, m);
  args.need(x, "x", nx, shape(n, d));
  args.need(z, "z", nz, shape(m, d));
  if (mahal.present) args.need(mahal, "mahal", nm, shape(d, d));
  args.need(out, "out", no, shape(n, m));
  args.no_overlap(out, "out", no, x, "x", nx, false);
  args.no_overlap(out, "out", no, z, "z", nz, false);
  args.no_overlap(out, "out", no, mahal, "mahal", nm, false);

  auto task = std::make_unique<Task>("pairwise", async);
  task->keep_alive(x.object);
  task->keep_alive(z.object);
  if (mahal.present) task->keep_alive(mahal.object);
  task->keep_alive(out.object);
  const float *px = x.f32(), *pz = z.f32(), *pm = mahal.present ? mahal.f32() : nullptr;
  float* po = out.f32();
  task->run = [=] {
    cpu::pairwise(px, static_cast<int>(n), pz, static_cast<int>(m), static_cast<int>(d), pm, kernel, bandwidth, po);
  };
  return task;
}

// ---------------------------------------------------------------------------
// agop
// ---------------------------------------------------------------------------
TaskPtr parse_agop(const Napi::CallbackInfo& info, bool async) {
  // the point index sits before 'mahal', so a binary built before it existed rejects the call
  // (a number where it reads the kernel) instead of silently summing over every point
  Args args(info, "agop", 16);
  ArrayArg x = args.f32(0, "x");
  const int64_t n = args.dim(1, "n");
  const int64_t d = args.dim(2, "d");
  ArrayArg alpha = args.f32(3, "alpha");
  const int64_t k = args.dim(4, "k");
  ArrayArg points = args.f32(5, "points");
  const int64_t m = args.dim(6, "m");
  ArrayArg index;
  if (!args.at(7).IsNull() && !args.at(7).IsUndefined()) index = args.i32(7, "pointIndex");
  ArrayArg mahal = args.f32_or_null(8, "mahal");
  const double kd = args.number(9, "kernel");
  if (!(kd == 1 || kd == 2 || kd == 3)) {
    args.range_error("argument 'kernel' must be 1 (laplace), 2 (gaussian) or 3 (gaussian-rfm), got " + fmt_number(kd));
  }
  const int kernel = static_cast<int>(kd);
  const double bandwidth = args.number(10, "bandwidth");
  if (!(bandwidth > 0) || std::isinf(bandwidth)) args.range_error("bandwidth must be a finite number > 0, got " + fmt_number(bandwidth));
  const bool self = args.boolean(11, "self");
  const int64_t batch_rows = args.dim(12, "batchRows");
  if (batch_rows < 1) args.range_error("argument 'batchRows' must be >= 1");
  const int64_t output_block = args.dim(13, "outputBlock");
  if (output_block < 1) args.range_error("argument 'outputBlock' must be >= 1");
  ArrayArg out = args.f32(14, "out");
  const double md = args.number(15, "method");
  if (!(md == 0 || md == 1 || md == 2)) {
    args.range_error("argument 'method' must be 0 (batched), 1 (gram) or 2 (gram where accurate), got " + fmt_number(md));
  }
  const auto method = static_cast<cpu::AgopMethod>(static_cast<int>(md));

  const uint64_t nx = args.mul(n, d), na = args.mul(n, k), np = args.mul(m, d), nm = args.mul(d, d);
  args.need(x, "x", nx, shape(n, d));
  args.need(alpha, "alpha", na, shape(n, k));
  args.need(points, "points", np, shape(m, d));
  if (mahal.present) args.need(mahal, "mahal", nm, shape(d, d));
  args.need(out, "out", nm, shape(d, d));
  if (self && (m != n || points.data != x.data)) args.range_error("argument 'self' needs the points to be the centers");
  if (md != 0 && (!self || index.present)) args.range_error("argument 'method' (the Gram form) needs 'self' and no 'pointIndex'");
  if (index.present) {
    const int32_t* pi = index.i32();
    for (size_t i = 0; i < index.length; ++i) {
      if (pi[i] < 0 || pi[i] >= m) {
        args.range_error("argument 'pointIndex' holds " + std::to_string(pi[i]) + " at " + std::to_string(i) +
                         ", outside the " + std::to_string(m) + " points");
      }
    }
  }
  args.no_overlap(out, "out", nm, x, "x", nx, false);
  args.no_overlap(out, "out", nm, alpha, "alpha", na, false);
  args.no_overlap(out, "out", nm, points, "points", np, false);
  args.no_overlap(out, "out", nm, mahal, "mahal", nm, false);

  auto task = std::make_unique<Task>("agop", async);
  for (const ArrayArg* a : {&x, &alpha, &points, &out}) task->keep_alive(a->object);
  if (mahal.present) task->keep_alive(mahal.object);
  if (index.present) task->keep_alive(index.object);
  cpu::AgopProblem p;
  p.x = x.f32();
  p.n = n;
  p.d = d;
  p.alpha = alpha.f32();
  p.k = k;
  p.points = points.f32();
  p.m = m;
  p.point_index = index.present ? index.i32() : nullptr;
  p.samples = index.present ? static_cast<int64_t>(index.length) : 0;
  p.mahal = mahal.present ? mahal.f32() : nullptr;
  p.kernel = kernel;
  p.bandwidth = bandwidth;
  p.self = self;
  p.batch_rows = batch_rows;
  p.output_block = output_block;
  p.method = method;
  float* po = out.f32();
  auto outcome = std::make_shared<cpu::AgopOutcome>();
  task->run = [=] { *outcome = cpu::agop(p, po); };
  task->result = [outcome](Napi::Env env, Task&) -> Napi::Value {
    Napi::Object o = Napi::Object::New(env);
    o.Set("gram", Napi::Boolean::New(env, outcome->gram));
    o.Set("cancellation", Napi::Number::New(env, outcome->cancellation));
    return o;
  };
  return task;
}

// ---------------------------------------------------------------------------
// Row-wise ops
// ---------------------------------------------------------------------------
TaskPtr parse_row_norms(const Napi::CallbackInfo& info, bool async) {
  Args args(info, "rowNorms", 4);
  ArrayArg x = args.f32(0, "x");
  const int64_t rows = args.dim(1, "rows", kMaxSafeInteger), cols = args.dim(2, "cols", kMaxSafeInteger);
  ArrayArg out = args.f32(3, "out");
  const bool squared = info.Length() > 4 && !info[4].IsUndefined() ? args.boolean(4, "squared") : false;
  const uint64_t nx = args.mul(rows, cols);
  args.need(x, "x", nx, shape(rows, cols));
  args.need(out, "out", rows, "rows " + std::to_string(rows));
  args.no_overlap(out, "out", rows, x, "x", nx, false);
  auto task = std::make_unique<Task>("rowNorms", async);
  task->keep_alive(x.object);
  task->keep_alive(out.object);
  const float* px = x.f32();
  float* po = out.f32();
  task->run = [=] { cpu::row_norms(px, rows, cols, po, squared); };
  return task;
}

TaskPtr parse_row_normalize(const Napi::CallbackInfo& info, bool async) {
  Args args(info, "rowNormalize", 4);
  ArrayArg x = args.f32(0, "x");
  const int64_t rows = args.dim(1, "rows", kMaxSafeInteger), cols = args.dim(2, "cols", kMaxSafeInteger);
  ArrayArg out = args.f32(3, "out");
  const uint64_t nx = args.mul(rows, cols);
  args.need(x, "x", nx, shape(rows, cols));
  args.need(out, "out", nx, shape(rows, cols));
  args.no_overlap(out, "out", nx, x, "x", nx, true);
  auto task = std::make_unique<Task>("rowNormalize", async);
  task->keep_alive(x.object);
  task->keep_alive(out.object);
  const float* px = x.f32();
  float* po = out.f32();
  task->run = [=] { cpu::row_normalize(px, rows, cols, po); };
  return task;
}

TaskPtr parse_row_dot(const Napi::CallbackInfo& info, bool async) {
  Args args(info, "rowDot", 5);
  ArrayArg a = args.f32(0, "a");
  ArrayArg b = args.f32(1, "b");
  const int64_t rows = args.dim(2, "rows", kMaxSafeInteger), cols = args.dim(3, "cols", kMaxSafeInteger);
  ArrayArg out = args.f32(4, "out");
  const uint64_t nx = args.mul(rows, cols);
  args.need(a, "a", nx, shape(rows, cols));
  args.need(b, "b", nx, shape(rows, cols));
  args.need(out, "out", rows, "rows " + std::to_string(rows));
  args.no_overlap(out, "out", rows, a, "a", nx, false);
  args.no_overlap(out, "out", rows, b, "b", nx, false);
  auto task = std::make_unique<Task>("rowDot", async);
  task->keep_alive(a.object);
  task->keep_alive(b.object);
  task->keep_alive(out.object);
  const float *pa = a.f32(), *pb = b.f32();
  float* po = out.f32();
  task->run = [=] { cpu::row_dot(pa, pb, rows, cols, po); };
  return task;
}

// ---------------------------------------------------------------------------
// Elementwise ops
// ---------------------------------------------------------------------------
TaskPtr parse_unary(const Napi::CallbackInfo& info, bool async) {
  Args args(info, "unary", 3);
  const double opd = args.number(0, "op");
  if (!(opd == 0 || opd == 1 || opd == 2 || opd == 3)) {
    args.range_error("argument 'op' must be 0 (relu), 1 (cos), 2 (scale) or 3 (exp), got " + fmt_number(opd));
  }
  const int op = static_cast<int>(opd);
  ArrayArg x = args.f32(1, "x");
  ArrayArg out = args.f32(2, "out");
  const double alpha = op == cpu::kScale ? args.number(3, "alpha") : args.number_or(3, "alpha", 1.0);
  const uint64_t len = x.length;
  args.need(out, "out", len, "length of 'x'");
  args.no_overlap(out, "out", len, x, "x", len, true);
  auto task = std::make_unique<Task>("unary", async);
  task->keep_alive(x.object);
  task->keep_alive(out.object);
  const float* px = x.f32();
  float* po = out.f32();
  const float fa = static_cast<float>(alpha);
  task->run = [=] { cpu::unary(op, px, po, static_cast<int64_t>(len), fa); };
  return task;
}

TaskPtr parse_axpy(const Napi::CallbackInfo& info, bool async) {
  Args args(info, "axpy", 4);
  const float alpha = static_cast<float>(args.number(0, "alpha"));
  ArrayArg x = args.f32(1, "x");
  ArrayArg y = args.f32(2, "y");
  ArrayArg out = args.f32(3, "out");
  const uint64_t len = x.length;
  args.need(y, "y", len, "length of 'x'");
  args.need(out, "out", len, "length of 'x'");
  args.no_overlap(out, "out", len, x, "x", len, true);
  args.no_overlap(out, "out", len, y, "y", len, true);
  auto task = std::make_unique<Task>("axpy", async);
  task->keep_alive(x.object);
  task->keep_alive(y.object);
  task->keep_alive(out.object);
  const float *px = x.f32(), *py = y.f32();
  float* po = out.f32();
  task->run = [=] { cpu::axpy(alpha, px, py, po, static_cast<int64_t>(len)); };
  return task;
}

// ---------------------------------------------------------------------------
// Reductions
// ---------------------------------------------------------------------------
TaskPtr parse_col_sums(const Napi::CallbackInfo& info, bool async) {
  Args args(info, "colSums", 4);
  ArrayArg x = args.f32(0, "x");
  const int64_t rows = args.dim(1, "rows", kMaxSafeInteger), cols = args.dim(2, "cols", kMaxSafeInteger);
  ArrayArg out = args.f32(3, "out");
  const uint64_t nx = args.mul(rows, cols);
  args.need(x, "x", nx, shape(rows, cols));
  args.need(out, "out", cols, "cols " + std::to_string(cols));
  args.no_overlap(out, "out", cols, x, "x", nx, false);
  auto task = std::make_unique<Task>("colSums", async);
  task->keep_alive(x.object);
  task->keep_alive(out.object);
  const float* px = x.f32();
  float* po = out.f32();
  task->run = [=] { cpu::col_sums(px, rows, cols, po); };
  return task;
}

// The arguments classSums and classDeviations share: x (rows x cols), its labels, k, and a
// k x cols f32 array at index 5 (`per_class`: the output of classSums, the shifts of classDeviations).
struct ClassArgs {
  ArrayArg x, labels, per_class;
  int64_t rows, cols, k;
  uint64_t nx, nk;
};

ClassArgs parse_class_args(Args& args, const char* per_class_name) {
  ClassArgs c;
  c.x = args.f32(0, "x");
  c.rows = args.dim(1, "rows", kMaxSafeInteger);
  c.cols = args.dim(2, "cols", kMaxSafeInteger);
  c.labels = args.i32(3, "labels");
  c.k = args.dim(4, "k", INT_MAX);
  c.per_class = args.f32(5, per_class_name);
  c.nx = args.mul(c.rows, c.cols);
  c.nk = args.mul(c.k, c.cols);
  args.need(c.x, "x", c.nx, shape(c.rows, c.cols));
  args.need(c.labels, "labels", c.rows, "rows " + std::to_string(c.rows));
  args.need(c.per_class, per_class_name, c.nk, shape(c.k, c.cols));
  return c;
}

TaskPtr parse_class_sums(const Napi::CallbackInfo& info, bool async) {
  Args args(info, "classSums", 6);
  const ClassArgs c = parse_class_args(args, "out");
  args.no_overlap(c.per_class, "out", c.nk, c.x, "x", c.nx, false);
  args.no_overlap(c.per_class, "out", c.nk, c.labels, "labels", c.rows, false);
  auto task = std::make_unique<Task>("classSums", async);
  task->keep_alive(c.x.object);
  task->keep_alive(c.labels.object);
  task->keep_alive(c.per_class.object);
  const float* px = c.x.f32();
  const int32_t* pl = c.labels.i32();
  float* po = c.per_class.f32();
  const int64_t rows = c.rows, cols = c.cols, k = c.k;
  task->run = [=] { cpu::class_sums(px, rows, cols, pl, k, po); };
  return task;
}

// classDeviations(x, rows, cols, labels, k, shifts) -> { sums (k x cols), sq (k) }, both Float64Array
TaskPtr parse_class_deviations(const Napi::CallbackInfo& info, bool async) {
  Args args(info, "classDeviations", 6);
  const ClassArgs c = parse_class_args(args, "shifts");
  auto task = std::make_unique<Task>("classDeviations", async);
  task->keep_alive(c.x.object);
  task->keep_alive(c.labels.object);
  task->keep_alive(c.per_class.object);
  void *psums = nullptr, *psq = nullptr;
  const size_t ssums = new_real(args.env(), *task, true, c.nk, &psums);
  const size_t ssq = new_real(args.env(), *task, true, static_cast<uint64_t>(c.k), &psq);
  const float* px = c.x.f32();
  const int32_t* pl = c.labels.i32();
  const float* pshift = c.per_class.f32();
  const int64_t rows = c.rows, cols = c.cols, k = c.k;
  task->run = [=] {
    cpu::class_deviations(px, rows, cols, pl, k, pshift, static_cast<double*>(psums), static_cast<double*>(psq));
  };
  task->result = held_object({{"sums", ssums}, {"sq", ssq}});
  return task;
}

TaskPtr parse_max(const Napi::CallbackInfo& info, bool async) {
  Args args(info, "max", 1);
  ArrayArg x = args.f32(0, "x");
  auto task = std::make_unique<Task>("max", async);
  task->keep_alive(x.object);
  auto value = std::make_shared<double>(0.0);
  const float* px = x.f32();
  const int64_t len = static_cast<int64_t>(x.length);
  task->run = [=] { *value = cpu::max_value(px, len); };
  task->result = [value](Napi::Env env, Task&) -> Napi::Value { return Napi::Number::New(env, *value); };
  return task;
}

TaskPtr parse_count_non_finite(const Napi::CallbackInfo& info, bool async) {
  Args args(info, "countNonFinite", 1);
  ArrayArg x = args.f32(0, "x");
  auto task = std::make_unique<Task>("countNonFinite", async);
  task->keep_alive(x.object);
  auto count = std::make_shared<int64_t>(0);
  const float* px = x.f32();
  const int64_t len = static_cast<int64_t>(x.length);
  task->run = [=] { *count = cpu::count_non_finite(px, len); };
  task->result = [count](Napi::Env env, Task&) -> Napi::Value {
    return Napi::Number::New(env, static_cast<double>(*count));
  };
  return task;
}

// ---------------------------------------------------------------------------
// LAPACK
// ---------------------------------------------------------------------------
TaskPtr parse_solve(const Napi::CallbackInfo& info, bool async) {
  Args args(info, "solve", 4);
  ArrayArg a = args.real(0, "a");
  const int64_t n = args.dim(1, "n");
  ArrayArg b = args.real_like(2, "b", a, "a");
  const int64_t k = args.dim(3, "k");
  linalg::SolveMethod method = linalg::SolveMethod::kAuto;
  if (info.Length() > 4 && !info[4].IsUndefined()) {
    std::string ms = args.string(4, "method");
    if (ms == "auto") {
      method = linalg::SolveMethod::kAuto;
    } else if (ms == "cholesky") {
      method = linalg::SolveMethod::kCholesky;
    } else if (ms == "lu") {
      method = linalg::SolveMethod::kLu;
    } else {
      args.range_error("argument 'method' must be 'auto', 'cholesky' or 'lu', got '" + ms + "'");
    }
  }
  const uint64_t na = args.mul(n, n), nb = args.mul(n, k);
  args.need(a, "a", na, shape(n, n));
  args.need(b, "b", nb, shape(n, k));
  // arithmetic: that of the arrays by default; 'f64' factors f32 arrays in double
  const bool f64_arrays = a.is_f64();
  bool f64_math = f64_arrays;
  if (info.Length() > 5 && !info[5].IsUndefined()) {
    const std::string p = args.string(5, "precision");
    if (p == "f64") {
      f64_math = true;
    } else if (p == "f32") {
      if (f64_arrays) args.range_error("precision 'f32' needs Float32Array arguments");
      f64_math = false;
    } else {
      args.range_error("argument 'precision' must be 'f32' or 'f64', got '" + p + "'");
    }
  }
  double ridge = 0;
  if (info.Length() > 6 && !info[6].IsUndefined()) {
    ridge = args.number(6, "ridge");
    if (!(ridge >= 0) || std::isinf(ridge)) args.range_error("ridge must be a finite number >= 0, got " + fmt_number(ridge));
  }

  auto task = std::make_unique<Task>("solve", async);
  task->keep_alive(a.object);
  task->keep_alive(b.object);
  void* px = nullptr;
  const size_t slot = new_real(args.env(), *task, f64_arrays, nb, &px);
  auto res = std::make_shared<linalg::SolveInfo>();
  const void *pa = a.data, *pb = b.data;
  task->run = [=] {
    const int ni = static_cast<int>(n), ki = static_cast<int>(k);
    if (f64_arrays) {
      *res = linalg::solve<double>(static_cast<const double*>(pa), ni, static_cast<const double*>(pb), ki, method,
                                   static_cast<double*>(px), ridge);
    } else if (f64_math) {
      *res = linalg::solve<double>(static_cast<const float*>(pa), ni, static_cast<const float*>(pb), ki, method,
                                   static_cast<float*>(px), ridge);
    } else {
      *res = linalg::solve<float>(static_cast<const float*>(pa), ni, static_cast<const float*>(pb), ki, method,
                                  static_cast<float*>(px), ridge);
    }
  };
  task->result = [slot, res](Napi::Env env, Task& t) -> Napi::Value {
    Napi::Object o = Napi::Object::New(env);
    o.Set("x", t.held(slot));
    o.Set("method", res->method == linalg::SolveMethod::kLu ? "lu" : "cholesky");
    o.Set("rcond", Napi::Number::New(env, res->rcond));
    return o;
  };
  return task;
}

TaskPtr parse_eigh(const Napi::CallbackInfo& info, bool async) {
  Args args(info, "eigh", 2);
  ArrayArg a = args.real(0, "a");
  const int64_t n = args.dim(1, "n");
  const uint64_t na = args.mul(n, n);
  args.need(a, "a", na, shape(n, n));
  auto task = std::make_unique<Task>("eigh", async);
  task->keep_alive(a.object);
  const bool f64 = a.is_f64();
  void *pw = nullptr, *pv = nullptr;
  const size_t sw = new_real(args.env(), *task, f64, n, &pw);
  const size_t sv = new_real(args.env(), *task, f64, na, &pv);
  const void* pa = a.data;
  task->run = [=] {
    if (f64) {
      linalg::eigh(static_cast<const double*>(pa), static_cast<int>(n), static_cast<double*>(pw), static_cast<double*>(pv));
    } else {
      linalg::eigh(static_cast<const float*>(pa), static_cast<int>(n), static_cast<float*>(pw), static_cast<float*>(pv));
    }
  };
  task->result = held_object({{"values", sw}, {"vectors", sv}});
  return task;
}

TaskPtr parse_svd(const Napi::CallbackInfo& info, bool async) {
  Args args(info, "svd", 3);
  ArrayArg a = args.real(0, "a");
  const int64_t m = args.dim(1, "m"), n = args.dim(2, "n");
  const int64_t r = std::min(m, n);
  args.need(a, "a", args.mul(m, n), shape(m, n));
  auto task = std::make_unique<Task>("svd", async);
  task->keep_alive(a.object);
  const bool f64 = a.is_f64();
  void *pu = nullptr, *ps = nullptr, *pvt = nullptr;
  const size_t su = new_real(args.env(), *task, f64, args.mul(m, r), &pu);
  const size_t ss = new_real(args.env(), *task, f64, r, &ps);
  const size_t svt = new_real(args.env(), *task, f64, args.mul(r, n), &pvt);
  const void* pa = a.data;
  task->run = [=] {
    if (f64) {
      linalg::svd(static_cast<const double*>(pa), static_cast<int>(m), static_cast<int>(n), static_cast<double*>(pu),
                  static_cast<double*>(ps), static_cast<double*>(pvt));
    } else {
      linalg::svd(static_cast<const float*>(pa), static_cast<int>(m), static_cast<int>(n), static_cast<float*>(pu),
                  static_cast<float*>(ps), static_cast<float*>(pvt));
    }
  };
  task->result = held_object({{"u", su}, {"s", ss}, {"vt", svt}});
  return task;
}

TaskPtr parse_qr(const Napi::CallbackInfo& info, bool async) {
  Args args(info, "qr", 3);
  ArrayArg a = args.real(0, "a");
  const int64_t m = args.dim(1, "m"), n = args.dim(2, "n");
  const int64_t r = std::min(m, n);
  args.need(a, "a", args.mul(m, n), shape(m, n));
  auto task = std::make_unique<Task>("qr", async);
  task->keep_alive(a.object);
  const bool f64 = a.is_f64();
  void *pq = nullptr, *pr = nullptr;
  const size_t sq = new_real(args.env(), *task, f64, args.mul(m, r), &pq);
  const size_t sr = new_real(args.env(), *task, f64, args.mul(r, n), &pr);
  const void* pa = a.data;
  task->run = [=] {
    if (f64) {
      linalg::qr(static_cast<const double*>(pa), static_cast<int>(m), static_cast<int>(n), static_cast<double*>(pq),
                 static_cast<double*>(pr));
    } else {
      linalg::qr(static_cast<const float*>(pa), static_cast<int>(m), static_cast<int>(n), static_cast<float*>(pq),
                 static_cast<float*>(pr));
    }
  };
  task->result = held_object({{"q", sq}, {"r", sr}});
  return task;
}

TaskPtr parse_pinv(const Napi::CallbackInfo& info, bool async) {
  Args args(info, "pinv", 3);
  ArrayArg a = args.real(0, "a");
  const int64_t m = args.dim(1, "m"), n = args.dim(2, "n");
  const double rcond = args.number_or(3, "rcond", 0.0);
  if (std::isnan(rcond)) args.range_error("argument 'rcond' must not be NaN");
  const uint64_t na = args.mul(m, n);
  args.need(a, "a", na, shape(m, n));
  auto task = std::make_unique<Task>("pinv", async);
  task->keep_alive(a.object);
  const bool f64 = a.is_f64();
  void* po = nullptr;
  const size_t so = new_real(args.env(), *task, f64, na, &po);
  const void* pa = a.data;
  task->run = [=] {
    if (f64) {
      linalg::pinv(static_cast<const double*>(pa), static_cast<int>(m), static_cast<int>(n), rcond,
                   static_cast<double*>(po));
    } else {
      linalg::pinv(static_cast<const float*>(pa), static_cast<int>(m), static_cast<int>(n), rcond,
                   static_cast<float*>(po));
    }
  };
  task->result = [so](Napi::Env, Task& t) -> Napi::Value { return t.held(so); };
  return task;
}

TaskPtr parse_pinv_sym(const Napi::CallbackInfo& info, bool async) {
  Args args(info, "pinvSym", 2);
  ArrayArg a = args.real(0, "a");
  const int64_t n = args.dim(1, "n");
  const double rcond = args.number_or(2, "rcond", 0.0);
  if (std::isnan(rcond)) args.range_error("argument 'rcond' must not be NaN");
  const uint64_t na = args.mul(n, n);
  args.need(a, "a", na, shape(n, n));
  auto task = std::make_unique<Task>("pinvSym", async);
  task->keep_alive(a.object);
  const bool f64 = a.is_f64();
  void* po = nullptr;
  const size_t so = new_real(args.env(), *task, f64, na, &po);
  const void* pa = a.data;
  task->run = [=] {
    if (f64) {
      linalg::pinv_sym(static_cast<const double*>(pa), static_cast<int>(n), rcond, static_cast<double*>(po));
    } else {
      linalg::pinv_sym(static_cast<const float*>(pa), static_cast<int>(n), rcond, static_cast<float*>(po));
    }
  };
  task->result = [so](Napi::Env, Task& t) -> Napi::Value { return t.held(so); };
  return task;
}

// gramRows(a, n, k, lda, offset): the n x n Gram A A^T of the n x k block of `a` whose row i
// starts at element offset + i * lda.
TaskPtr parse_gram_rows(const Napi::CallbackInfo& info, bool async) {
  Args args(info, "gramRows", 5);
  ArrayArg a = args.real(0, "a");
  const int64_t n = args.dim(1, "n");
  const int64_t k = args.dim(2, "k");
  const int64_t lda = args.dim(3, "lda");
  const int64_t offset = args.dim(4, "offset");
  if (lda < k) args.range_error("argument 'lda' must be at least k");
  if (n > 0 && k > 0) args.need(a, "a", static_cast<uint64_t>(offset + (n - 1) * lda + k), shape(n, lda));
  const uint64_t nn = args.mul(n, n);
  auto task = std::make_unique<Task>("gramRows", async);
  task->keep_alive(a.object);
  const bool f64 = a.is_f64();
  void* po = nullptr;
  const size_t so = new_real(args.env(), *task, f64, nn, &po);
  const void* pa = a.data;
  task->run = [=] {
    if (f64) {
      linalg::gram_rows(static_cast<const double*>(pa) + offset, static_cast<int>(n), static_cast<int>(k), static_cast<int>(lda),
                        static_cast<double*>(po));
    } else {
      linalg::gram_rows(static_cast<const float*>(pa) + offset, static_cast<int>(n), static_cast<int>(k), static_cast<int>(lda),
                        static_cast<float*>(po));
    }
  };
  task->result = [so](Napi::Env, Task& t) -> Napi::Value { return t.held(so); };
  return task;
}

TaskPtr parse_sqrt_psd(const Napi::CallbackInfo& info, bool async) {
  Args args(info, "sqrtPsd", 2);
  ArrayArg a = args.real(0, "a");
  const int64_t n = args.dim(1, "n");
  const uint64_t na = args.mul(n, n);
  args.need(a, "a", na, shape(n, n));
  // arithmetic: that of the array by default; 'f64' computes an f32 array's root in double
  const bool f64 = a.is_f64();
  bool f64_math = f64;
  if (info.Length() > 2 && !info[2].IsUndefined()) {
    const std::string p = args.string(2, "precision");
    if (p == "f64") {
      f64_math = true;
    } else if (p == "f32") {
      if (f64) args.range_error("precision 'f32' needs a Float32Array");
    } else {
      args.range_error("argument 'precision' must be 'f32' or 'f64', got '" + p + "'");
    }
  }
  auto task = std::make_unique<Task>("sqrtPsd", async);
  task->keep_alive(a.object);
  void* po = nullptr;
  const size_t so = new_real(args.env(), *task, f64, na, &po);
  auto clipped = std::make_shared<int64_t>(0);
  const void* pa = a.data;
  task->run = [=] {
    if (f64) {
      *clipped = linalg::sqrt_psd(static_cast<const double*>(pa), static_cast<int>(n), static_cast<double*>(po));
    } else if (f64_math) {
      *clipped = linalg::sqrt_psd_f64(static_cast<const float*>(pa), static_cast<int>(n), static_cast<float*>(po));
    } else {
      *clipped = linalg::sqrt_psd(static_cast<const float*>(pa), static_cast<int>(n), static_cast<float*>(po));
    }
  };
  task->result = [so, clipped](Napi::Env env, Task& t) -> Napi::Value {
    Napi::Object o = Napi::Object::New(env);
    o.Set("root", t.held(so));
    o.Set("clipped", Napi::Number::New(env, static_cast<double>(*clipped)));
    return o;
  };
  return task;
}

// ---------------------------------------------------------------------------
// Module
// ---------------------------------------------------------------------------

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  cpu::apply_thread_env();

  exports.Set("blasInfo", Napi::Function::New(env, BlasInfo, "blasInfo"));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads, "setThreads"));
  exports.Set("adviseHugePages", Napi::Function::New(env, AdviseHugePages, "adviseHugePages"));

  export_pair<parse_gemm>(env, exports, "gemm");
  exports.Set("sgemmDirect", Napi::Function::New(env, SgemmDirect, "sgemmDirect"));
  exports.Set("sgemmDirectAsync", Napi::Function::New(env, async_binding<parse_sgemm_direct>, "sgemmDirectAsync"));

  export_pair<parse_pairwise>(env, exports, "pairwise");
  export_pair<parse_agop>(env, exports, "agop");
  export_pair<parse_row_norms>(env, exports, "rowNorms");
  export_pair<parse_row_normalize>(env, exports, "rowNormalize");
  export_pair<parse_row_dot>(env, exports, "rowDot");
  export_pair<parse_unary>(env, exports, "unary");
  export_pair<parse_axpy>(env, exports, "axpy");
  export_pair<parse_col_sums>(env, exports, "colSums");
  export_pair<parse_class_sums>(env, exports, "classSums");
  export_pair<parse_class_deviations>(env, exports, "classDeviations");
  export_pair<parse_max>(env, exports, "max");
  export_pair<parse_count_non_finite>(env, exports, "countNonFinite");

  export_pair<parse_solve>(env, exports, "solve");
  export_pair<parse_eigh>(env, exports, "eigh");
  export_pair<parse_svd>(env, exports, "svd");
  export_pair<parse_qr>(env, exports, "qr");
  export_pair<parse_pinv>(env, exports, "pinv");
  export_pair<parse_pinv_sym>(env, exports, "pinvSym");
  export_pair<parse_sqrt_psd>(env, exports, "sqrtPsd");
  export_pair<parse_gram_rows>(env, exports, "gramRows");

  register_nn(env, exports);
  register_kernel_solve(env, exports);
  register_stderr_capture(env, exports);
  return exports;
}

}  // namespace
}  // namespace ncgpu

static Napi::Object InitNcgpu(Napi::Env env, Napi::Object exports) { return ncgpu::Init(env, exports); }

NODE_API_MODULE(ncgpu, InitNcgpu)
