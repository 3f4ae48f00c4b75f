#include "server/memory_trim.hpp"

#include <chrono>
#include <cstddef>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/catch.hpp"
#include "vial/app.hpp"
#include "vial/app/metrics.hpp"
#include "vial/log.hpp"
#include "vial/server/server.hpp"
#include "vial/testing/test_client.hpp"

using namespace std::chrono_literals;
using vial::server_detail::memory_trimmer;
using vial::server_detail::memory_trims;
using vial::server_detail::read_memory_figures;
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
  const auto trims_before = memory_trims();
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
  CHECK(memory_trims() >= trims_before + 1);  // what /metrics reports
  CHECK(retained_free_bytes() < idle + 16 * mib);
}

TEST_CASE("a zero trim threshold trims nothing", "[server][memory]") {
  vial::logger quiet(nullptr);
  memory_trimmer trimmer(0, 1ms, quiet);
  auto kept = fragment_an_arena();
  std::this_thread::sleep_for(50ms);
  CHECK(trimmer.trims() == 0);
}

TEST_CASE("the memory figures count live malloc blocks apart from resident memory",
          "[server][memory]") {
  const auto before = read_memory_figures();
  CHECK(before.resident > 0);
  if (!glibc_malloc) {
    WARN("needs glibc's malloc (not a sanitizer's)");
    return;
  }
  // 8 MiB in 64 KiB blocks, below the mmap threshold: live arena chunks, touched.
  std::vector<std::unique_ptr<char[]>> blocks(128);
  for (auto& b : blocks) {
    b.reset(new char[64 * 1024]);
    std::memset(b.get(), 1, 64 * 1024);
  }
  const auto during = read_memory_figures();
  CHECK(during.malloc_live >= before.malloc_live + 8 * mib);
  blocks.clear();
  const auto after = read_memory_figures();
  CHECK(after.malloc_live + 8 * mib <= during.malloc_live);
}

TEST_CASE("a server that trims memory adds the process's memory figures to the app's metrics",
          "[server][memory][metrics]") {
  vial::app app;
  vial::add_metrics_route(app);
  vial::test_client client(app);
  CHECK(client.get("/metrics").text().find("vial_malloc_in_use_bytes") == std::string::npos);

  SECTION("trim on (the default)") {
    vial::server srv(app, {.port = 0});
    srv.start();
    const auto text = client.get("/metrics").text();
    for (const char* name : {"\nvial_process_resident_bytes ", "\nvial_malloc_in_use_bytes ",
                             "\nvial_malloc_free_bytes ", "\nvial_memory_trims_total ",
                             "# TYPE vial_memory_trims_total counter\n"}) {
      INFO(name);
      CHECK(text.find(name) != std::string::npos);
    }
    const auto found = text.find("\nvial_process_resident_bytes ");
    REQUIRE(found != std::string::npos);
    const auto at = found + 29;
    CHECK(std::stod(text.substr(at, text.find('\n', at) - at)) > 0);
    srv.stop();
  }
  SECTION("trim off: the program manages memory, the server reports none of it") {
    vial::server srv(app, {.port = 0, .memory_trim_threshold = 0});
    srv.start();
    CHECK(client.get("/metrics").text().find("vial_malloc") == std::string::npos);
    srv.stop();
  }
}
