// Coroutine routes on the server's event loop, over loopback: they hold no worker, keep every
// guarantee of the bridge (checked in both modes), are cancelled when their client leaves, and
// are bounded by max_event_loop_requests.
#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/system/system_error.hpp>

#include "server/test_app.hpp"
#include "support/catch.hpp"
#include "support/eventually.hpp"
#include "support/log_capture.hpp"
#include "support/raw_client.hpp"
#include "vial/async/bridge.hpp"
#include "vial/async/gather.hpp"
#include "vial/async/timeout.hpp"
#include "vial/async/to_thread.hpp"
#include "vial/client/http_client.hpp"
#include "vial/detail/request_executor.hpp"
#include "vial/server/server.hpp"

using namespace std::chrono_literals;
using vial::coroutine_mode;
using vial::test::eventually;
using vial::test::get_request;
using vial::test::raw_client;

namespace {

const char* name_of(coroutine_mode m) {
  return m == coroutine_mode::bridge ? "bridge" : "event loop";
}

/// What a route did, for the test to check from its own thread.
struct probe {
  std::atomic<bool> started{false};
  std::atomic<bool> cancelled{false};
  std::atomic<bool> side_effect{false};
};

struct loop_fixture {
  explicit loop_fixture(coroutine_mode mode, vial::server_options options = {})
      : app({.coroutines = mode, .slow_step_warning = 40ms}),
        srv((routes(), app), with_port(std::move(options))) {
    srv.start();
  }

  static vial::server_options with_port(vial::server_options o) {
    o.port = 0;
    return o;
  }

  void routes() {
    app.set_logger(log.logger());
    app.get("/hello", [] { return std::string("hello"); });
    app.get("/block", [this] {
      gate.arrive_and_wait();
      return std::string("unblocked");
    });
    app.get("/side", [this] {
      p->side_effect = true;
      return std::string("side");
    });
    app.get("/hold/<int:ms>", [](int ms) -> vial::task<std::string> {
      co_await vial::sleep_for(std::chrono::milliseconds(ms));
      co_return "held";
    });
    app.get("/where", []() -> vial::task<std::string> {
      co_await vial::sleep_for(0ms);
      co_return vial::detail::current_request_scope() ? "loop" : "bridge";
    });
    // Waits long, then has a side effect: only cancellation can stop it.
    app.get("/hang", [this]() -> vial::task<std::string> {
      p->started = true;
      try {
        co_await vial::sleep_for(5s);
      } catch (const boost::system::system_error&) {
        p->cancelled = true;
        throw;
      }
      p->side_effect = true;
      co_return "finished";
    });
    app.get("/leak", [this]() -> vial::task<std::string> {
      auto ex = co_await boost::asio::this_coro::executor;
      boost::asio::co_spawn(
          ex,
          [](probe* q) -> vial::task<void> {
            co_await vial::sleep_for(30ms);
            q->side_effect = true;
          }(p.get()),
          boost::asio::detached);
      co_return "leaked";
    });
    app.get("/timeout", [this]() -> vial::task<std::string> {
      auto slow = [](probe* q) -> vial::task<void> {
        co_await vial::sleep_for(10s);
        q->side_effect = true;
      };
      co_await vial::with_timeout(slow(p.get()), 50ms);
      co_return "never";
    });
    app.get("/thread", [this]() -> vial::task<std::string> {
      auto work = [] { return 1; };
      co_await vial::to_thread(work);
      std::string out = &vial::current_blocking_pool() == &app.blocking() ? "app pool" : "other";
      auto inner = []() -> vial::task<int> { co_return 1; };
      try {
        vial::async_to_sync(inner());
        out += ";nested ran";
      } catch (const vial::bridge_error&) {
        out += ";bridge_error";
      }
      co_return out;
    });
    app.get("/gather", [this]() -> vial::task<std::string> {
      auto fails = []() -> vial::task<int> {
        co_await vial::sleep_for(5ms);
        throw std::runtime_error("first failure");
      };
      auto slow = [](probe* q) -> vial::task<int> {
        co_await vial::sleep_for(10s);
        q->side_effect = true;
        co_return 2;
      };
      try {
        co_await vial::gather(fails(), slow(p.get()));
      } catch (const std::runtime_error& e) {
        co_return std::string(e.what());
      }
      co_return "no failure";
    });
    app.get("/busy", []() -> vial::task<std::string> {
      co_await vial::sleep_for(0ms);
      std::this_thread::sleep_for(100ms);  // blocks the loop, as a careless handler would
      co_return "done";
    });
    app.get("/call", [this]() -> vial::task<std::string> {
      auto r = co_await client->get("http://127.0.0.1:" + std::to_string(srv.port()) + "/block");
      co_return r.text();
    });
  }

