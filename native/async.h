// ncgpu native addon: one description of a call, run either synchronously or
// on a libuv worker thread behind a Promise.
//
// A Task is built on the main thread from the JS arguments (validation
// happens there). Its `run` step uses only raw pointers and sizes, so it may
// execute off the main thread; its `result` step builds the JS return value
// on the main thread. Typed arrays a running task reads or writes are held
// with persistent references so they cannot be collected meanwhile.
#pragma once

#include <napi.h>

#include <exception>
#include <functional>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace ncgpu {

class Task {
 public:
  explicit Task(const char* fn, bool async) : fn_(fn), async_(async) {}

  const char* name() const { return fn_; }
  bool is_async() const { return async_; }

  // Keeps `obj` alive for the duration of an async call (no-op when sync,
  // where the caller's arguments stay alive anyway).
  void keep_alive(const Napi::Object& obj) {
    if (async_) refs_.push_back(Napi::Persistent(obj));
  }
  // Holds `obj` for result(); returns the slot to read it back with held().
  size_t hold(const Napi::Object& obj) {
    refs_.push_back(Napi::Persistent(obj));
    return refs_.size() - 1;
  }
  Napi::Object held(size_t slot) const { return refs_[slot].Value(); }

  std::function<void()> run;                          // no JS access
  std::function<Napi::Value(Napi::Env, Task&)> result;  // main thread; may be empty

 private:
  const char* fn_;
  bool async_;
  std::vector<Napi::ObjectReference> refs_;
};

enum class ErrorKind { kNone, kError, kRangeError };

// Runs task.run, translating C++ exceptions: std::invalid_argument becomes a
// RangeError, anything else an Error, with the message unchanged.
inline ErrorKind run_task(Task& task, std::string* message) {
  try {
    task.run();
    return ErrorKind::kNone;
  } catch (const std::invalid_argument& e) {
    *message = e.what();
    return ErrorKind::kRangeError;
  } catch (const std::bad_alloc&) {
    *message = std::string(task.name()) + ": out of memory";
    return ErrorKind::kError;
  } catch (const std::exception& e) {
    *message = e.what();
    return ErrorKind::kError;
  } catch (...) {
    *message = std::string(task.name()) + ": unknown native error";
    return ErrorKind::kError;
  }
}

inline Napi::Error make_error(Napi::Env env, ErrorKind kind, const std::string& message) {
  if (kind == ErrorKind::kRangeError) return Napi::RangeError::New(env, message);
  return Napi::Error::New(env, message);
}

inline Napi::Value task_result(Napi::Env env, Task& task) {
  return task.result ? task.result(env, task) : env.Undefined();
}

// Synchronous execution on the calling (main) thread.
inline Napi::Value run_sync(Napi::Env env, Task& task) {
  std::string message;
  ErrorKind kind = run_task(task, &message);
  if (kind != ErrorKind::kNone) throw make_error(env, kind, message);
  return task_result(env, task);
}

class TaskWorker : public Napi::AsyncWorker {
 public:
  TaskWorker(Napi::Env env, std::unique_ptr<Task> task)
      : Napi::AsyncWorker(env, task->name()), task_(std::move(task)), deferred_(Napi::Promise::Deferred::New(env)) {}

  Napi::Promise promise() const { return deferred_.Promise(); }

  void Execute() override { kind_ = run_task(*task_, &message_); }

  void OnOK() override {
    Napi::Env env = Env();
    if (kind_ != ErrorKind::kNone) {
      deferred_.Reject(make_error(env, kind_, message_).Value());
      return;
    }
    try {
      deferred_.Resolve(task_result(env, *task_));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  std::unique_ptr<Task> task_;
  Napi::Promise::Deferred deferred_;
  ErrorKind kind_ = ErrorKind::kNone;
  std::string message_;
};

// Queues the task and returns its Promise.
inline Napi::Value run_async(Napi::Env env, std::unique_ptr<Task> task) {
  auto* worker = new TaskWorker(env, std::move(task));  // deleted by node-addon-api after completion
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

inline Napi::Value rejected(Napi::Env env, const Napi::Error& e) {
  Napi::Promise::Deferred d = Napi::Promise::Deferred::New(env);
  d.Reject(e.Value());
  return d.Promise();
}

using TaskPtr = std::unique_ptr<Task>;
// Parses a call's arguments into a Task; `async` says whether the Task will run on a worker.
using Parser = TaskPtr (*)(const Napi::CallbackInfo&, bool async);

template <Parser P>
Napi::Value sync_binding(const Napi::CallbackInfo& info) {
  TaskPtr task = P(info, false);
  return run_sync(info.Env(), *task);
}

// Argument errors of an async call reject its Promise instead of throwing.
template <Parser P>
Napi::Value async_binding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TaskPtr task;
  try {
    task = P(info, true);
  } catch (const Napi::Error& e) {
    return rejected(env, e);
  }
  return run_async(env, std::move(task));
}

// Exports `name` (synchronous) and `nameAsync` (a Promise, run on a libuv worker).
template <Parser P>
void export_pair(Napi::Env env, Napi::Object exports, const char* name) {
  exports.Set(name, Napi::Function::New(env, sync_binding<P>, name));
  const std::string async_name = std::string(name) + "Async";
  exports.Set(async_name, Napi::Function::New(env, async_binding<P>, async_name));
}

}  // namespace ncgpu
