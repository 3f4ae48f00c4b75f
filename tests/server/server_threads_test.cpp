// The server's thread model: I/O threads run handlers inline, standby threads join the loop
// only while handlers block, and idle workers cost nothing.
#include "server/server_threads.hpp"

#include <time.h>

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include "server/test_app.hpp"
#include "support/catch.hpp"
#include "support/eventually.hpp"
#include "support/raw_client.hpp"

using namespace std::chrono_literals;
using vial::server_detail::server_threads;
using vial::test::get_request;
using vial::test::raw_client;
using clock_type = std::chrono::steady_clock;

namespace {

std::chrono::nanoseconds process_cpu_time() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

}  // namespace

TEST_CASE("a loop thread blocked in a handler is replaced from standby, and goes back after",
          "[server][threads]") {
  boost::asio::io_context ioc(5);
  auto work = boost::asio::make_work_guard(ioc);
  vial::logger log(nullptr);
  server_threads threads(ioc, 1, 4, log);
  threads.start();
  CHECK(threads.snapshot().running == 1);
  CHECK(threads.snapshot().standby == 4);

  vial::test::handler_gate gate;
  for (int i = 0; i < 4; ++i) {
    boost::asio::post(ioc, [&gate] {
      server_threads::handler_scope inside;
      gate.arrive_and_wait();
    });
  }
  // One loop thread: each blocked handler must be noticed for the next one to run at all.
  REQUIRE(gate.wait_entered(4));
  std::promise<void> answered;
  boost::asio::post(ioc, [&answered] { answered.set_value(); });
  CHECK(answered.get_future().wait_for(5s) == std::future_status::ready);
  CHECK(threads.snapshot().running == 5);
  CHECK(threads.snapshot().standby == 0);

  gate.release();
  CHECK(vial::test::eventually([&] {
    auto c = threads.snapshot();
    return c.running == 1 && c.standby == 4;
  }));
  work.reset();
  ioc.stop();
  threads.stop();
}

TEST_CASE("a handler that computes without sleeping is replaced after a few ticks",
          "[server][threads]") {
  boost::asio::io_context ioc(2);
  auto work = boost::asio::make_work_guard(ioc);
  vial::logger log(nullptr);
  server_threads threads(ioc, 1, 1, log);
  threads.start();
  std::atomic<bool> started{false};
  std::atomic<bool> answered{false};
  std::atomic<bool> replaced{false};
  boost::asio::post(ioc, [&] {
    server_threads::handler_scope inside;
    started = true;
    // Spins (never sleeps) until the loop, now on another thread, has run the next handler.
    const auto deadline = clock_type::now() + 10s;
    while (!answered.load() && clock_type::now() < deadline) {
    }
    replaced = answered.load();
  });
  REQUIRE(vial::test::eventually([&] { return started.load(); }));
  boost::asio::post(ioc, [&] { answered = true; });
  CHECK(vial::test::eventually([&] { return replaced.load(); }, 10s));
  work.reset();
  threads.stop();
}

TEST_CASE(
    "with one I/O thread and every worker blocked, the server still reads, answers and "
    "queues",
    "[server][threads]") {
  vial::app app;
  app.set_logger(vial::logger(nullptr));
  vial::test::handler_gate gate;
  app.get("/hello", [] { return std::string("hello"); });
  app.get("/block", [&gate] {
    gate.arrive_and_wait();
    return std::string("unblocked");
  });
  // Through the bridge, a coroutine that blocks holds its thread like a sync handler.
  app.get("/block-async", [&gate]() -> vial::task<std::string> {
    gate.arrive_and_wait();
    co_return "unblocked async";
  });
  vial::server srv(app, {.port = 0, .io_threads = 1, .worker_threads = 5});
  srv.start();

  std::vector<raw_client> blocked;
  for (int i = 0; i < 4; ++i) {
    blocked.emplace_back(srv.port(), 10000ms);
    blocked.back().send(get_request(i % 2 == 0 ? "/block" : "/block-async"));
  }
  REQUIRE(gate.wait_entered(4));
  {
    // The fifth slot: a cheap handler answered while four block.
    raw_client c(srv.port());
    auto started = clock_type::now();
    c.send(get_request("/hello"));
    CHECK(c.read_response().body == "hello");
    CHECK(clock_type::now() - started < 2s);
  }
  blocked.emplace_back(srv.port(), 10000ms);
  blocked.back().send(get_request("/block"));
  REQUIRE(gate.wait_entered(5));
  {
    // Every slot blocked: I/O goes on (a bad request is answered by the server itself) ...
    raw_client c(srv.port());
    auto started = clock_type::now();
    c.send("GARBAGE\r\n\r\n");
    CHECK(c.read_response().status == 400);
    CHECK(clock_type::now() - started < 2s);
  }
  // ... and a sync request waits for a slot instead of being lost.
  raw_client waiting(srv.port(), 10000ms);
  waiting.send(get_request("/hello"));

  gate.release();
  for (std::size_t i = 0; i < blocked.size(); ++i) {
    auto r = blocked[i].read_response();
    CHECK(r.status == 200);
    CHECK(r.body == (i % 2 == 1 && i < 4 ? "unblocked async" : "unblocked"));
  }
  CHECK(waiting.read_response().body == "hello");
  srv.stop();
}

TEST_CASE("64 idle workers cost no CPU", "[server][threads]") {
  vial::app app;
  app.set_logger(vial::logger(nullptr));
  app.get("/hello", [] { return std::string("hello"); });
  vial::server srv(app, {.port = 0, .worker_threads = 64});
  srv.start();
  {
    raw_client c(srv.port());
    c.send(get_request("/hello"));
    CHECK(c.read_response().body == "hello");
  }
  // A measurement window, not a wait for readiness: the process's CPU time while idle.
  const auto before = process_cpu_time();
  std::this_thread::sleep_for(1s);
  const auto used = process_cpu_time() - before;
  CHECK(used < 50ms);
  srv.stop();
}
