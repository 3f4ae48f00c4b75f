// The app's blocking pool saturated over a real server: refused work is a prompt 503, work
// whose request timed out never runs, other routes keep answering, and everything queued
// finishes once the pool frees up.
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "server/test_app.hpp"
#include "support/catch.hpp"
#include "support/eventually.hpp"
#include "support/raw_client.hpp"
#include "vial/async/timeout.hpp"
#include "vial/async/to_thread.hpp"
#include "vial/server/server.hpp"

using namespace std::chrono_literals;
using vial::test::get_request;
using vial::test::raw_client;
using clock_type = std::chrono::steady_clock;

namespace {}  // namespace

TEST_CASE("a saturated blocking pool answers 503 at once and other routes keep answering",
          "[server][overload][to_thread]") {
  // 2 threads + 2 queue entries hold at most 4 of the 6 workers, leaving 2 for everyone else.
  vial::app app({.blocking_threads = 2, .max_queued_blocking = 2});
  app.set_logger(vial::logger(nullptr));
  vial::test::handler_gate gate;
  std::atomic<int> writes{0};
  app.get("/hello", [] { return std::string("hello"); });
  app.get("/query", [&gate]() -> vial::task<std::string> {
    auto op = vial::to_thread([&gate] {
      gate.arrive_and_wait();
      return std::string("queried");
    });
    co_return co_await std::move(op);
  });
  app.get("/write", [&writes]() -> vial::task<std::string> {
    auto op = vial::with_timeout(vial::to_thread([&writes] { ++writes; }), 200ms);
    co_await std::move(op);
    co_return "written";
  });
  vial::server srv(app, {.port = 0, .worker_threads = 6});
  srv.start();
  auto& pool = app.blocking();

  std::vector<raw_client> queries;
  for (int i = 0; i < 3; ++i) {
    queries.emplace_back(srv.port(), 10000ms);
    queries.back().send(get_request("/query"));
  }
  REQUIRE(gate.wait_entered(2));                                        // both threads are stuck
  REQUIRE(vial::test::eventually([&] { return pool.queued() == 1; }));  // the third query waits

  // Work whose request gave up while it waited for a thread: 504, and it never runs.
  {
    raw_client c(srv.port());
    auto started = clock_type::now();
    c.send(get_request("/write"));
    auto r = c.read_response();
    CHECK(r.status == 504);
    CHECK(clock_type::now() - started < 3s);
  }
  // The queue is full now (the abandoned write keeps its entry until a thread skips it):
  // refused at once with 503 and Retry-After, the connection kept.
  {
    raw_client c(srv.port());
    auto started = clock_type::now();
    c.send(get_request("/query"));
    auto r = c.read_response();
    CHECK(r.status == 503);
    CHECK(r.header("Retry-After") == "1");
    CHECK(r.body == "503 Service Unavailable: The server is busy; retry shortly.\n");
    CHECK(clock_type::now() - started < 3s);
    c.send(get_request("/hello"));
    CHECK(c.read_response().body == "hello");
  }
  // Routes that need no blocking thread keep answering promptly, several at once.
  {
    std::vector<raw_client> others;
    for (int i = 0; i < 4; ++i) {
      others.emplace_back(srv.port());
      others.back().send(get_request("/hello"));
    }
    auto started = clock_type::now();
    for (auto& c : others) CHECK(c.read_response().body == "hello");
    CHECK(clock_type::now() - started < 2s);
  }

  gate.release();
  for (auto& c : queries) {
    auto r = c.read_response();
    CHECK(r.status == 200);
    CHECK(r.body == "queried");
  }
  CHECK(vial::test::eventually([&] { return pool.busy() + pool.queued() == 0; }));
  CHECK(writes.load() == 0);
  // With room again, blocking work is accepted.
  raw_client c(srv.port());
  c.send(get_request("/write"));
  CHECK(c.read_response().body == "written");
  CHECK(writes.load() == 1);
}
