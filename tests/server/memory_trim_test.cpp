#include "server/memory_trim.hpp"

#include <chrono>
#include <cstddef>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/catch.hpp"
#include "support/eventually.hpp"
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
using vial::server_detail::trim_trigger;

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

// True, after saying why, where there is no glibc malloc to look at (under a sanitizer, ctest
// does not register the cases that need nothing else). A skip, not a case without assertions.
bool skipped_without_glibc_malloc() {
  if (glibc_malloc) return false;
  WARN("needs glibc's malloc (not a sanitizer's)");
  SUCCEED("skipped");
  return true;
}

constexpr std::size_t mib = 1024 * 1024;

/// On a thread of its own (so in an arena of its own, as on a server thread): `bytes` in 1 KiB
/// blocks, then frees all but every 64th. The free memory lies between live blocks, where
/// free() alone never returns it. Returns the survivors.
std::vector<std::unique_ptr<char[]>> fragment_an_arena(std::size_t bytes = 64 * mib) {
  std::vector<std::unique_ptr<char[]>> kept;
  std::thread([&] {
    std::vector<std::unique_ptr<char[]>> blocks(bytes / 1024);
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
          "[server][memory][glibc-malloc]") {
  if (skipped_without_glibc_malloc()) return;
  vial::logger silent(nullptr);
  const auto trims_before = memory_trims();
  memory_trimmer trimmer(16 * mib, 200ms, 1h, silent);
  std::this_thread::sleep_for(20ms);  // the trimmer took its first measurement
  const auto idle = retained_free_bytes();
  auto kept = fragment_an_arena();
  INFO("retained: " << idle / mib << " MiB idle, " << retained_free_bytes() / mib
                    << " MiB after the burst");
  CHECK(vial::test::eventually([&] { return trimmer.trims() >= 1; }, 10s));
  CHECK(memory_trims() >= trims_before + 1);  // what /metrics reports
  std::uint64_t timed = 0;
  for (auto n : vial::server_detail::memory_trim_durations().counts) timed += n;
  CHECK(timed == memory_trims());
  CHECK(retained_free_bytes() < idle + 16 * mib);
}

TEST_CASE("what a burst left below the threshold is handed back once the memory is quiet",
          "[server][memory][glibc-malloc]") {
  if (skipped_without_glibc_malloc()) return;
  vial::logger silent(nullptr);
  memory_trimmer trimmer(32 * mib, 50ms, 300ms, silent);
  std::this_thread::sleep_for(20ms);  // the trimmer took its first measurement
  const auto idle = retained_free_bytes();
  auto kept = fragment_an_arena(24 * mib);  // about 23 MiB retained: under 32, over 8
  INFO("retained: " << idle / mib << " MiB idle, " << retained_free_bytes() / mib
                    << " MiB after the burst");
  CHECK(vial::test::eventually([&] { return trimmer.trims() >= 1; }, 10s));
  CHECK(retained_free_bytes() < idle + 8 * mib);
}

TEST_CASE("a zero trim threshold trims nothing", "[server][memory]") {
  vial::logger silent(nullptr);
  memory_trimmer trimmer(0, 1ms, 1ms, silent);
  auto kept = fragment_an_arena();
  std::this_thread::sleep_for(50ms);
  CHECK(trimmer.trims() == 0);
}

// The trigger alone: figures in MB and seconds as a server checks them, no allocator.
namespace {
constexpr std::size_t mb = 1000 * 1000;
const trim_trigger::clock::time_point t0{};
trim_trigger::clock::time_point at(double seconds) {
  return t0 + std::chrono::duration_cast<trim_trigger::clock::duration>(
                  std::chrono::duration<double>(seconds));
}
}  // namespace

TEST_CASE("a trim is due at once when the retained memory grew by the threshold",
          "[server][memory]") {
  trim_trigger trigger(16 * mib, 5s, 20 * mb, at(0));
  CHECK_FALSE(trigger.due(30 * mb, at(1)));
  CHECK(trigger.due(38 * mb, at(2)));  // 18 MB over the bar, still growing
  trigger.trimmed(21 * mb, at(2));
  CHECK_FALSE(trigger.due(21 * mb, at(3)));
}

TEST_CASE("what a burst left under the threshold is due once it has been quiet for a while",
          "[server][memory]") {
  // The attack on /users after the others, in vial-examples: 20.2 MB held beyond live blocks
  // before it, 29.9 MB after, so 9.7 MB: never 16 MiB over the bar, but over a quarter of it.
  trim_trigger trigger(16 * mib, 5s, 20.2 * mb, at(0));
  CHECK_FALSE(trigger.due(23 * mb, at(1)));
  CHECK_FALSE(trigger.due(27 * mb, at(2)));
  CHECK_FALSE(trigger.due(29.9 * mb, at(3)));  // the last growth
  for (int s = 4; s < 8; ++s) {
    INFO(s << " s");
    CHECK_FALSE(trigger.due(29.9 * mb - (s % 2) * 300'000, at(s)));  // quiet, not for long
  }
  CHECK(trigger.due(29.8 * mb, at(8)));
  trigger.trimmed(21 * mb, at(8));
  for (int s = 9; s < 60; ++s) CHECK_FALSE(trigger.due(21 * mb, at(s)));
}

TEST_CASE(
    "growth that goes on postpones the quiet trim, and under a quarter of the threshold "
    "none comes",
    "[server][memory]") {
  trim_trigger trigger(16 * mib, 5s, 10 * mb, at(0));
  for (int s = 1; s <= 6; ++s) CHECK_FALSE(trigger.due((10 + 2 * s) * mb, at(s)));  // to 22
  CHECK_FALSE(trigger.due(22 * mb, at(10)));
  CHECK(trigger.due(22 * mb, at(11)));  // 5 s after the last growth

  trim_trigger small(16 * mib, 5s, 10 * mb, at(0));
  CHECK_FALSE(small.due(14 * mb, at(1)));  // 4 MB: under 4 MiB
  for (int s = 2; s < 120; ++s) CHECK_FALSE(small.due(14 * mb, at(s)));
}

TEST_CASE("a heap that wobbles under steady load is not trimmed over and over",
          "[server][memory]") {
  trim_trigger trigger(16 * mib, 5s, 20 * mb, at(0));
  CHECK_FALSE(trigger.due(30 * mb, at(1)));
  CHECK(trigger.due(30 * mb, at(6)));
  trigger.trimmed(22 * mb, at(6));
  // Ten minutes of a load whose heap takes back up to 3 MB between 22 and 25 MB: no trim.
  int trims = 0;
  for (int s = 7; s < 607; ++s) {
    if (trigger.due((22 + s % 4) * mb, at(s))) ++trims;
  }
  CHECK(trims == 0);
  // A trim that released nothing raises the bar: it is not repeated.
  CHECK_FALSE(trigger.due(30 * mb, at(700)));
  CHECK(trigger.due(30 * mb, at(705)));
  trigger.trimmed(30 * mb, at(705));
  for (int s = 706; s < 800; ++s) CHECK_FALSE(trigger.due(30 * mb, at(s)));
}

TEST_CASE("the bar follows the retained memory down", "[server][memory]") {
  trim_trigger trigger(16 * mib, 5s, 20 * mb, at(0));
  CHECK_FALSE(trigger.due(12 * mb, at(1)));
  CHECK_FALSE(trigger.due(17 * mb, at(2)));  // growth from the new low: 5 MB over it
  CHECK_FALSE(trigger.due(17 * mb, at(6)));
  CHECK(trigger.due(17 * mb, at(7)));  // quiet for 5 s
}

TEST_CASE("the memory figures count live malloc blocks apart from resident memory",
          "[server][memory]") {
  const auto before = read_memory_figures();
  CHECK(before.resident > 0);
  if (skipped_without_glibc_malloc()) return;
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
                             "# TYPE vial_memory_trims_total counter\n",
                             "# TYPE vial_memory_trim_duration_seconds histogram\n"}) {
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
