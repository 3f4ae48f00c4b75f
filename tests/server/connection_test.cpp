#include "server/connection.hpp"

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "server/request_reader.hpp"
#include "server/server_fixture.hpp"
#include "support/catch.hpp"
#include "support/eventually.hpp"
#include "support/raw_client.hpp"
#include "vial/async/timeout.hpp"

using namespace std::chrono_literals;
using vial::server_detail::connection;
using vial::test::get_request;
using vial::test::raw_client;

namespace {

// The test routes, plus one that reports the size of a request header.
struct buffer_fixture : vial::test::server_fixture {
  buffer_fixture()
      : server_fixture({}, [](vial::app& a) {
          a.get("/header-size", [](const vial::request& r) {
            return std::to_string(r.headers().get("X-Big").value_or("").size());
          });
        }) {}
};

bool no_read_buffer() {
  return vial::test::eventually([] { return connection::read_buffer_bytes() == 0; }, 2s);
}

}  // namespace

TEST_CASE("an idle keep-alive connection holds no read buffer", "[server][memory]") {
  buffer_fixture f;
  auto c = f.connect();
  for (int i = 0; i < 3; ++i) {
    REQUIRE(c.send(get_request("/hello")));
    auto r = c.read_response();
    CHECK(r.status == 200);
    CHECK(r.body == "hello");
    CHECK(no_read_buffer());  // between requests
  }
}

TEST_CASE("a request in flight with nothing pipelined holds no read buffer", "[server][memory]") {
  buffer_fixture f;
  auto c = f.connect();
  REQUIRE(c.send(get_request("/block")));
  REQUIRE(f.state.gate.wait_entered(1));
  CHECK(connection::read_buffer_bytes() == 0);
  f.state.gate.release();
  CHECK(c.read_response().body == "unblocked");
}

TEST_CASE("a request in flight holds no parser state, on a worker or on the event loop",
          "[server][memory]") {
  using vial::server_detail::request_reader;
  buffer_fixture f;
  auto c = f.connect();
  REQUIRE(c.send(get_request("/block")));
  REQUIRE(f.state.gate.wait_entered(1));
  CHECK(request_reader::states() == 0);  // the request was taken: the parser went with it
  f.state.gate.release();
  CHECK(c.read_response().body == "unblocked");

  vial::app app;
  std::atomic<bool> entered{false};
  app.get("/held",
          [&entered](const vial::request&) -> vial::task<std::string> {
            entered = true;
            co_await vial::sleep_for(300ms);  // suspended on the loop, holding no thread
            co_return "done";
          },
          {.coroutines = vial::coroutine_mode::event_loop});
  vial::server srv(app, {.port = 0});
  srv.start();
  raw_client held(srv.port());
  REQUIRE(held.send(get_request("/held")));
  REQUIRE(vial::test::eventually([&] { return entered.load(); }, 5s));
  CHECK(request_reader::states() == 0);
  CHECK(held.read_response().body == "done");
}

TEST_CASE("a request pipelined behind one in flight is kept and answered in order",
          "[server][memory]") {
  buffer_fixture f;
  auto c = f.connect();
  REQUIRE(c.send(get_request("/block") + get_request("/hello")));
  REQUIRE(f.state.gate.wait_entered(1));
  f.state.gate.release();
  CHECK(c.read_response().body == "unblocked");
  CHECK(c.read_response().body == "hello");
  CHECK(no_read_buffer());
}

TEST_CASE("a stream being written holds no read buffer and still notices the client leave",
          "[server][memory]") {
  buffer_fixture f;
  {
    auto c = f.connect();
    REQUIRE(c.send(get_request("/ticks")));
    c.fill_until("tick 1");
    CHECK(no_read_buffer());
  }
  CHECK(vial::test::eventually([&] { return f.state.stream_closed->load(); }));
}

TEST_CASE("a header section near max_header_bytes is read whole past the first small read",
          "[server][memory]") {
  buffer_fixture f;
  auto c = f.connect();
  const std::string big(15000, 'h');  // the default limit is 16 KiB
  REQUIRE(c.send(get_request("/header-size", "X-Big: " + big + "\r\n") + get_request("/hello")));
  auto r = c.read_response();
  CHECK(r.status == 200);
  CHECK(r.body == "15000");
  CHECK(c.read_response().body == "hello");
  CHECK(no_read_buffer());
}

TEST_CASE("a large body and the requests pipelined after it are read correctly",
          "[server][memory]") {
  buffer_fixture f;
  auto c = f.connect();
  std::string body(300000, '\0');
  for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 26);
  REQUIRE(c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                 std::to_string(body.size()) + "\r\n\r\n" + body + get_request("/hello") +
                 "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"));
  auto r = c.read_response();
  CHECK(r.status == 200);
  CHECK(r.body.size() == body.size());
  CHECK(r.body == body);
  CHECK(c.read_response().body == "hello");
  CHECK(c.read_response().body == "abcde");
  CHECK(no_read_buffer());
}

TEST_CASE("a request sent a few bytes at a time is read", "[server][memory]") {
  buffer_fixture f;
  auto c = f.connect();
  const std::string request = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
  for (std::size_t i = 0; i < request.size(); i += 7) {
    REQUIRE(c.send(std::string_view(request).substr(i, 7)));
    std::this_thread::sleep_for(1ms);  // separate segments, not readiness
  }
  CHECK(c.read_response().body == "hello");
}

TEST_CASE(
    "a connection closing after a refusal drops what its client still sends and holds no "
    "read buffer",
    "[server][memory][hostile]") {
  buffer_fixture f;
  auto c = f.connect();
  REQUIRE(c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 50000000\r\n\r\n"));
  CHECK(c.read_response().status == 413);
  const auto answered = std::chrono::steady_clock::now();
  REQUIRE(c.send(std::string(32 * 1024, 'b')));  // part of the body, under the linger budget
  CHECK(no_read_buffer());
  // Found while the connection still lingers (1 s), not after it closed.
  CHECK(std::chrono::steady_clock::now() - answered < 900ms);
  auto next = f.connect();
  REQUIRE(next.send(get_request("/hello")));
  CHECK(next.read_response().body == "hello");
}

TEST_CASE("a closing connection whose client sends past the linger budget is closed at once",
          "[server][hostile]") {
  buffer_fixture f;
  auto c = f.connect();
  REQUIRE(c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 50000000\r\n\r\n"));
  CHECK(c.read_response().status == 413);
  const auto answered = std::chrono::steady_clock::now();
  // The server drops up to 128 KiB, then closes: a send fails once its reset arrives.
  const std::string chunk(64 * 1024, 'b');
  bool refused = false;
  for (int i = 0; i < 1024 && !refused; ++i) refused = !c.send(chunk);
  CHECK(refused);
  CHECK(std::chrono::steady_clock::now() - answered < 900ms);  // the linger time is 1 s
}
