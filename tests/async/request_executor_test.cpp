#include "vial/detail/request_executor.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "support/catch.hpp"
#include "support/log_capture.hpp"
#include "vial/async/bridge.hpp"
#include "vial/async/timeout.hpp"
#include "vial/async/to_thread.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;
using vial::detail::request_executor;
using vial::detail::request_scope;

namespace {

struct scope_fixture {
  vial::testing::log_capture log;
  asio::io_context context{1};
  std::shared_ptr<request_scope> scope = std::make_shared<request_scope>(
      asio::make_strand(context),
      vial::detail::request_scope_options{.label = "GET /x", .log = &log.logger()});
  request_executor executor() { return request_executor(scope); }
};

}  // namespace

TEST_CASE("a request executor counts the work tracked through it in its scope",
          "[async][request_executor]") {
  scope_fixture f;
  auto ex = f.executor();
  CHECK(f.scope->outstanding() == 0);
  {
    auto tracked = asio::prefer(ex, asio::execution::outstanding_work.tracked);
    CHECK(f.scope->outstanding() == 1);
    auto copy = tracked;
    CHECK(f.scope->outstanding() == 2);
    auto untracked = asio::prefer(copy, asio::execution::outstanding_work.untracked);
    CHECK(f.scope->outstanding() == 2);
  }
  CHECK(f.scope->outstanding() == 0);
  // Erased as every coroutine's executor is, it is still found by its type.
  asio::any_io_executor erased = ex;
  CHECK(erased.target<request_executor>() != nullptr);
  CHECK(erased.target<request_executor>()->scope() == f.scope.get());
}

TEST_CASE("a request executor fits any_io_executor's inline buffer, tracked or not",
          "[async][request_executor]") {
  // Each pending timer, co_spawn and to_thread keeps a tracked copy erased as an
  // any_io_executor: one heap block each if the executor does not fit inline.
  scope_fixture f;
  auto inline_in = [](const asio::any_io_executor& erased) {
    const auto* target = reinterpret_cast<const char*>(erased.target<request_executor>());
    const auto* begin = reinterpret_cast<const char*>(&erased);
    return target >= begin && target < begin + sizeof(erased);
  };
  asio::any_io_executor plain = f.executor();
  asio::any_io_executor tracked =
      asio::prefer(f.executor(), asio::execution::outstanding_work.tracked);
  CHECK(inline_in(plain));
  CHECK(inline_in(tracked));
  CHECK(f.scope->outstanding() == 1);
}

TEST_CASE("a pending timer is the request's work until it completes", "[async][request_executor]") {
  scope_fixture f;
  bool fired = false;
  asio::steady_timer timer(f.context);
  timer.expires_after(1ms);
  timer.async_wait(
      asio::bind_executor(f.executor(), [&](boost::system::error_code) { fired = true; }));
  CHECK(f.scope->outstanding() > 0);
  f.context.run();
  CHECK(fired);
  CHECK(f.scope->outstanding() == 0);
  CHECK_FALSE(f.scope->finish());  // nothing left: no warning
  CHECK(f.log.lines().empty());
}

TEST_CASE("finishing with work left warns with the label and drops later completions unrun",
          "[async][request_executor]") {
  scope_fixture f;
  auto ran = std::make_shared<std::atomic<bool>>(false);
  asio::co_spawn(
      f.executor(),
      [](std::shared_ptr<std::atomic<bool>> r) -> vial::task<void> {
        co_await vial::sleep_for(5ms);
        *r = true;
      }(ran),
      asio::detached);
  f.context.poll();  // started, now waiting on its timer
  CHECK(f.scope->finish());
  CHECK(f.log.contains("GET /x: work spawned by the coroutine was still pending"));
  CHECK(f.scope->cancelled());
  f.context.run();  // the timer fires; its completion is destroyed, and the frame with it
  CHECK_FALSE(*ran);
  CHECK(f.scope->outstanding() == 0);
}

TEST_CASE("each resumption in a scope sets the pool and refuses a nested async_to_sync",
          "[async][request_executor]") {
  vial::blocking_pool pool(1);
  // Shared with the scope, so the pool thread that posts the completion keeps it alive until
  // its post returns (a post signals the context after releasing its lock).
  auto context = std::make_shared<asio::io_context>(1);
  auto scope = std::make_shared<request_scope>(
      context->get_executor(),
      vial::detail::request_scope_options{.label = "GET /y", .pool = &pool}, context);
  std::string seen;
  asio::co_spawn(
      request_executor(scope),
      [&]() -> vial::task<void> {
        auto work = [] { return 1; };
        co_await vial::to_thread(work);
        seen += &vial::current_blocking_pool() == &pool ? "scope pool" : "other pool";
        seen += vial::detail::current_request_scope() == scope.get() ? ";in scope" : "";
        auto inner = []() -> vial::task<int> { co_return 1; };
        try {
          vial::async_to_sync(inner());
        } catch (const vial::bridge_error&) {
          seen += ";bridge_error";
        }
      },
      asio::detached);
  context->run();
  CHECK(seen == "scope pool;in scope;bridge_error");
  CHECK(vial::detail::current_request_scope() == nullptr);  // restored after each resumption
  CHECK_FALSE(vial::in_bridge());
}

TEST_CASE("a resumption that runs past the slow-step threshold is reported",
          "[async][request_executor]") {
  vial::testing::log_capture log;
  asio::io_context context{1};
  auto scope = std::make_shared<request_scope>(
      context.get_executor(), vial::detail::request_scope_options{
                                  .label = "GET /slow", .log = &log.logger(), .slow_step = 10ms});
  asio::post(request_executor(scope), [] { std::this_thread::sleep_for(30ms); });
  asio::post(request_executor(scope), [] {});
  context.run();
  CHECK(log.contains("GET /slow: a step of the coroutine ran"));
  CHECK(log.lines().size() == 1);
}