  raw_client connect() { return raw_client(srv.port()); }
  vial::test::raw_response get(const std::string& target) {
    auto c = connect();
    c.send(get_request(target));
    return c.read_response();
  }

  vial::testing::log_capture log;
  std::shared_ptr<probe> p = std::make_shared<probe>();
  vial::test::handler_gate gate;
  std::unique_ptr<vial::http_client> client;
  vial::app app;
  vial::server srv;
};

}  // namespace

TEST_CASE("event-loop requests hold no worker: 200 waiting 200 ms each on 2 workers",
          "[server][event_loop]") {
  loop_fixture f(coroutine_mode::event_loop, {.worker_threads = 2});
  std::vector<raw_client> clients;
  clients.reserve(200);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 200; ++i) {
    clients.push_back(f.connect());
    REQUIRE(clients.back().send(get_request("/hold/200")));
  }
  int answered = 0;
  for (auto& c : clients) answered += c.read_response().body == "held";
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(answered == 200);
  // Holding a worker each, they would need 200 x 200 ms / 2 = 20 s.
  CHECK(took < 8s);
}

TEST_CASE("the mode decides where a coroutine route runs on the server", "[server][event_loop]") {
  const auto mode = GENERATE(coroutine_mode::bridge, coroutine_mode::event_loop);
  loop_fixture f(mode);
  CHECK(f.get("/where").body == (mode == coroutine_mode::bridge ? "bridge" : "loop"));
}

TEST_CASE("leftover work is cancelled and reported with the route over loopback, in both modes",
          "[server][event_loop][leftover]") {
  const auto mode = GENERATE(coroutine_mode::bridge, coroutine_mode::event_loop);
  INFO(name_of(mode));
  loop_fixture f(mode);
  auto c = f.connect();
  c.send(get_request("/leak"));
  CHECK(c.read_response().body == "leaked");
  c.send(get_request("/hold/120"));  // longer than the leftover's timer, on the same strand
  CHECK(c.read_response().body == "held");
  CHECK(eventually([&] { return f.log.contains("GET /leak: work spawned by the coroutine"); }));
  CHECK_FALSE(f.p->side_effect);
}

TEST_CASE("with_timeout answers 504 and cancels over loopback, in both modes",
          "[server][event_loop][timeout]") {
  const auto mode = GENERATE(coroutine_mode::bridge, coroutine_mode::event_loop);
  INFO(name_of(mode));
  loop_fixture f(mode);
  CHECK(f.get("/timeout").status == 504);
  CHECK_FALSE(f.p->side_effect);
}

TEST_CASE("to_thread resumes in the request's scope and async_to_sync throws, in both modes",
          "[server][event_loop][to_thread]") {
  const auto mode = GENERATE(coroutine_mode::bridge, coroutine_mode::event_loop);
  INFO(name_of(mode));
  loop_fixture f(mode);
  CHECK(f.get("/thread").body == "app pool;bridge_error");
}

TEST_CASE("gather cancels the rest on the first failure over loopback, in both modes",
          "[server][event_loop][gather]") {
  const auto mode = GENERATE(coroutine_mode::bridge, coroutine_mode::event_loop);
  INFO(name_of(mode));
  loop_fixture f(mode);
  CHECK(f.get("/gather").body == "first failure");
  CHECK_FALSE(f.p->side_effect);
}

TEST_CASE("the HTTP client's limit per caller counts each event-loop request alone, and pools",
          "[server][event_loop][client]") {
  const auto mode = GENERATE(coroutine_mode::bridge, coroutine_mode::event_loop);
  INFO(name_of(mode));
  loop_fixture f(mode, {.worker_threads = 4});
  f.client =
      std::make_unique<vial::http_client>(vial::client_options{.max_connections_per_caller = 1});
  auto a = f.connect();
  auto b = f.connect();
  a.send(get_request("/call"));
  b.send(get_request("/call"));
  // Both upstream calls are in flight at once: neither request waits behind the other's.
  CHECK(f.gate.wait_entered(2));
  f.gate.release();
  CHECK(a.read_response().body == "unblocked");
  CHECK(b.read_response().body == "unblocked");
  const auto opened = f.client->connections_opened();
  CHECK(f.get("/call").body == "unblocked");
  CHECK(f.client->connections_opened() == opened);  // a pooled connection was reused
}

