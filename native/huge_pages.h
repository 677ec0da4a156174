// Large buffers backed by transparent huge pages where Linux offers them.
//
// The first write to a fresh 4 KiB page costs a page fault. Deep RFM allocates matrices of
// hundreds of megabytes per layer (the solve's f64 copy of the kernel matrix, outputs of N x N
// products), and on virtual machines those faults can take longer than the arithmetic: 2.9 ms
// per MB measured on a 2-core VM, against 0.08 ms per MB once the range is advised to use 2 MiB
// pages. numpy advises its large arrays the same way. Elsewhere (other systems, Linux before
// 4.6, THP set to 'never', or NCGPU_HUGE_PAGES=0 in the environment) the advice is a no-op.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <memory>
#include <new>
#include <vector>

namespace ncgpu {

// Buffers smaller than this are left alone: they are served from the malloc heap, already
// touched, and a huge page would waste most of its 2 MiB.
constexpr size_t kHugePageMinBytes = size_t{4} << 20;

// Advises the whole 2 MiB pages inside [p, p + bytes) to be backed by huge pages. Call it before
// the range is first written; pages already present are left as they are. Returns whether the
// advice was given.
bool advise_huge_pages(void* p, size_t bytes);

// std::allocator for vectors that may grow large: on Linux, from kHugePageMinBytes on, memory is
// 2 MiB-aligned and advised before the vector's constructor touches it; elsewhere it is
// std::allocator.
template <class T>
struct HugePageAllocator {
  using value_type = T;
  HugePageAllocator() = default;
  template <class U>
  HugePageAllocator(const HugePageAllocator<U>&) {}

  T* allocate(size_t n) {
#if defined(__linux__)
    const size_t bytes = n * sizeof(T);
    if (bytes >= kHugePageMinBytes) {
      constexpr size_t kAlign = size_t{2} << 20;
      void* p = std::aligned_alloc(kAlign, (bytes + kAlign - 1) / kAlign * kAlign);
      if (!p) throw std::bad_alloc();
      advise_huge_pages(p, bytes);
      return static_cast<T*>(p);
    }
#endif
    return std::allocator<T>().allocate(n);
  }
  void deallocate(T* p, size_t n) {
#if defined(__linux__)
    if (n * sizeof(T) >= kHugePageMinBytes) {
      std::free(p);
      return;
    }
#endif
    std::allocator<T>().deallocate(p, n);
  }
  template <class U>
  bool operator==(const HugePageAllocator<U>&) const { return true; }
  template <class U>
  bool operator!=(const HugePageAllocator<U>&) const { return false; }
};

template <class T>
using LargeVector = std::vector<T, HugePageAllocator<T>>;

}  // namespace ncgpu
