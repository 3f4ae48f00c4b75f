#pragma once

// Counts allocations through the global operator new on the calling thread, for tests that pin
// how many a step takes. A module using it lists support/allocation_count.cpp among its
// sources, which replaces operator new and delete in that test executable (not under a
// sanitizer, which owns them: tag such tests [allocations], and they run in the plain build).

#include <cstddef>

namespace vial_test {

/// Allocations made on this thread since construction, and the largest of them (since the
/// thread's latest counter was made). Distinct objects: safe. Shared objects: unsafe.
class allocation_count {
 public:
  allocation_count() noexcept;
  std::size_t value() const noexcept;
  std::size_t largest() const noexcept;

 private:
  std::size_t start_;
};

}  // namespace vial_test