TEST_CASE("a client that leaves cancels its in-flight event-loop request",
          "[server][event_loop][disconnect]") {
  loop_fixture f(coroutine_mode::event_loop);
  const bool reset = GENERATE(false, true);
  INFO((reset ? "RST" : "FIN"));
  {
    auto c = f.connect();
    c.send(get_request("/hang"));
    REQUIRE(eventually([&] { return f.p->started.load(); }));
    if (reset) {
      c.reset();
    } else {
      c.shutdown_send();
    }
    CHECK(eventually([&] { return f.p->cancelled.load(); }, 3s));
  }
  CHECK_FALSE(f.p->side_effect);  // the code after the await never ran
  CHECK(f.get("/hello").body == "hello");
}

TEST_CASE("a request queued for a worker whose client left is not run", "[server][disconnect]") {
  loop_fixture f(coroutine_mode::bridge, {.worker_threads = 1});
  auto holder = f.connect();
  holder.send(get_request("/block"));
  REQUIRE(f.gate.wait_entered(1));
  {
    auto c = f.connect();
    c.send(get_request("/side"));  // queued behind /block
    // A FIN, so the request is read before the server learns the client left (a reset can
    // discard it unread).
    c.shutdown_send();
  }
  const bool noticed = eventually([&] { return f.log.contains("GET /side: the client left"); });
  for (const auto& line : f.log.lines()) UNSCOPED_INFO(line);
  REQUIRE(noticed);
  f.gate.release();
  CHECK(holder.read_response().body == "unblocked");
  CHECK(f.get("/hello").body == "hello");  // runs after the dropped job in the queue's order
  CHECK_FALSE(f.p->side_effect);
}

TEST_CASE("event-loop requests past max_event_loop_requests are answered 503 with Retry-After",
          "[server][event_loop][limits]") {
  loop_fixture f(coroutine_mode::event_loop, {.max_event_loop_requests = 1});
  auto first = f.connect();
  first.send(get_request("/hold/500"));
  // The first is in flight once the server reads it; the second is then refused at once.
  auto second = f.connect();
  REQUIRE(eventually([&] {
    second.send(get_request("/hold/0"));
    auto r = second.read_response();
    if (r.status == 200) return false;
    CHECK(r.status == 503);
    CHECK(r.header("Retry-After") == "1");
    return true;
  }));
  CHECK(first.read_response().body == "held");
  CHECK(f.get("/hold/0").body == "held");  // the slot was given back
}

TEST_CASE("an event-loop step that blocks is reported with the route", "[server][event_loop]") {
  loop_fixture f(coroutine_mode::event_loop);
  CHECK(f.get("/busy").body == "done");
  CHECK(f.log.contains("GET /busy: a step of the coroutine ran"));
}

TEST_CASE("pipelined requests to event-loop routes are answered in order", "[server][event_loop]") {
  loop_fixture f(coroutine_mode::event_loop);
  auto c = f.connect();
  c.send(get_request("/hold/50") + get_request("/where") + get_request("/hello"));
  CHECK(c.read_response().body == "held");
  CHECK(c.read_response().body == "loop");
  CHECK(c.read_response().body == "hello");
}

TEST_CASE("an event-loop request cancelled because its client left is not logged as an error",
          "[server][event_loop][disconnect]") {
  // The chain's coroutines see the cancellation as an exception; the request is abandoned, not
  // failed: no ERROR line, and the async error handler, after and teardown hooks still run
  // instead of failing at their first co_await.
  vial::testing::log_capture log;
  vial::app app({.coroutines = coroutine_mode::event_loop});
  app.set_logger(log.logger());
  std::atomic<bool> started{false};
  std::atomic<bool> handled{false};
  std::atomic<bool> torn_down{false};
  app.get("/hang", [&]() -> vial::task<std::string> {
    started = true;
    co_await vial::sleep_for(5s);
    co_return "finished";
  });
  app.errorhandler(500, [&](const vial::http_error&) -> vial::task<vial::response> {
    co_await vial::sleep_for(0ms);
    handled = true;
    co_return vial::response::text("handled", 500);
  });
  app.teardown_request([&](vial::request&, std::exception_ptr) -> vial::task<void> {
    co_await vial::sleep_for(0ms);
    torn_down = true;
  });
  vial::server srv(app, {.port = 0});
  srv.start();
  {
    raw_client c(srv.port());
    c.send(get_request("/hang"));
    REQUIRE(eventually([&] { return started.load(); }));
    c.shutdown_send();
    REQUIRE(eventually([&] { return torn_down.load(); }, 3s));
  }
  CHECK(handled);
  CHECK(eventually([&] { return log.contains("GET /hang: cancelled"); }));
  for (const auto& line : log.lines()) {
    INFO(line);
    CHECK_FALSE(line.starts_with("ERROR"));
  }
  srv.stop();
}
