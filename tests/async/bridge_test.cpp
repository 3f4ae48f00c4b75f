#include "vial/async/bridge.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>
#include <thread>

#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "support/catch.hpp"
#include "support/log_capture.hpp"
#include "vial/async/timeout.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

vial::task<int> answer() { co_return 42; }

vial::task<void> fail() {
  co_await vial::sleep_for(1ms);
  throw std::runtime_error("boom");
}

struct sets_on_destroy {
  std::shared_ptr<std::atomic<bool>> flag;
  ~sets_on_destroy() { *flag = true; }
};

}  // namespace

TEST_CASE("async_to_sync returns the task's value", "[async][bridge]") {
  CHECK(vial::async_to_sync(answer()) == 42);
}

TEST_CASE("async_to_sync rethrows the task's exception", "[async][bridge]") {
  CHECK_THROWS_WITH(vial::async_to_sync(fail()), "boom");
  // The thread's context is usable again afterwards.
  CHECK(vial::async_to_sync(answer()) == 42);
}

TEST_CASE("async_to_sync runs the task on the calling thread", "[async][bridge]") {
  auto caller = std::this_thread::get_id();
  auto ran_on = vial::async_to_sync([]() -> vial::task<std::thread::id> {
    co_await vial::sleep_for(1ms);
    co_return std::this_thread::get_id();
  }());
  CHECK(ran_on == caller);
}

TEST_CASE("async_to_sync inside a driven coroutine throws bridge_error at once",
          "[async][bridge]") {
  auto nested = []() -> vial::task<int> { co_return vial::async_to_sync(answer()); };
  CHECK_THROWS_AS(vial::async_to_sync(nested()), vial::bridge_error);
  CHECK_THROWS_WITH(vial::async_to_sync(nested()), Catch::Contains("co_await the task instead"));
  CHECK_FALSE(vial::in_bridge());
}

TEST_CASE("work a task spawned and did not await never survives into the next call",
          "[async][bridge]") {
  vial::testing::log_capture log;
  auto fired = std::make_shared<std::atomic<bool>>(false);
  auto destroyed = std::make_shared<std::atomic<bool>>(false);

  auto leaky = [&]() -> vial::task<void> {
    auto ex = co_await asio::this_coro::executor;
    asio::co_spawn(
        ex,
        [](std::shared_ptr<std::atomic<bool>> f,
           [[maybe_unused]] sets_on_destroy guard) -> vial::task<void> {
          co_await vial::sleep_for(30ms);
          *f = true;
        }(fired, sets_on_destroy{destroyed}),
        asio::detached);
    co_return;
  };
  vial::async_to_sync(leaky(), {.label = "GET /leaky", .log = &log.logger()});

  CHECK(*destroyed);  // the spawned coroutine's frame is gone when the call returns
  CHECK(log.contains("GET /leaky"));
  CHECK(log.contains("still pending"));

  // The next request runs well past the leaked timer's deadline: it never fires.
  vial::async_to_sync(vial::sleep_for(80ms));
  CHECK_FALSE(*fired);
}

TEST_CASE("a log sink that throws while a run reports leftover work does not end the process",
          "[async][bridge]") {
  vial::logger throwing([](vial::log_level, std::string_view) { throw std::runtime_error("sink"); },
                        vial::log_level::debug);
  auto leaky = []() -> vial::task<int> {
    auto ex = co_await asio::this_coro::executor;
    asio::co_spawn(ex, vial::sleep_for(1h), asio::detached);
    co_return 3;
  };
  CHECK(vial::async_to_sync(leaky(), {.label = "GET /leaky", .log = &throwing}) == 3);
  CHECK(vial::async_to_sync(answer()) == 42);
}

TEST_CASE("a clean run logs nothing and reuses the context", "[async][bridge]") {
  vial::testing::log_capture log;
  for (int i = 0; i < 3; ++i) {
    CHECK(vial::async_to_sync(answer(), {.label = "GET /", .log = &log.logger()}) == 42);
  }
  CHECK(log.lines().empty());
}

TEST_CASE("an exception escaping posted work is logged, not lost", "[async][bridge]") {
  vial::testing::log_capture log;
  auto task = []() -> vial::task<int> {
    auto ex = co_await asio::this_coro::executor;
    asio::post(ex, [] { throw std::runtime_error("detached failure"); });
    co_await vial::sleep_for(5ms);
    co_return 7;
  };
  CHECK(vial::async_to_sync(task(), {.label = "GET /d", .log = &log.logger()}) == 7);
  CHECK(log.contains("detached failure"));
}

TEST_CASE("bridges on several threads are independent", "[async][bridge]") {
  std::atomic<int> sum{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) sum += vial::async_to_sync(answer());
    });
  }
  for (auto& t : threads) t.join();
  CHECK(sum == 4 * 50 * 42);
}

TEST_CASE("a task's cancellation settings stay with its run", "[async][bridge]") {
  auto throws_if_cancelled = [](bool set) -> vial::task<bool> {
    const bool before = co_await asio::this_coro::throw_if_cancelled();
    if (set) co_await asio::this_coro::throw_if_cancelled(false);
    co_return before;
  };
  CHECK(vial::async_to_sync(throws_if_cancelled(true)));
  CHECK(vial::async_to_sync(throws_if_cancelled(false)));
}

