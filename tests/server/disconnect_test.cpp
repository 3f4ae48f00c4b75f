// Clients that go away mid-request or mid-stream: the server must free the connection at once
// (not at a deadline), stop the stream's producer, leak nothing and keep serving.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>

#include "server/test_app.hpp"
#include "support/catch.hpp"
#include "support/eventually.hpp"
#include "support/fd_count.hpp"
#include "support/raw_client.hpp"
#include "vial/app/stream.hpp"
#include "vial/async/timeout.hpp"
#include "vial/server/server.hpp"

using namespace std::chrono_literals;
using vial::test::get_request;
using vial::test::open_sockets;
using vial::test::raw_client;
using vial::test::wait_for_sockets_at_most;

namespace {

/// What a stream's producer did; shared by the generator (which holds a reference while it
/// exists) and the test.
struct producer_probe {
  std::atomic<int> produced{0};
  std::atomic<bool> stop_seen{false};  // a generator waiting on its stop token woke by it
};

// Deadlines are left at their defaults (10 s header, 30 s body), far beyond the bounds the
// tests wait: a connection freed in time was freed because the client left, not by a timer.
struct disconnect_fixture {
  explicit disconnect_fixture(std::size_t workers = 2)
      : srv(routes(), {.port = 0, .worker_threads = workers}) {
    srv.start();
  }

  vial::app& routes() {
    app.get("/hello", [] { return std::string("hello"); });
    app.post("/upload", [](const vial::request& r) { return std::to_string(r.body().size()); });
    app.get("/block", [this] {
      state.gate.arrive_and_wait();
      return std::string("unblocked");
    });
    app.get("/forever-sync", [p = sync_probe] {
      return vial::stream([p]() -> std::optional<std::string> {
        std::this_thread::sleep_for(2ms);
        return "chunk " + std::to_string(p->produced++) + "\n";
      });
    });
    app.get("/forever-async", [p = async_probe] {
      return vial::stream([p]() -> vial::task<std::optional<std::string>> {
        auto nap = vial::sleep_for(2ms);
        co_await std::move(nap);
        co_return "chunk " + std::to_string(p->produced++) + "\n";
      });
    });
    app.get("/forever-events", [p = sse_probe] {
      return vial::event_stream([p]() -> vial::task<std::optional<vial::sse_event>> {
        auto nap = vial::sleep_for(2ms);
        co_await std::move(nap);
        co_return vial::sse_event{.data = std::to_string(p->produced++)};
      });
    });
    // One chunk, then next() blocks for up to a minute unless its stop token wakes it.
    app.get("/waiting-sync", [p = waiting_probe] {
      return vial::stream([p](std::stop_token stop) -> std::optional<std::string> {
        if (p->produced++ == 0) return std::string("first\n");
        std::mutex m;
        std::condition_variable_any cv;
        std::unique_lock lock(m);
        cv.wait_for(lock, stop, 60s, [] { return false; });
        if (stop.stop_requested()) {
          p->stop_seen = true;
          return std::nullopt;
        }
        return std::string("late\n");
      });
    });
    // One event, then a long quiet wait: only reading the socket can tell the client left.
    app.get("/quiet-events", [p = quiet_probe] {
      return vial::event_stream([p]() -> vial::task<std::optional<vial::sse_event>> {
        if (p->produced > 0) {
          auto nap = vial::sleep_for(60s);
          co_await std::move(nap);
        }
        co_return vial::sse_event{.data = std::to_string(p->produced++)};
      });
    });
    return app;
  }

  raw_client connect() { return raw_client(srv.port()); }
  bool still_serves() {
    auto c = connect();
    c.send(get_request("/hello"));
    auto r = c.read_response();
    return r.status == 200 && r.body == "hello";
  }

  std::shared_ptr<producer_probe> sync_probe = std::make_shared<producer_probe>();
  std::shared_ptr<producer_probe> async_probe = std::make_shared<producer_probe>();
  std::shared_ptr<producer_probe> sse_probe = std::make_shared<producer_probe>();
  std::shared_ptr<producer_probe> quiet_probe = std::make_shared<producer_probe>();
  std::shared_ptr<producer_probe> waiting_probe = std::make_shared<producer_probe>();
  vial::test::test_state state;
  vial::app app;
  vial::server srv;
};

enum class leave { fin, rst };

// A FIN now; the socket itself closes when `c` goes out of scope.
void go_away(raw_client& c, leave how) {
  if (how == leave::rst) {
    c.reset();
  } else {
    c.shutdown_send();
  }
}

const char* name_of(leave how) { return how == leave::fin ? "FIN" : "RST"; }

}  // namespace

TEST_CASE("server frees a connection whose client leaves in the middle of the header",
          "[server][disconnect]") {
  disconnect_fixture f;
  const auto how = GENERATE(leave::fin, leave::rst);
  INFO("client leaves with " << name_of(how));
  const auto baseline = open_sockets();
  for (int i = 0; i < 20; ++i) {
    auto c = f.connect();
    REQUIRE(c.send("GET /hello HTTP/1.1\r\nHost: localhost\r\nX-Partial: ab"));
    go_away(c, how);
  }
  CHECK(wait_for_sockets_at_most(baseline));
  CHECK(f.still_serves());
}

