#include "support/allocation_count.hpp"

#include <cstdlib>
#include <new>

// The sanitizers replace operator new themselves (TSan's runtime defines it in the same
// archive member as the aligned forms, so a second definition fails to link, and under ASan
// ours would hide new/delete mismatches): under them nothing is replaced or counted, and the
// [allocations] tests are not registered (tests/CMakeLists.txt).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define VIAL_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define VIAL_TEST_SANITIZED 1
#endif
#endif

namespace {

thread_local std::size_t allocations = 0;
thread_local std::size_t largest_size = 0;

#ifndef VIAL_TEST_SANITIZED

void* allocate(std::size_t size) {
  ++allocations;
  if (size > largest_size) largest_size = size;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
#endif

}  // namespace

#ifndef VIAL_TEST_SANITIZED

void* operator new(std::size_t size) { return allocate(size); }
void* operator new[](std::size_t size) { return allocate(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  ++allocations;
  return std::malloc(size == 0 ? 1 : size);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  ++allocations;
  return std::malloc(size == 0 ? 1 : size);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
#endif

namespace vial_test {

allocation_count::allocation_count() noexcept : start_(allocations) { largest_size = 0; }

std::size_t allocation_count::value() const noexcept { return allocations - start_; }

std::size_t allocation_count::largest() const noexcept { return largest_size; }

}  // namespace vial_test
