// ncgpu native addon: registration of the large kernel-system bindings (kernel_solve_addon.cc),
// called once from addon.cc's module initializer.
#pragma once

#include <napi.h>

namespace ncgpu {

void register_kernel_solve(Napi::Env env, Napi::Object exports);

}  // namespace ncgpu
