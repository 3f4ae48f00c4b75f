#include "vial/async/background.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "support/catch.hpp"
#include "support/log_capture.hpp"
#include "vial/async/timeout.hpp"

using namespace std::chrono_literals;

TEST_CASE("background coroutine work runs to completion after the caller returned",
          "[async][background]") {
  vial::background_executor ex(1);
  std::atomic<bool> sent{false};
  auto h = ex.spawn(
      [](std::atomic<bool>& flag) -> vial::task<void> {
        co_await vial::sleep_for(20ms);
        flag = true;
      }(sent),
      "send-email");
  CHECK(h.valid());
  CHECK(h.id().rfind("bg-", 0) == 0);
  REQUIRE(h.wait_for(2s));
  CHECK(h.state() == vial::background_state::done);
  CHECK(sent);
}

TEST_CASE("background state moves from queued to running to done", "[async][background]") {
  vial::background_executor ex(1);
  std::atomic<bool> release{false};
  auto blocker = ex.submit([&] {
    while (!release) std::this_thread::sleep_for(1ms);
  });
  auto queued = ex.submit([] {});
  CHECK(queued.state() == vial::background_state::queued);
  for (int i = 0; i < 1000 && blocker.state() != vial::background_state::running; ++i) {
    std::this_thread::sleep_for(1ms);
  }
  CHECK(blocker.state() == vial::background_state::running);
  release = true;
  REQUIRE(queued.wait_for(2s));
  CHECK(queued.state() == vial::background_state::done);
}

TEST_CASE("a failing background task is logged and reported, never dropped",
          "[async][background]") {
  vial::testing::log_capture log;
  vial::background_executor ex(1, &log.logger());
  auto h = ex.submit([] { throw std::runtime_error("smtp down"); }, "send-email");
  REQUIRE(h.wait_for(2s));
  CHECK(h.state() == vial::background_state::failed);
  CHECK(h.error() == "smtp down");
  CHECK(log.contains("send-email"));
  CHECK(log.contains("smtp down"));
}

TEST_CASE("drain waits for pending work within its deadline", "[async][background]") {
  vial::background_executor ex(2);
  std::atomic<int> done{0};
  for (int i = 0; i < 5; ++i) {
    ex.spawn([](std::atomic<int>& d) -> vial::task<void> {
      co_await vial::sleep_for(20ms);
      ++d;
    }(done));
  }
  CHECK(ex.drain(2s) == 0);
  CHECK(done == 5);
  CHECK_THROWS_AS(ex.submit([] {}), std::logic_error);
}

TEST_CASE("drain abandons work past its deadline and reports it", "[async][background]") {
  vial::testing::log_capture log;
  vial::background_executor ex(1, &log.logger());
  std::atomic<bool> finished{false};
  auto h = ex.spawn(
      [](std::atomic<bool>& f) -> vial::task<void> {
        co_await vial::sleep_for(10s);
        f = true;
      }(finished),
      "slow-report");
  CHECK(ex.drain(30ms) == 1);
  CHECK(h.state() == vial::background_state::abandoned);
  CHECK(log.contains("slow-report"));
  CHECK(log.contains("abandoned"));
  CHECK_FALSE(finished);
}

TEST_CASE("finishing work costs the same however much other work is live", "[async][background]") {
  // 100k live entries: removal by search made each finish walk the whole live set (minutes of
  // CPU here); with constant-time removal the whole batch takes well under a second.
  constexpr int count = 100'000;
  vial::background_executor ex(1);
  std::atomic<bool> release{false};
  ex.submit([&] {
    while (!release) std::this_thread::sleep_for(1ms);
  });
  std::atomic<int> done{0};
  for (int i = 0; i < count; ++i) ex.submit([&] { ++done; });
  CHECK(ex.pending() == count + 1);
  const auto start = std::chrono::steady_clock::now();
  release = true;
  while (ex.pending() > 0 && std::chrono::steady_clock::now() - start < 60s) {
    std::this_thread::sleep_for(5ms);
  }
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(done == count);
  CHECK(ex.pending() == 0);
  CHECK(took < 10s);
}

TEST_CASE("a coroutine lambda passed to submit is run, not dropped", "[async][background]") {
  vial::background_executor ex(1);
  std::atomic<bool> ran{false};
  auto h = ex.submit(
      [&ran]() -> vial::task<void> {
        co_await vial::sleep_for(5ms);
        ran = true;
      },
      "coroutine-lambda");
  REQUIRE(h.wait_for(2s));
  CHECK(h.state() == vial::background_state::done);
  CHECK(ran);
}

TEST_CASE("a coroutine lambda's captures live until its coroutine finished",
          "[async][background]") {
  vial::background_executor ex(1);
  std::string seen;
  vial::background_handle h;
  {
    // The closure is a temporary of this scope; the executor must keep its own.
    std::string greeting(64, 'x');  // past the small-string buffer: a freed heap block under ASan
    h = ex.submit([greeting, &seen]() -> vial::task<void> {
      co_await vial::sleep_for(20ms);
      seen = greeting;
    });
  }
  REQUIRE(h.wait_for(2s));
  CHECK(h.state() == vial::background_state::done);
  CHECK(seen == std::string(64, 'x'));
}

TEST_CASE("a coroutine lambda that throws is reported failed", "[async][background]") {
  vial::testing::log_capture log;
  vial::background_executor ex(1, &log.logger());
  auto h = ex.submit(
      []() -> vial::task<void> {
        co_await vial::sleep_for(1ms);
        throw std::runtime_error("cache offline");
      },
      "warm-cache");
  REQUIRE(h.wait_for(2s));
  CHECK(h.state() == vial::background_state::failed);
  CHECK(h.error() == "cache offline");
  CHECK(log.contains("warm-cache"));
}

TEST_CASE("move-only plain work is accepted", "[async][background]") {
  vial::background_executor ex(1);
  auto value = std::make_unique<int>(7);
  std::atomic<int> seen{0};
  auto h = ex.submit([v = std::move(value), &seen] { seen = *v; });
  REQUIRE(h.wait_for(2s));
  CHECK(seen == 7);
}
