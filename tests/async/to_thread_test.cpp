#include "vial/async/to_thread.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
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
  CHECK_THROWS_WITH(vial::async_to_sync(
                        vial::to_thread([]() -> int { throw std::runtime_error("disk on fire"); })),
                    "disk on fire");
}

TEST_CASE("two gathered 100 ms blocking calls take about 100 ms, not 200", "[async][to_thread]") {
  vial::blocking_pool pool(2);
  auto block = [] {
    std::this_thread::sleep_for(100ms);
    return 1;
  };
  auto start = clock_type::now();
  auto [a, b] =
      vial::async_to_sync(vial::gather(vial::to_thread(pool, block), vial::to_thread(pool, block)));
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

namespace {

/// Holds a pool thread until opened.
struct latch {
  std::mutex mutex;
  std::condition_variable cv;
  bool open = false;
  void wait() {
    std::unique_lock lock(mutex);
    cv.wait_for(lock, 10s, [&] { return open; });
  }
  void release() {
    {
      std::lock_guard lock(mutex);
      open = true;
    }
    cv.notify_all();
  }
};

/// Waits (bounded) until `pool` has nothing running or queued.
bool drained(const vial::blocking_pool& pool) {
  const auto deadline = clock_type::now() + 5s;
  while (pool.busy() + pool.queued() > 0) {
    if (clock_type::now() > deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

}  // namespace

TEST_CASE("a blocking pool counts busy threads and queued work and refuses work past its bound",
          "[async][to_thread][overload]") {
  vial::blocking_pool pool(2, 1);
  CHECK(pool.size() == 2);
  CHECK(pool.max_queued() == 1);
  latch gate;
  CHECK(pool.try_submit([&] { gate.wait(); }));
  CHECK(pool.try_submit([&] { gate.wait(); }));
  CHECK(pool.try_submit([] {}));  // waits: the one queue entry
  bool ran = false;
  CHECK_FALSE(pool.try_submit([&] { ran = true; }));
  CHECK(pool.busy() == 2);
  CHECK(pool.queued() == 1);
  pool.submit([] {});  // submit ignores the bound
  CHECK(pool.queued() == 2);
  gate.release();
  CHECK(drained(pool));
  CHECK_FALSE(ran);
  CHECK(pool.try_submit([] {}));
}

TEST_CASE("to_thread on a saturated pool fails at once with overload_error and skips the work",
          "[async][to_thread][overload]") {
  vial::blocking_pool pool(1, 1);
  latch gate;
  pool.submit([&] { gate.wait(); });
  pool.submit([] {});  // fills the queue
  std::atomic<bool> ran{false};
  const auto start = clock_type::now();
  CHECK_THROWS_WITH(vial::async_to_sync(vial::to_thread(pool, [&] { ran = true; })),
                    "blocking pool saturated: 1 of 1 threads busy, 1 queued (limit 1)");
  CHECK(clock_type::now() - start < 1s);
  gate.release();
  CHECK(drained(pool));
  CHECK_FALSE(ran.load());
  // Once there is room again, work is accepted.
  CHECK(vial::async_to_sync(vial::to_thread(pool, [] { return 7; })) == 7);
}

TEST_CASE("blocking work cancelled while it waits for a thread never runs",
          "[async][to_thread][overload]") {
  vial::blocking_pool pool(1);
  latch gate;
  pool.submit([&] { gate.wait(); });
  std::atomic<bool> written{false};
  CHECK_THROWS_AS(
      vial::async_to_sync(vial::with_timeout(vial::to_thread(pool, [&] { written = true; }), 50ms)),
      vial::timeout_error);
  gate.release();
  CHECK(drained(pool));
  CHECK_FALSE(written.load());  // the caller saw a timeout, so nothing was written
}
