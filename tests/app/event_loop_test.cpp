// Coroutine routes on the event loop, through the test client: where each mode runs a route,
// and every guarantee of the bridge, checked in both modes.
#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>

#include "support/catch.hpp"
#include "support/log_capture.hpp"
#include "vial/app/app.hpp"
#include "vial/app/blueprint.hpp"
#include "vial/async/bridge.hpp"
#include "vial/async/gather.hpp"
#include "vial/async/timeout.hpp"
#include "vial/async/to_thread.hpp"
#include "vial/detail/request_executor.hpp"
#include "vial/testing/test_client.hpp"

using namespace std::chrono_literals;
using vial::coroutine_mode;
using vial::test_client;

namespace {

const char* name_of(coroutine_mode m) {
  return m == coroutine_mode::bridge ? "bridge" : "event loop";
}

/// "loop" when the calling coroutine runs in an event-loop request's scope, else "bridge".
vial::task<std::string> where() {
  co_await vial::sleep_for(0ms);
  co_return vial::detail::current_request_scope() ? "loop" : "bridge";
}

/// Whether the app sends `GET path` to the event loop, as the server asks it.
bool routes_on_loop(const vial::app& app, std::string_view path) {
  auto req = vial::request::refused_or_valid("GET", path, {});
  const auto route = app.match(req);
  return app.event_loop_route(req, route).has_value();
}

}  // namespace

TEST_CASE("the coroutine mode is chosen per route, per blueprint and app-wide",
          "[app][event_loop]") {
  vial::app app({.coroutines = coroutine_mode::event_loop});
  app.get("/app-default", [] { return where(); });
  app.get("/route-bridge", [] { return where(); }, {.coroutines = coroutine_mode::bridge});
  vial::blueprint bridged("bridged");
  bridged.get("/inherits", [] { return where(); });
  bridged.get("/overrides", [] { return where(); }, {.coroutines = coroutine_mode::event_loop});
  vial::blueprint nested("nested");
  nested.get("/x", [] { return where(); });
  bridged.register_blueprint(nested, {.url_prefix = "/nested"});
  app.register_blueprint(bridged, {.url_prefix = "/bp", .coroutines = coroutine_mode::bridge});
  test_client client(app);
  CHECK(client.get("/app-default").text() == "loop");
  CHECK(client.get("/route-bridge").text() == "bridge");
  CHECK(client.get("/bp/inherits").text() == "bridge");
  CHECK(client.get("/bp/overrides").text() == "loop");
  CHECK(client.get("/bp/nested/x").text() == "bridge");
  CHECK_FALSE(routes_on_loop(app, "/bp/inherits"));
  CHECK(routes_on_loop(app, "/app-default"));
}

TEST_CASE("a route with a plain handler never runs on the event loop", "[app][event_loop]") {
  vial::app app({.coroutines = coroutine_mode::event_loop});
  app.get("/plain", [] { return std::string("plain"); });
  CHECK_FALSE(routes_on_loop(app, "/plain"));
  CHECK(test_client(app).get("/plain").text() == "plain");
}

TEST_CASE("an event-loop route runs its whole chain: sync and coroutine hooks, error handlers",
          "[app][event_loop]") {
  vial::app app({.coroutines = coroutine_mode::event_loop});
  app.before_request([](vial::request& req) -> std::optional<std::string> {
    if (req.path() == "/early") return std::string("early");
    return std::nullopt;
  });
  app.after_request([](vial::response& r) -> vial::task<void> {
    co_await vial::sleep_for(0ms);
    r.set_header("X-Where", vial::detail::current_request_scope() ? "loop" : "bridge");
  });
  app.errorhandler<std::runtime_error>(
      [](const std::runtime_error& e) -> vial::task<vial::response> {
        co_await vial::sleep_for(0ms);
        co_return vial::response::text(std::string("handled: ") + e.what(), 418);
      });
  app.get("/early", [] { return where(); });
  app.get("/fails", []() -> vial::task<std::string> {
    co_await vial::sleep_for(1ms);
    throw std::runtime_error("boom");
  });
  test_client client(app);
  auto early = client.get("/early");
  CHECK(early.text() == "early");
  CHECK(early.header("X-Where") == "loop");
  auto fails = client.get("/fails");
  CHECK(fails.status() == 418);
  CHECK(fails.text() == "handled: boom");
  CHECK(fails.header("X-Where") == "loop");
}

TEST_CASE("leftover work is cancelled and reported with the route, in both modes",
          "[app][event_loop][leftover]") {
  const auto mode = GENERATE(coroutine_mode::bridge, coroutine_mode::event_loop);
  INFO(name_of(mode));
  vial::testing::log_capture log;
  auto fired = std::make_shared<std::atomic<bool>>(false);
  vial::app app({.coroutines = mode});
  app.set_logger(log.logger());
  app.get("/leak", [fired]() -> vial::task<std::string> {
    auto ex = co_await boost::asio::this_coro::executor;
    boost::asio::co_spawn(
        ex,
        [](std::shared_ptr<std::atomic<bool>> f) -> vial::task<void> {
          co_await vial::sleep_for(20ms);
          *f = true;
        }(fired),
        boost::asio::detached);
    co_return "leaked";
  });
  app.get("/wait", []() -> vial::task<std::string> {
    co_await vial::sleep_for(60ms);
    co_return "waited";
  });
  test_client client(app);
  CHECK(client.get("/leak").text() == "leaked");
  CHECK(log.contains("GET /leak: work spawned by the coroutine was still pending"));
  CHECK(client.get("/wait").text() == "waited");
  CHECK_FALSE(*fired);  // the leftover's side effect never happened
  CHECK_FALSE(log.contains("GET /wait: work spawned"));
}

