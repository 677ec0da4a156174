// ncgpu native addon: capturing what native libraries write to the process's stderr.
//
// Dawn and the Mesa drivers under it print warnings straight to file descriptor 2 while an
// adapter or device is created ("maxDynamic... artificially reduced", "XDG_RUNTIME_DIR is
// invalid"). ncgpu redirects the descriptor to a temporary file around those calls and keeps the
// text, so the messages reach `ncgpu info` (or NCGPU_DAWN_MESSAGES=1) instead of every command's
// terminal.
#pragma once

#include <napi.h>

namespace ncgpu {

// captureStderr(): redirects fd 2 to a temporary file; throws if a capture is already running.
// releaseStderr(): restores fd 2 and returns what was written meanwhile ('' when none running).
void register_stderr_capture(Napi::Env env, Napi::Object exports);

}  // namespace ncgpu
