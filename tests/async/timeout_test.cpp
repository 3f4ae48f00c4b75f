#include "vial/async/timeout.hpp"

#include <atomic>
#include <chrono>
#include <stdexcept>

#include "support/catch.hpp"
#include "vial/async/bridge.hpp"

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

TEST_CASE("sleep_for suspends for about the duration", "[async][timeout]") {
  auto start = clock_type::now();
  vial::async_to_sync(vial::sleep_for(30ms));
  CHECK(clock_type::now() - start >= 30ms);
}

TEST_CASE("with_timeout returns the value when the work finishes in time", "[async][timeout]") {
  auto work = []() -> vial::task<int> {
    co_await vial::sleep_for(5ms);
    co_return 9;
  };
  CHECK(vial::async_to_sync(vial::with_timeout(work(), 500ms)) == 9);
}

TEST_CASE("with_timeout cancels late work and throws timeout_error", "[async][timeout]") {
  std::atomic<bool> side_effect{false};
  auto work = [&]() -> vial::task<void> {
    co_await vial::sleep_for(100ms);
    side_effect = true;
  };
  auto start = clock_type::now();
  CHECK_THROWS_AS(vial::async_to_sync(vial::with_timeout(work(), 20ms)), vial::timeout_error);
  CHECK(clock_type::now() - start < 90ms);
  vial::async_to_sync(vial::sleep_for(150ms));
  CHECK_FALSE(side_effect);  // scheduled after the deadline: never happened
}

TEST_CASE("with_timeout's message says how long it waited", "[async][timeout]") {
  CHECK_THROWS_WITH(vial::async_to_sync(vial::with_timeout(vial::sleep_for(1s), 10ms)),
                    "operation timed out after 10 ms");
}

TEST_CASE("work that catches the cancellation cannot await again", "[async][timeout]") {
  std::atomic<bool> resumed{false};
  auto stubborn = [&]() -> vial::task<void> {
    try {
      co_await vial::sleep_for(100ms);
    } catch (...) {
    }
    co_await vial::sleep_for(1ms);  // throws: the coroutine was cancelled
    resumed = true;
  };
  CHECK_THROWS_AS(vial::async_to_sync(vial::with_timeout(stubborn(), 10ms)), vial::timeout_error);
  CHECK_FALSE(resumed);
}

TEST_CASE("with_timeout rethrows a fast failure at once, not at the deadline", "[async][timeout]") {
  auto failing = []() -> vial::task<int> {
    co_await vial::sleep_for(1ms);
    throw std::runtime_error("upstream refused");
  };
  auto start = clock_type::now();
  CHECK_THROWS_WITH(vial::async_to_sync(vial::with_timeout(failing(), 2s)), "upstream refused");
  CHECK(clock_type::now() - start < 1s);
}

TEST_CASE("with_timeout works with void tasks", "[async][timeout]") {
  CHECK_NOTHROW(vial::async_to_sync(vial::with_timeout(vial::sleep_for(1ms), 1s)));
  CHECK_THROWS_AS(vial::async_to_sync(vial::with_timeout(vial::sleep_for(1s), 5ms)),
                  vial::timeout_error);
}
