#include "server/memory_trim.hpp"

#include <chrono>
#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

#include "support/catch.hpp"
#include "vial/log.hpp"

using namespace std::chrono_literals;
using vial::server_detail::memory_trimmer;
using vial::server_detail::retained_free_bytes;

namespace {

// The trimmer works on glibc's malloc; a sanitizer brings its own allocator.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define VIAL_TEST_OWN_ALLOCATOR 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define VIAL_TEST_OWN_ALLOCATOR 1
#endif
#endif
#if defined(__GLIBC__) && !defined(VIAL_TEST_OWN_ALLOCATOR)
constexpr bool glibc_malloc = true;
#else
constexpr bool glibc_malloc = false;
#endif

constexpr std::size_t mib = 1024 * 1024;

/// On a thread of its own (so in an arena of its own, as on a server thread): 64 MiB in 1 KiB
/// blocks, then frees all but every 64th. The free memory lies between live blocks, where
/// free() alone never returns it. Returns the survivors.
std::vector<std::unique_ptr<char[]>> fragment_an_arena() {
  std::vector<std::unique_ptr<char[]>> kept;
  std::thread([&] {
    std::vector<std::unique_ptr<char[]>> blocks(64 * 1024);
    for (auto& b : blocks) {
      b.reset(new char[1024]);
      b[0] = 1;  // touched: resident
      b[1023] = 1;
    }
    for (std::size_t i = 0; i < blocks.size(); i += 64) kept.push_back(std::move(blocks[i]));
  }).join();
  return kept;
}

}  // namespace

TEST_CASE("free memory left between live blocks after a burst is handed back to the system",
          "[server][memory]") {
  if (!glibc_malloc) {
    WARN("needs glibc's malloc (not a sanitizer's)");
    return;
  }
  vial::logger quiet(nullptr);
  memory_trimmer trimmer(16 * mib, 200ms, quiet);
  std::this_thread::sleep_for(20ms);  // the trimmer took its first measurement
  const auto idle = retained_free_bytes();
  auto kept = fragment_an_arena();
  INFO("retained: " << idle / mib << " MiB idle, " << retained_free_bytes() / mib
                    << " MiB after the burst");
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (trimmer.trims() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  CHECK(trimmer.trims() >= 1);
  CHECK(retained_free_bytes() < idle + 16 * mib);
}

TEST_CASE("a zero trim threshold trims nothing", "[server][memory]") {
  vial::logger quiet(nullptr);
  memory_trimmer trimmer(0, 1ms, quiet);
  auto kept = fragment_an_arena();
  std::this_thread::sleep_for(50ms);
  CHECK(trimmer.trims() == 0);
}
