// ncgpu native addon: registration of the nn kernels' bindings (nn_addon.cc),
// called once from addon.cc's module initializer.
#pragma once

#include <napi.h>

namespace ncgpu {

void register_nn(Napi::Env env, Napi::Object exports);

}  // namespace ncgpu
