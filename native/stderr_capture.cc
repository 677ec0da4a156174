// ncgpu native addon: capturing what native libraries write to stderr (see stderr_capture.h).
#include "stderr_capture.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#ifdef _WIN32
#include <io.h>
#define dup _dup
#define dup2 _dup2
#define close _close
#define fileno _fileno
#define STDERR_FILENO 2
#else
#include <unistd.h>
#endif

namespace ncgpu {

namespace {

// One capture at a time, on the JS thread only: the state needs no lock.
int saved_fd = -1;
std::FILE* sink = nullptr;

Napi::Value CaptureStderr(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (sink != nullptr) throw Napi::Error::New(env, "captureStderr: a capture is already running");
  std::fflush(stderr);
  std::FILE* file = std::tmpfile();
  if (file == nullptr) throw Napi::Error::New(env, std::string("captureStderr: no temporary file: ") + std::strerror(errno));
  const int saved = dup(STDERR_FILENO);
  if (saved < 0 || dup2(fileno(file), STDERR_FILENO) < 0) {
    const std::string why = std::strerror(errno);
    if (saved >= 0) close(saved);
    std::fclose(file);
    throw Napi::Error::New(env, "captureStderr: cannot redirect stderr: " + why);
  }
  saved_fd = saved;
  sink = file;
  return env.Undefined();
}

Napi::Value ReleaseStderr(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (sink == nullptr) return Napi::String::New(env, "");
  std::fflush(stderr);
  dup2(saved_fd, STDERR_FILENO);
  close(saved_fd);
  saved_fd = -1;
  std::string text;
  std::rewind(sink);
  char buffer[4096];
  size_t got;
  while ((got = std::fread(buffer, 1, sizeof buffer, sink)) > 0) text.append(buffer, got);
  std::fclose(sink);
  sink = nullptr;
  return Napi::String::New(env, text);
}

}  // namespace

void register_stderr_capture(Napi::Env env, Napi::Object exports) {
  exports.Set("captureStderr", Napi::Function::New(env, CaptureStderr, "captureStderr"));
  exports.Set("releaseStderr", Napi::Function::New(env, ReleaseStderr, "releaseStderr"));
}

}  // namespace ncgpu
