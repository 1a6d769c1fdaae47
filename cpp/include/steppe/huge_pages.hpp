// Large matrices (rows x replicates) are filled once and read many times; on
// Linux they are backed by transparent huge pages when the system allows it.
#pragma once

#include <cstddef>
#include <cstdint>

#ifdef __linux__
#include <sys/mman.h>
#endif

namespace steppe {

/// Asks Linux for transparent huge pages on a large, not yet touched buffer:
/// filling hundreds of MB in 4 KiB pages costs more in page faults than in
/// copying (numpy does the same for its large arrays). A hint only; elsewhere
/// a no-op.
inline void advise_huge_pages([[maybe_unused]] void* data, [[maybe_unused]] size_t bytes) {
#ifdef __linux__
  constexpr uintptr_t kHuge = uintptr_t{1} << 21;  // 2 MiB
  if (bytes < 4 * kHuge) return;
  const auto begin = (reinterpret_cast<uintptr_t>(data) + kHuge - 1) & ~(kHuge - 1);
  const auto end = (reinterpret_cast<uintptr_t>(data) + bytes) & ~(kHuge - 1);
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#endif
}

}  // namespace steppe
