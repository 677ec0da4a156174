#include "huge_pages.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#if defined(__linux__)
#include <sys/mman.h>
#include <sys/utsname.h>
#endif

namespace ncgpu {
namespace {

#if defined(__linux__) && defined(MADV_HUGEPAGE)
// NCGPU_HUGE_PAGES=0 turns the advice off. Kernels before 4.6 can stall on huge-page compaction
// (numpy leaves them alone for the same reason), so the advice needs 4.6 or later.
bool advice_enabled() {
  const char* env = std::getenv("NCGPU_HUGE_PAGES");
  if (env != nullptr && std::strcmp(env, "0") == 0) return false;
  utsname u;
  if (uname(&u) != 0) return false;
  int major = 0, minor = 0;
  if (std::sscanf(u.release, "%d.%d", &major, &minor) != 2) return false;
  return major > 4 || (major == 4 && minor >= 6);
}
#endif

}  // namespace

bool advise_huge_pages(void* p, size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  static const bool enabled = advice_enabled();
  if (!enabled || bytes < kHugePageMinBytes) return false;
  constexpr uintptr_t kHuge = uintptr_t{2} << 20;
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + kHuge - 1) & ~(kHuge - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(p) + bytes) & ~(kHuge - 1);
  if (end <= begin) return false;
  // advice only: a kernel without THP answers EINVAL and the buffer works as before
  return madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE) == 0;
#else
  (void)p;
  (void)bytes;
  return false;
#endif
}

}  // namespace ncgpu
