#include "vial/async/to_thread.hpp"

#include <chrono>
#include <stdexcept>
#include <thread>

#include "support/catch.hpp"
#include "vial/async/bridge.hpp"
#include "vial/async/gather.hpp"
#include "vial/async/timeout.hpp"

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

TEST_CASE("to_thread runs blocking code on another thread and returns its value",
          "[async][to_thread]") {
  auto caller = std::this_thread::get_id();
  auto [value, ran_on] = vial::async_to_sync([]() -> vial::task<std::pair<int, std::thread::id>> {
    auto id = co_await vial::to_thread([] { return std::this_thread::get_id(); });
    int v = co_await vial::to_thread([] { return 21 * 2; });
    co_return std::pair{v, id};
  }());
  CHECK(value == 42);
  CHECK(ran_on != caller);
}

TEST_CASE("to_thread rethrows the blocking code's exception", "[async][to_thread]") {
  CHECK_THROWS_WITH(vial::async_to_sync(vial::to_thread([]() -> int {
                      throw std::runtime_error("disk on fire");
                    })),
                    "disk on fire");
}

TEST_CASE("two gathered 100 ms blocking calls take about 100 ms, not 200",
          "[async][to_thread]") {
  vial::blocking_pool pool(2);
  auto block = [] {
    std::this_thread::sleep_for(100ms);
    return 1;
  };
  auto start = clock_type::now();
  auto [a, b] = vial::async_to_sync(
      vial::gather(vial::to_thread(pool, block), vial::to_thread(pool, block)));
  auto elapsed = clock_type::now() - start;
  CHECK(a + b == 2);
  CHECK(elapsed < 190ms);
}

TEST_CASE("a bounded pool queues work beyond its threads", "[async][to_thread]") {
  vial::blocking_pool pool(1);
  auto block = [] {
    std::this_thread::sleep_for(50ms);
    return 1;
  };
  auto start = clock_type::now();
  vial::async_to_sync(vial::gather(vial::to_thread(pool, block), vial::to_thread(pool, block)));
  CHECK(clock_type::now() - start >= 100ms);
}

TEST_CASE("a timeout does not wait for blocking work to finish", "[async][to_thread]") {
  vial::blocking_pool pool(1);
  auto start = clock_type::now();
  CHECK_THROWS_AS(vial::async_to_sync(vial::with_timeout(
                      vial::to_thread(pool, [] { std::this_thread::sleep_for(200ms); }), 20ms)),
                  vial::timeout_error);
  CHECK(clock_type::now() - start < 150ms);
}

TEST_CASE("the bridge's pool is the one to_thread uses", "[async][to_thread]") {
  vial::blocking_pool pool(1);
  vial::blocking_pool* seen = nullptr;
  vial::async_to_sync(
      [&]() -> vial::task<void> {
        seen = &vial::current_blocking_pool();
        co_return;
      }(),
      {.pool = &pool});
  CHECK(seen == &pool);
}