TEST_CASE("server frees a connection whose client leaves in the middle of the body",
          "[server][disconnect]") {
  disconnect_fixture f;
  const auto how = GENERATE(leave::fin, leave::rst);
  const bool chunked = GENERATE(false, true);
  INFO("client leaves with " << name_of(how) << (chunked ? ", chunked body" : ", sized body"));
  const auto baseline = open_sockets();
  for (int i = 0; i < 20; ++i) {
    auto c = f.connect();
    if (chunked) {
      REQUIRE(
          c.send("POST /upload HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n"
                 "\r\n400\r\n" +
                 std::string(300, 'x')));
    } else {
      REQUIRE(c.send("POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100000\r\n\r\n" +
                     std::string(1000, 'x')));
    }
    go_away(c, how);
  }
  CHECK(wait_for_sockets_at_most(baseline));
  CHECK(f.still_serves());
}

TEST_CASE("server frees the worker and the connection of a client that left while its handler ran",
          "[server][disconnect]") {
  disconnect_fixture f(1);
  const auto how = GENERATE(leave::fin, leave::rst);
  INFO("client leaves with " << name_of(how));
  const auto baseline = open_sockets();
  {
    auto c = f.connect();
    c.send(get_request("/block"));
    REQUIRE(f.state.gate.wait_entered(1));
    go_away(c, how);
  }
  f.state.gate.release();
  // The only worker is back: a new client is answered, and nothing is left open.
  CHECK(f.still_serves());
  CHECK(wait_for_sockets_at_most(baseline));
}

TEST_CASE("server answers a client that half-closes after sending its request",
          "[server][disconnect]") {
  disconnect_fixture f;
  auto c = f.connect();
  c.send(get_request("/hello"));
  c.shutdown_send();  // `nc -N` does this: the request is complete, the reply still wanted
  auto r = c.read_response();
  CHECK(r.status == 200);
  CHECK(r.body == "hello");
  CHECK(c.closed_by_peer());
}

TEST_CASE("server stops a stream's producer promptly when the client leaves mid-stream",
          "[server][disconnect][stream]") {
  disconnect_fixture f;
  const auto how = GENERATE(leave::fin, leave::rst);
  const std::string path = GENERATE(as<std::string>{}, "/forever-sync", "/forever-async",
                                    "/forever-events", "/quiet-events");
  INFO(path << ", client leaves with " << name_of(how));
  auto probe = path == "/forever-sync"    ? f.sync_probe
               : path == "/forever-async" ? f.async_probe
               : path == "/quiet-events"  ? f.quiet_probe
                                          : f.sse_probe;
  const std::string seen = path == "/quiet-events"     ? "data: 0\n\n"
                           : path == "/forever-events" ? "data: 5\n\n"
                                                       : "chunk 5\n";
  // The route holds one reference and the live generator another: the generator is gone once
  // only the route's and ours remain.
  const auto idle_refs = probe.use_count();
  const auto baseline = open_sockets();
  {
    auto c = f.connect();
    c.send(get_request(path));
    c.fill_until(seen);
    CHECK(probe.use_count() > idle_refs);  // streaming
    go_away(c, how);
  }
  // Closed and destroyed well before any deadline (and, for /quiet-events, before its next
  // event, 60 s away: the server noticed by reading, not by failing a write).
  CHECK(vial::test::eventually([&] { return probe.use_count() == idle_refs; }));
  const int produced = probe->produced.load();
  std::this_thread::sleep_for(100ms);  // a live producer would make ~50 more chunks meanwhile
  CHECK(probe->produced.load() == produced);
  CHECK(wait_for_sockets_at_most(baseline));
  CHECK(f.still_serves());
}

TEST_CASE("a sync stream blocked in next() is stopped through its token when the client leaves",
          "[server][disconnect][stream]") {
  disconnect_fixture f;
  const auto how = GENERATE(leave::fin, leave::rst);
  INFO("client leaves with " << name_of(how));
  auto& probe = f.waiting_probe;
  const auto idle_refs = probe.use_count();
  const auto baseline = open_sockets();
  {
    auto c = f.connect();
    c.send(get_request("/waiting-sync"));
    c.fill_until("first\n");
    REQUIRE(vial::test::eventually([&] { return probe->produced.load() == 2; }));  // blocked
    go_away(c, how);
  }
  // The server noticed while next() was still running (it runs off the connection's strand)
  // and stopped the token: next() returned within the bound, not after its minute.
  CHECK(vial::test::eventually([&] { return probe->stop_seen.load(); }));
  CHECK(vial::test::eventually([&] { return probe.use_count() == idle_refs; }));
  std::this_thread::sleep_for(100ms);
  CHECK(probe->produced.load() == 2);  // never called again after the client left
  CHECK(wait_for_sockets_at_most(baseline));
  CHECK(f.still_serves());
}

TEST_CASE("server survives many clients leaving at every stage and ends with no open socket",
          "[server][disconnect]") {
  disconnect_fixture f(2);
  const auto baseline = open_sockets();
  for (int round = 0; round < 10; ++round) {
    const auto how = round % 2 == 0 ? leave::fin : leave::rst;
    {
      auto c = f.connect();  // connects and leaves without a byte
      go_away(c, how);
    }
    {
      auto c = f.connect();
      c.send("GE");
      go_away(c, how);
    }
    {
      auto c = f.connect();
      c.send("POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\nabc");
      go_away(c, how);
    }
    {
      auto c = f.connect();
      c.send(get_request("/forever-async"));
      c.fill_until("chunk");
      go_away(c, how);
    }
    {
      auto c = f.connect();
      c.send(get_request("/hello") + get_request("/hello"));  // leaves with an answer unread
      go_away(c, how);
    }
  }
  CHECK(wait_for_sockets_at_most(baseline));
  CHECK(f.still_serves());
}
