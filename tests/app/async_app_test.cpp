// Flask's tests/test_async.py, ported, plus the bridge guarantees seen through an app.
#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "support/catch.hpp"
#include "support/log_capture.hpp"
#include "vial/app/app.hpp"
#include "vial/async/bridge.hpp"
#include "vial/async/gather.hpp"
#include "vial/async/timeout.hpp"
#include "vial/async/to_thread.hpp"
#include "vial/testing/test_client.hpp"

using namespace std::chrono_literals;
using vial::test_client;

namespace {
struct ported_error : std::runtime_error {
  ported_error() : std::runtime_error("app error") {}
};
}  // namespace

TEST_CASE("an async route answers like a sync one", "[app][async]") {
  vial::app app;
  app.route("/", {"GET", "POST"}, [](vial::request& req) -> vial::task<std::string> {
    co_await vial::sleep_for(0ms);
    co_return std::string(req.method_name());
  });
  test_client client(app);
  CHECK(client.get("/").text() == "GET");
  CHECK(client.post("/").text() == "POST");
}

TEST_CASE("an async error handler answers an async route's exception", "[app][async]") {
  vial::app app;
  app.errorhandler<ported_error>(
      [](const ported_error&) -> vial::task<std::tuple<std::string, int>> {
        co_return std::tuple{std::string(), 412};
      });
  app.get("/error", []() -> vial::task<std::string> {
    co_await vial::sleep_for(0ms);
    throw ported_error();
  });
  CHECK(test_client(app).get("/error").status() == 412);
}

TEST_CASE("async before and after hooks run around a sync route", "[app][async]") {
  bool before_called = false, after_called = false, teardown_called = false;
  vial::app app;
  app.before_request([&](vial::request&) -> vial::task<void> {
    co_await vial::sleep_for(0ms);
    before_called = true;
  });
  app.after_request([&](vial::response& res) -> vial::task<vial::response> {
    after_called = true;
    res.set_header("X-Async-After", "1");
    co_return std::move(res);
  });
  app.teardown_request([&](vial::request&, std::exception_ptr) -> vial::task<void> {
    teardown_called = true;
    co_return;
  });
  app.get("/", [] { return ""; });
  auto r = test_client(app).get("/");
  CHECK(before_called);
  CHECK(after_called);
  CHECK(teardown_called);
  CHECK(r.header("X-Async-After") == "1");
}

TEST_CASE("an async before hook can short-circuit", "[app][async]") {
  vial::app app;
  app.before_request([](vial::request&) -> vial::task<std::optional<std::string>> {
    co_return std::optional<std::string>("stopped early");
  });
  app.get("/", [] { return "handler"; });
  CHECK(test_client(app).get("/").text() == "stopped early");
}

TEST_CASE("an async status error handler answers 404s", "[app][async]") {
  vial::app app;
  app.errorhandler(404, [](const vial::http_error&) -> vial::task<vial::response> {
    co_await vial::sleep_for(0ms);
    co_return vial::response::json({{"error", "Not found"}}, 404);
  });
  auto r = test_client(app).get("/missing");
  CHECK(r.status() == 404);
  CHECK(r.json()["error"] == "Not found");
}

TEST_CASE("async handlers take typed path parameters", "[app][async]") {
  vial::app app;
  app.get("/users/<int:id>/<name>", [](int id, std::string name) -> vial::task<std::string> {
    co_await vial::sleep_for(1ms);
    co_return name + "#" + std::to_string(id);
  });
  CHECK(test_client(app).get("/users/7/ada").text() == "ada#7");
}

TEST_CASE("sync and async handlers mix in one app", "[app][async]") {
  vial::app app;
  app.get("/sync", [] { return "sync"; });
  app.get("/async", []() -> vial::task<std::string> { co_return "async"; });
  test_client client(app);
  for (int i = 0; i < 3; ++i) {
    CHECK(client.get("/sync").text() == "sync");
    CHECK(client.get("/async").text() == "async");
  }
}

TEST_CASE("hooks, handler and error handlers of one request share one bridge run", "[app][async]") {
  // A timer the before hook starts and does not await still fires while the handler waits:
  // were each callable bridged separately, the hook's run would have cancelled it.
  auto fired = std::make_shared<std::atomic<bool>>(false);
  vial::app app;
  app.before_request([fired](vial::request&) -> vial::task<void> {
    auto ex = co_await boost::asio::this_coro::executor;
    boost::asio::co_spawn(
        ex,
        [](std::shared_ptr<std::atomic<bool>> f) -> vial::task<void> {
          co_await vial::sleep_for(10ms);
          *f = true;
        }(fired),
        boost::asio::detached);
  });
  app.get("/", [fired]() -> vial::task<std::string> {
    co_await vial::sleep_for(60ms);
    co_return *fired ? "same run" : "separate runs";
  });
  CHECK(test_client(app).get("/").text() == "same run");
}

TEST_CASE("a coroutine lambda's captures stay valid across many requests", "[app][async]") {
  vial::app app;
  auto prefix = std::make_shared<std::string>("user-");
  std::vector<int> big(1000, 1);
  app.get("/c/<int:n>", [prefix, big](int n) -> vial::task<std::string> {
    co_await vial::sleep_for(0ms);  // suspend, then touch the captures
    co_return *prefix + std::to_string(n + big.back());
  });
  prefix.reset();  // the route's copy is the only owner now
  test_client client(app);
  for (int i = 0; i < 50; ++i)
    CHECK(client.get("/c/" + std::to_string(i)).text() == "user-" + std::to_string(i + 1));
}