TEST_CASE("tasks that suspend and tasks that complete inline alternate on one thread",
          "[async][bridge]") {
  auto suspends = []() -> vial::task<int> {
    co_await vial::sleep_for(0ms);
    co_return 7;
  };
  for (int i = 0; i < 20; ++i) {
    CHECK(vial::async_to_sync(answer()) == 42);
    CHECK(vial::async_to_sync(suspends()) == 7);
    CHECK(vial::async_to_sync(suspends()) == 7);
    vial::async_to_sync(vial::sleep_for(0ms));
  }
}

TEST_CASE("after a run left work behind, the next runs start on a fresh context",
          "[async][bridge]") {
  vial::testing::log_capture log;
  // Posts itself again whenever it runs, so it is pending however the run ends.
  struct repost {
    asio::any_io_executor ex;
    void operator()() const { asio::post(ex, *this); }
  };
  auto leaky = []() -> vial::task<void> {
    auto ex = co_await asio::this_coro::executor;
    asio::post(ex, repost{ex});
    co_return;
  };
  vial::async_to_sync(leaky(), {.log = &log.logger()});
  CHECK(log.contains("still pending"));

  CHECK(vial::async_to_sync(answer()) == 42);
  vial::async_to_sync(vial::sleep_for(1ms));
  CHECK_THROWS_WITH(vial::async_to_sync(fail()), "boom");
  CHECK(vial::async_to_sync(answer()) == 42);
}

TEST_CASE("an exception thrown while creating the task is rethrown", "[async][bridge]") {
  auto throwing_factory = []() -> vial::task<int> { throw std::invalid_argument("factory"); };
  CHECK_THROWS_AS(vial::detail::bridge_call(throwing_factory, {}), std::invalid_argument);
  CHECK_FALSE(vial::in_bridge());
  CHECK(vial::async_to_sync(answer()) == 42);
}

// The portable path cannot tell a task that can never finish from one that waits: co_spawn's
// work guards keep its context from running out of work.
#if VIAL_BRIDGE_FAST_PATH
TEST_CASE("a task that can never finish throws, and the thread bridges again", "[async][bridge]") {
  // The task waits on an operation whose completion handler is kept outside the context and
  // never called, so the context runs out of work with the task unfinished.
  std::shared_ptr<void> kept_handler;
  auto stuck = [&]() -> vial::task<int> {
    co_await asio::async_initiate<const asio::use_awaitable_t<>, void()>(
        [&](auto handler) {
          kept_handler = std::make_shared<decltype(handler)>(std::move(handler));
        },
        asio::use_awaitable);
    co_return 1;
  };
  CHECK_THROWS_WITH(vial::async_to_sync(stuck()), Catch::Contains("can never finish"));
  CHECK_FALSE(vial::in_bridge());
  CHECK(vial::async_to_sync(answer()) == 42);

  // Dropping the handler unwinds the stuck coroutine through the context; the next run
  // reports that as leftover work and starts clean.
  kept_handler.reset();
  vial::testing::log_capture log;
  CHECK(vial::async_to_sync(answer(), {.log = &log.logger()}) == 42);
  CHECK(log.contains("still pending"));
  CHECK(vial::async_to_sync(answer()) == 42);
}

TEST_CASE("a lost task whose handler is called later does not reach the run in progress",
          "[async][bridge]") {
  std::function<void()> resume_lost;
  bool lost_finished = false;
  auto stuck = [&]() -> vial::task<int> {
    co_await asio::async_initiate<const asio::use_awaitable_t<>, void()>(
        [&](auto handler) {
          auto kept = std::make_shared<decltype(handler)>(std::move(handler));
          resume_lost = [kept] { std::move (*kept)(); };
        },
        asio::use_awaitable);
    lost_finished = true;
    co_return 7;
  };
  CHECK_THROWS_WITH(vial::async_to_sync(stuck()), Catch::Contains("can never finish"));

  // A later run, suspended, calls the lost handler: the lost task finishes, and its root, which
  // a new one has replaced, ends instead of recording 7 as this run's outcome.
  auto calls_lost = [&]() -> vial::task<int> {
    co_await vial::sleep_for(1ms);
    resume_lost();
    co_await vial::sleep_for(1ms);
    co_return 5;
  };
  vial::testing::log_capture log;
  CHECK(vial::async_to_sync(calls_lost(), {.log = &log.logger()}) == 5);
  CHECK(lost_finished);
  CHECK_FALSE(log.contains("still pending"));
  CHECK(vial::async_to_sync(answer()) == 42);
  resume_lost = nullptr;
}
#endif

TEST_CASE("a task whose operation completes inside its initiation", "[async][bridge]") {
  // The handler runs before the initiation returns, so the task finishes, and the root records
  // its outcome, while the run is still pushing the task.
  auto completes_at_once = []() -> vial::task<int> {
    co_await asio::async_initiate<const asio::use_awaitable_t<>, void()>(
        [](auto handler) { std::move(handler)(); }, asio::use_awaitable);
    co_return 9;
  };
  auto throws_at_once = []() -> vial::task<int> {
    co_await asio::async_initiate<const asio::use_awaitable_t<>, void()>(
        [](auto handler) { std::move(handler)(); }, asio::use_awaitable);
    throw std::runtime_error("after the inline completion");
  };
  for (int i = 0; i < 3; ++i) {
    CHECK(vial::async_to_sync(completes_at_once()) == 9);
    CHECK_THROWS_WITH(vial::async_to_sync(throws_at_once()),
                      Catch::Contains("after the inline completion"));
    CHECK(vial::async_to_sync(answer()) == 42);
  }
}