TEST_CASE("with_timeout answers 504 and cancels the slow work, in both modes",
          "[app][event_loop][timeout]") {
  const auto mode = GENERATE(coroutine_mode::bridge, coroutine_mode::event_loop);
  INFO(name_of(mode));
  auto finished = std::make_shared<std::atomic<bool>>(false);
  vial::app app({.coroutines = mode});
  app.get("/slow", [finished]() -> vial::task<std::string> {
    auto slow = [](std::shared_ptr<std::atomic<bool>> f) -> vial::task<void> {
      co_await vial::sleep_for(10s);
      *f = true;
    };
    co_await vial::with_timeout(slow(finished), 50ms);
    co_return "never";
  });
  const auto start = std::chrono::steady_clock::now();
  auto r = test_client(app).get("/slow");
  CHECK(r.status() == 504);
  CHECK(std::chrono::steady_clock::now() - start < 5s);
  CHECK_FALSE(*finished);
}

TEST_CASE("to_thread resumes on the request's executor with the app's pool, in both modes",
          "[app][event_loop][to_thread]") {
  const auto mode = GENERATE(coroutine_mode::bridge, coroutine_mode::event_loop);
  INFO(name_of(mode));
  vial::app app({.coroutines = mode});
  app.get("/thread", [&app]() -> vial::task<std::string> {
    const auto before = std::this_thread::get_id();
    auto work = [] { return std::this_thread::get_id(); };
    const auto pool_thread = co_await vial::to_thread(work);
    std::string out;
    out += pool_thread != before ? "ran elsewhere;" : "ran here;";
    out += std::this_thread::get_id() == before ? "resumed here;" : "resumed elsewhere;";
    out += &vial::current_blocking_pool() == &app.blocking() ? "app pool" : "other pool";
    co_return out;
  });
  CHECK(test_client(app).get("/thread").text() == "ran elsewhere;resumed here;app pool");
}

TEST_CASE("gather cancels the other tasks on the first failure, in both modes",
          "[app][event_loop][gather]") {
  const auto mode = GENERATE(coroutine_mode::bridge, coroutine_mode::event_loop);
  INFO(name_of(mode));
  auto finished = std::make_shared<std::atomic<bool>>(false);
  vial::app app({.coroutines = mode});
  app.get("/gather", [finished]() -> vial::task<std::string> {
    auto fails = []() -> vial::task<int> {
      co_await vial::sleep_for(5ms);
      throw std::runtime_error("first failure");
    };
    auto slow = [](std::shared_ptr<std::atomic<bool>> f) -> vial::task<int> {
      co_await vial::sleep_for(10s);
      *f = true;
      co_return 2;
    };
    try {
      co_await vial::gather(fails(), slow(finished));
    } catch (const std::runtime_error& e) {
      co_return std::string(e.what());
    }
    co_return "no failure";
  });
  const auto start = std::chrono::steady_clock::now();
  CHECK(test_client(app).get("/gather").text() == "first failure");
  CHECK(std::chrono::steady_clock::now() - start < 5s);
  CHECK_FALSE(*finished);
}

TEST_CASE("async_to_sync inside a coroutine route throws bridge_error, in both modes",
          "[app][event_loop][bridge]") {
  const auto mode = GENERATE(coroutine_mode::bridge, coroutine_mode::event_loop);
  INFO(name_of(mode));
  vial::app app({.coroutines = mode});
  app.get("/nested", []() -> vial::task<std::string> {
    co_await vial::sleep_for(1ms);  // after a resumption, not only in the first step
    auto inner = []() -> vial::task<int> { co_return 1; };
    try {
      vial::async_to_sync(inner());
    } catch (const vial::bridge_error&) {
      co_return "bridge_error";
    }
    co_return "ran";
  });
  CHECK(test_client(app).get("/nested").text() == "bridge_error");
}

TEST_CASE("an event-loop step that runs long without suspending is reported with the route",
          "[app][event_loop][slow_step]") {
  vial::testing::log_capture log;
  vial::app app({.coroutines = coroutine_mode::event_loop, .slow_step_warning = 20ms});
  app.set_logger(log.logger());
  app.get("/busy", []() -> vial::task<std::string> {
    co_await vial::sleep_for(0ms);
    std::this_thread::sleep_for(60ms);  // blocking, as a careless handler would
    co_return "done";
  });
  app.get("/quick", []() -> vial::task<std::string> {
    co_await vial::sleep_for(30ms);  // waiting is not running
    co_return "done";
  });
  test_client client(app);
  CHECK(client.get("/quick").text() == "done");
  CHECK_FALSE(log.contains("without suspending"));
  CHECK(client.get("/busy").text() == "done");
  CHECK(log.contains("GET /busy: a step of the coroutine ran"));
  CHECK(log.contains("without suspending"));
}