TEST_CASE("a sync handler in an async chain cannot call async_to_sync, and says why",
          "[app][async]") {
  vial::testing::log_capture log;
  vial::app app;
  app.set_logger(log.logger());
  app.before_request([](vial::request&) -> vial::task<void> { co_return; });
  app.get("/", []() -> std::string {
    return std::to_string(vial::async_to_sync([]() -> vial::task<int> { co_return 1; }()));
  });
  CHECK(test_client(app).get("/").status() == 500);
  CHECK(log.contains("co_await the task instead"));
}

TEST_CASE("a coroutine exception becomes a 500 and the app keeps serving", "[app][async]") {
  vial::app app;
  app.set_logger(vial::logger(nullptr));
  app.get("/boom", []() -> vial::task<std::string> {
    co_await vial::sleep_for(1ms);
    throw std::runtime_error("async kaput");
  });
  app.get("/ok", []() -> vial::task<std::string> { co_return "ok"; });
  test_client client(app);
  CHECK(client.get("/boom").status() == 500);
  CHECK(client.get("/ok").text() == "ok");
}

TEST_CASE("with_timeout in a handler becomes 504 when unhandled", "[app][async]") {
  vial::app app;
  app.set_logger(vial::logger(nullptr));
  app.get("/slow", []() -> vial::task<std::string> {
    co_await vial::with_timeout(vial::sleep_for(1s), 20ms);
    co_return "never";
  });
  auto start = std::chrono::steady_clock::now();
  CHECK(test_client(app).get("/slow").status() == 504);
  CHECK(std::chrono::steady_clock::now() - start < 500ms);
}

TEST_CASE("to_thread in a handler uses the app's blocking pool", "[app][async]") {
  vial::app app({.blocking_threads = 2});
  app.get("/db", []() -> vial::task<std::string> {
    auto [a, b] = co_await vial::gather(vial::to_thread([] {
                                          std::this_thread::sleep_for(50ms);
                                          return 1;
                                        }),
                                        vial::to_thread([] {
                                          std::this_thread::sleep_for(50ms);
                                          return 2;
                                        }));
    co_return std::to_string(a + b);
  });
  CHECK(test_client(app).get("/db").text() == "3");
}

TEST_CASE("dispatch is safe from many threads at once", "[app][async]") {
  vial::app app;
  app.get("/s/<int:n>", [](int n) { return std::to_string(n * 2); });
  app.get("/a/<int:n>", [](int n) -> vial::task<std::string> {
    co_await vial::sleep_for(1ms);
    co_return std::to_string(n * 3);
  });
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      test_client client(app);
      for (int i = 0; i < 40; ++i) {
        int n = t * 100 + i;
        if (client.get("/s/" + std::to_string(n)).text() != std::to_string(n * 2)) ++wrong;
        if (client.get("/a/" + std::to_string(n)).text() != std::to_string(n * 3)) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(wrong == 0);
}

TEST_CASE("startup and shutdown hooks run, sync or coroutine", "[app][async]") {
  std::vector<std::string> calls;
  vial::app app;
  app.on_startup([&] { calls.push_back("sync start"); });
  app.on_startup([&]() -> vial::task<void> {
    co_await vial::sleep_for(1ms);
    calls.push_back("async start");
  });
  app.on_shutdown([&]() -> vial::task<void> {
    calls.push_back("async stop");
    co_return;
  });
  app.startup();
  app.shutdown();
  CHECK(calls == std::vector<std::string>{"sync start", "async start", "async stop"});
}

TEST_CASE("background work outlives its request and is drained at shutdown",
          "[app][async][background]") {
  vial::app app;
  std::atomic<bool> sent{false};
  vial::background_handle handle;
  app.post("/send", [&]() -> vial::task<std::tuple<std::string, int>> {
    handle = app.background(
        [](std::atomic<bool>& s) -> vial::task<void> {
          co_await vial::sleep_for(30ms);
          s = true;
        }(sent),
        "send-email");
    co_return std::tuple{std::string("queued"), 202};
  });
  CHECK(test_client(app).post("/send").status() == 202);
  CHECK_FALSE(sent);  // not cancelled with the request: still on its way
  CHECK(app.shutdown(std::chrono::seconds(2)) == 0);
  CHECK(sent);
  CHECK(handle.state() == vial::background_state::done);
}

TEST_CASE("a capturing coroutine lambda passed to app.background runs after its request",
          "[app][async][background]") {
  vial::app app;
  std::atomic<int> delivered{0};
  vial::background_handle handle;
  app.post("/send/<int:n>", [&](int n) {
    // Passed, not called: the app keeps the closure (and `n`) until the coroutine finished.
    handle = app.background(
        [n, &delivered]() -> vial::task<void> {
          co_await vial::sleep_for(20ms);
          delivered = n;
        },
        "send-email");
    return std::tuple{std::string("queued"), 202};
  });
  CHECK(test_client(app).post("/send/42").status() == 202);
  CHECK(app.shutdown(std::chrono::seconds(2)) == 0);
  CHECK(handle.state() == vial::background_state::done);
  CHECK(delivered == 42);
}

TEST_CASE("a startup hook that is a capturing coroutine lambda is awaited", "[app][async]") {
  vial::app app;
  auto pool_size = std::make_shared<int>(0);
  app.on_startup([pool_size]() -> vial::task<void> {
    co_await vial::sleep_for(1ms);
    *pool_size = 4;
  });
  app.startup();
  CHECK(*pool_size == 4);
  app.shutdown();
}
