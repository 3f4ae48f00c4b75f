#include "vial/server/server.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <future>
#include <mutex>
#include <stop_token>
#include <system_error>
#include <thread>
#include <vector>

#include "routing/match_count.hpp"
#include "server/test_app.hpp"
#include "support/catch.hpp"
#include "support/eventually.hpp"
#include "support/log_capture.hpp"
#include "support/raw_client.hpp"
#include "vial/testing/test_client.hpp"

using namespace std::chrono_literals;
using vial::test::get_request;
using vial::test::raw_client;

namespace {

// An app with the test routes, served on an ephemeral loopback port.
struct server_fixture {
  explicit server_fixture(vial::server_options o = {})
      : srv(make_app(app, state), with_port0(std::move(o))) {
    srv.start();
  }
  static vial::app& make_app(vial::app& a, vial::test::test_state& s) {
    vial::test::add_test_routes(a, s);
    return a;
  }
  static vial::server_options with_port0(vial::server_options o) {
    o.port = 0;
    return o;
  }
  raw_client connect(std::chrono::milliseconds timeout = 5000ms) {
    return raw_client(srv.port(), timeout);
  }
  // A fresh connection still gets an answer: the server survived what came before.
  bool still_serves() {
    auto c = connect();
    c.send(get_request("/hello"));
    auto r = c.read_response();
    return r.status == 200 && r.body == "hello";
  }

  vial::app app;
  vial::test::test_state state;
  vial::server srv;
};

}  // namespace

TEST_CASE("server answers GET on a keep-alive connection with Date and Server and Content-Length",
          "[server][http11]") {
  server_fixture f;
  auto c = f.connect();
  for (int i = 0; i < 3; ++i) {
    REQUIRE(c.send(get_request("/hello")));
    auto r = c.read_response();
    CHECK(r.status == 200);
    CHECK(r.body == "hello");
    CHECK(r.header("Content-Length") == "5");
    CHECK(r.header("Server") == "vial");
    CHECK(r.header("Date").ends_with(" GMT"));
    CHECK_FALSE(r.has_header("Connection"));
  }
}

TEST_CASE("server reports the ephemeral port and stops idempotently", "[server][lifecycle]") {
  server_fixture f;
  CHECK(f.srv.port() != 0);
  CHECK(f.srv.running());
  f.srv.stop();
  CHECK_FALSE(f.srv.running());
  f.srv.stop();
  f.srv.wait();
  CHECK_THROWS_AS(raw_client(f.srv.port()).send(get_request("/hello")) &&
                      raw_client(f.srv.port()).read_response().status == 200,
                  std::runtime_error);
}

TEST_CASE("run_until_signal serves until SIGTERM, then stops and returns the signal",
          "[server][lifecycle]") {
  vial::app app;
  vial::test::test_state state;
  vial::test::add_test_routes(app, state);
  vial::server srv(app, vial::server_options{.port = 0});
  std::uint16_t reported = 0;
  std::string body;
  int received = srv.run_until_signal([&](const vial::server& s) {
    reported = s.port();
    raw_client c(s.port());
    c.send(get_request("/hello"));
    body = c.read_response().body;
    std::raise(SIGTERM);  // handled by run_until_signal, not fatal
  });
  CHECK(received == SIGTERM);
  CHECK(reported != 0);
  CHECK(body == "hello");
  CHECK_FALSE(srv.running());
}

TEST_CASE("run_until_signal stops the server when the start callback throws",
          "[server][lifecycle]") {
  vial::app app;
  vial::test::test_state state;
  vial::test::add_test_routes(app, state);
  vial::server srv(app, vial::server_options{.port = 0});
  CHECK_THROWS_WITH(srv.run_until_signal([](const vial::server&) {
    throw std::runtime_error("cannot write the port file");
  }),
                    "cannot write the port file");
  CHECK_FALSE(srv.running());
}

TEST_CASE("server start throws system_error when the port is taken", "[server][lifecycle]") {
  server_fixture f;
  vial::app other;
  vial::server second(other, vial::server_options{.port = f.srv.port()});
  CHECK_THROWS_AS(second.start(), std::system_error);
  CHECK(f.still_serves());
}

TEST_CASE("server runs coroutine routes", "[server][async]") {
  server_fixture f;
  auto c = f.connect();
  c.send(get_request("/hello-async"));
  auto r = c.read_response();
  CHECK(r.status == 200);
  CHECK(r.body == "hello async");
}

TEST_CASE("server answers pipelined requests in order", "[server][http11]") {
  server_fixture f;
  auto c = f.connect();
  c.send(get_request("/slow") + get_request("/hello") +
         "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc" +
         get_request("/hello-async"));
  CHECK(c.read_response().body == "slow done");
  CHECK(c.read_response().body == "hello");
  CHECK(c.read_response().body == "abc");
  CHECK(c.read_response().body == "hello async");
}

TEST_CASE("server closes HTTP/1.0 connections unless keep-alive is asked for", "[server][http10]") {
  server_fixture f;
  SECTION("without keep-alive") {
    auto c = f.connect();
    c.send("GET /hello HTTP/1.0\r\n\r\n");
    auto r = c.read_response();
    CHECK(r.status == 200);
    CHECK(r.body == "hello");
    CHECK(r.header("Connection") == "close");
    CHECK(c.closed_by_peer());
  }
  SECTION("with keep-alive") {
    auto c = f.connect();
    for (int i = 0; i < 2; ++i) {
      c.send("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
      auto r = c.read_response();
      CHECK(r.status == 200);
      CHECK(r.header("Connection") == "keep-alive");
    }
  }
}

TEST_CASE("server closes after answering Connection: close", "[server][http11]") {
  server_fixture f;
  auto c = f.connect();
  c.send(get_request("/hello", "Connection: close\r\n"));
  auto r = c.read_response();
  CHECK(r.body == "hello");
  CHECK(r.header("Connection") == "close");
  CHECK(c.closed_by_peer());
}

TEST_CASE("server sends HEAD answers with the GET Content-Length and no body", "[server][http11]") {
  server_fixture f;
  auto c = f.connect();
  c.send("HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  auto r = c.read_response(true);
  CHECK(r.status == 200);
  CHECK(r.header("Content-Length") == "5");
  c.send(get_request("/hello"));  // a body would show up as garbage before this answer
  auto next = c.read_response();
  CHECK(next.status == 200);
  CHECK(next.body == "hello");
}

TEST_CASE("server sends no Content-Length or body with 204", "[server][http11]") {
  server_fixture f;
  auto c = f.connect();
  c.send(get_request("/nothing") + get_request("/hello"));
  auto r = c.read_response();
  CHECK(r.status == 204);
  CHECK_FALSE(r.has_header("Content-Length"));
  CHECK(c.read_response().body == "hello");
}

TEST_CASE("server answers Expect: 100-continue before the body is sent", "[server][http11]") {
  server_fixture f;
  auto c = f.connect();
  c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  auto interim = c.read_response();
  CHECK(interim.status == 100);
  c.send("12345");
  auto r = c.read_response();
  CHECK(r.status == 200);
  CHECK(r.body == "12345");
}

TEST_CASE("server decodes chunked request bodies", "[server][http11]") {
  server_fixture f;
  auto c = f.connect();
  c.send(
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  auto r = c.read_response();
  CHECK(r.status == 200);
  CHECK(r.body == "hello world");
  c.send(get_request("/hello"));
  CHECK(c.read_response().body == "hello");
}

TEST_CASE("server writes the access log", "[server][log]") {
  std::mutex m;
  std::condition_variable cv;
  std::vector<vial::access_record> records;
  server_fixture f(vial::server_options{.access_log = [&](const vial::access_record& r) {
    std::lock_guard lock(m);
    records.push_back(r);
    cv.notify_all();
  }});
  auto c = f.connect();
  c.send(get_request("/hello?x=1"));
  c.read_response();
  c.send("GET /missing HTTP/1.1\r\nHost: x\r\n\r\n");
  c.read_response();
  // The record is written once the answer has left, which may be just after the client has it.
  std::unique_lock lock(m);
  cv.wait_for(lock, 2s, [&] { return records.size() >= 2; });
  REQUIRE(records.size() == 2);
  CHECK(records[0].method == "GET");
  CHECK(records[0].target == "/hello?x=1");
  CHECK(records[0].status == 200);
  CHECK(records[0].bytes == 5);
  CHECK(records[0].remote.starts_with("127.0.0.1:"));
  CHECK(records[1].status == 404);
}

// ---- hostile input ---------------------------------------------------------------------------

TEST_CASE("server rejects malformed and smuggling-prone requests and keeps serving",
          "[server][hostile]") {
  server_fixture f(
      vial::server_options{.max_header_bytes = 4096, .max_body_bytes = 1024, .max_uri_bytes = 512});
  struct hostile_case {
    const char* name;
    std::string wire;
    int status;
  };
  auto big_header =
      "GET /hello HTTP/1.1\r\nHost: x\r\nX-Fill: " + std::string(5000, 'a') + "\r\n\r\n";
  auto long_uri = "GET /" + std::string(600, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n";
  auto smuggled = get_request("/hello");
  auto hostile = GENERATE_COPY(values<hostile_case>({
      {"malformed request line", "GARBAGE\r\n\r\n", 400},
      {"bad header line", "GET /hello HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n", 400},
      {"header section too large", big_header, 431},
      {"URI too long", long_uri, 414},
      {"unsupported transfer coding",
       "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501},
      {"final coding not chunked",
       "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n" + smuggled, 400},
      {"chunked twice",
       "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n" +
           smuggled,
       400},
      {"Content-Length and Transfer-Encoding",
       "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: "
       "chunked\r\n\r\n0\r\n\r\n" +
           smuggled,
       400},
      {"Transfer-Encoding then Content-Length",
       "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: "
       "5\r\n\r\n0\r\n\r\n" +
           smuggled,
       400},
      {"two different Content-Lengths",
       "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 40\r\n\r\nabc" +
           smuggled,
       400},
      {"missing Host", "GET /hello HTTP/1.1\r\n\r\n", 400},
      {"two Hosts", "GET /hello HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
      {"invalid Host", "GET /hello HTTP/1.1\r\nHost: a b/c\r\n\r\n", 400},
      {"invalid Host port", "GET /hello HTTP/1.1\r\nHost: a:80x\r\n\r\n", 400},
      {"unsupported version", "GET /hello HTTP/2.0\r\nHost: x\r\n\r\n", 505},
      {"body larger than the limit",
       "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n", 413},
      {"chunked body larger than the limit",
       "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n" +
           std::string(2048, 'b') + "\r\n0\r\n\r\n",
       413},
      {"chunk extension over 4 KiB",
       "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;a=" +
           std::string(20000, 'x'),
       400},
      {"chunk size with 20000 leading zeros",
       "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
           std::string(20000, '0') + "5\r\nhello\r\n0\r\n\r\n",
       400},
      {"trailer section over the header limit",
       "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n" +
           std::string(5000, 'a') + ": b\r\n\r\n" + smuggled,
       431},
      {"obs-fold in Transfer-Encoding",
       "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n" +
           smuggled,
       400},
      {"obs-fold in Content-Length",
       "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n 3\r\n\r\nabc" + smuggled, 400},
      {"lowercase HTTP-name", "GET /hello http/1.1\r\nHost: x\r\n\r\n", 400},
  }));
  INFO(hostile.name);
  auto c = f.connect();
  c.send(hostile.wire);
  auto r = c.read_response();
  CHECK(r.status == hostile.status);
  CHECK(r.header("Connection") == "close");
  // Whatever followed in the buffer is never answered as a second request.
  CHECK(c.closed_by_peer());
  CHECK(c.pending().find("HTTP/1.1") == std::string::npos);
  CHECK(f.still_serves());
}

TEST_CASE("server answers 413 from the header alone without reading the body",
          "[server][hostile]") {
  server_fixture f(vial::server_options{.max_body_bytes = 1024});
  auto c = f.connect();
  // The body is never sent: the answer must not wait for it.
  c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 50000000\r\n\r\n");
  auto r = c.read_response();
  CHECK(r.status == 413);
  CHECK(f.still_serves());
}

TEST_CASE("server applies a route's own body limit", "[server][limits]") {
  server_fixture f(vial::server_options{.max_body_bytes = 1024});
  auto c = f.connect();
  std::string body(100000, 'u');
  c.send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + body);
  auto r = c.read_response();
  CHECK(r.status == 200);
  CHECK(r.body == "100000");
  auto c2 = f.connect();
  c2.send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n");
  CHECK(c2.read_response().status == 413);
}

TEST_CASE("server routes each request once, body limit and dispatch alike", "[server][routing]") {
#ifdef NDEBUG
  WARN("router matches are counted in debug builds only");
#else
  server_fixture f(vial::server_options{.max_body_bytes = 1024});
  auto c = f.connect();
  const auto before = vial::detail::router_match_count();
  std::string body(2000, 'u');
  c.send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n" + body);
  auto r = c.read_response();
  CHECK(r.status == 200);
  CHECK(r.body == "2000");
  REQUIRE(c.send(get_request("/hello")));
  CHECK(c.read_response().status == 200);
  CHECK(vial::detail::router_match_count() == before + 2);
#endif
}

TEST_CASE("server applies the URI limit to the request-target, not to a long header field",
          "[server][limits]") {
  // The field is longer than the URI limit and than one socket read (8 KiB), so the server
  // sees it in a later read, after the parser consumed the request line.
  server_fixture f;
  auto c = f.connect();
  c.send("GET /hello HTTP/1.1\r\nHost: x\r\nX-Long: " + std::string(10000, 'v') + "\r\n\r\n");
  auto r = c.read_response();
  CHECK(r.status == 200);
  CHECK(r.body == "hello");
}

TEST_CASE("server answers a bad request-target with 400 and keeps the connection",
          "[server][hostile]") {
  server_fixture f;
  auto c = f.connect();
  c.send("GET /a%zz HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(c.read_response().status == 400);
  c.send(get_request("/hello"));
  CHECK(c.read_response().body == "hello");
}

TEST_CASE("server answers 408 and closes when the header arrives too slowly",
          "[server][hostile][timeout]") {
  server_fixture f(vial::server_options{.header_timeout = 300ms});
  auto c = f.connect();
  auto started = std::chrono::steady_clock::now();
  std::string wire = get_request("/hello");
  std::optional<vial::test::raw_response> answer;
  for (char ch : wire) {  // one byte every 50 ms: 37 bytes would take ~1.8 s
    if (!c.send(std::string_view(&ch, 1))) break;
    pollfd p{c.fd(), POLLIN, 0};
    if (::poll(&p, 1, 50) > 0) break;
  }
  auto r = c.read_response();
  auto took = std::chrono::steady_clock::now() - started;
  CHECK(r.status == 408);
  CHECK(r.header("Connection") == "close");
  CHECK(took >= 250ms);
  CHECK(took < 1500ms);
  CHECK(c.closed_by_peer());
  CHECK(f.still_serves());
}

TEST_CASE("server closes idle keep-alive connections after the keep-alive timeout",
          "[server][timeout]") {
  server_fixture f(vial::server_options{.keep_alive_timeout = 200ms});
  auto c = f.connect();
  c.send(get_request("/hello"));
  CHECK(c.read_response().status == 200);
  auto started = std::chrono::steady_clock::now();
  CHECK(c.closed_by_peer());
  CHECK(std::chrono::steady_clock::now() - started < 2s);
}

TEST_CASE("server cuts off a client that stops reading at the write deadline and frees the worker",
          "[server][hostile][timeout]") {
  server_fixture f(vial::server_options{.io_threads = 1, .worker_threads = 1, .write_timeout = 1s});
  raw_client c(f.srv.port(), 5000ms, 4096);
  c.send(get_request("/big"));
  // The single worker is free for others while the big answer is stuck: a worker held by the
  // write would answer only after the 1 s deadline. (The margin is for sanitizer builds.)
  auto t0 = std::chrono::steady_clock::now();
  CHECK(f.still_serves());
  CHECK(std::chrono::steady_clock::now() - t0 < 700ms);
  // Past the deadline the server has closed: the client gets far less than the body.
  std::this_thread::sleep_for(1300ms);  // lets the deadline pass; not a readiness wait
  auto read_started = std::chrono::steady_clock::now();
  std::string got;
  try {
    got = c.read_to_eof();
  } catch (const std::runtime_error&) {
    FAIL("connection still open after the write deadline");
  }
  CHECK(std::chrono::steady_clock::now() - read_started < 2s);
  CHECK(got.size() < 32u * 1024 * 1024);
  CHECK(f.still_serves());
}

TEST_CASE("server keeps answering new clients with 500 idle keep-alive connections open",
          "[server][idle]") {
  server_fixture f(vial::server_options{.worker_threads = 4});
  std::vector<raw_client> idle;
  idle.reserve(500);
  for (int i = 0; i < 500; ++i) {
    idle.emplace_back(f.srv.port());
    idle.back().send(get_request("/hello"));
  }
  for (auto& c : idle) REQUIRE(c.read_response().status == 200);  // all accepted, now idle
  auto started = std::chrono::steady_clock::now();
  auto fresh = f.connect();
  fresh.send(get_request("/hello"));
  auto r = fresh.read_response();
  auto took = std::chrono::steady_clock::now() - started;
  CHECK(r.status == 200);
  CHECK(took < 100ms);
}

TEST_CASE("server answers 503 with Retry-After when the request queue is full",
          "[server][overload]") {
  server_fixture f(
      vial::server_options{.io_threads = 1, .worker_threads = 1, .max_queued_requests = 1});
  auto first = f.connect();
  first.send(get_request("/block"));
  REQUIRE(f.state.gate.wait_entered(1));
  auto second = f.connect();
  auto third = f.connect();
  second.send(get_request("/block"));
  third.send(get_request("/block"));
  // One of them is queued, the other is refused; which one depends on arrival order.
  std::optional<vial::test::raw_response> refused;
  raw_client* waiting = nullptr;
  for (auto* c : {&second, &third}) {
    pollfd p{c->fd(), POLLIN, 0};
    if (::poll(&p, 1, 2000) > 0 && !refused) {
      refused = c->read_response();
      waiting = c == &second ? &third : &second;
    }
  }
  REQUIRE(refused);
  CHECK(refused->status == 503);
  CHECK(refused->header("Retry-After") == "1");
  f.state.gate.release();
  CHECK(first.read_response().body == "unblocked");
  CHECK(waiting->read_response().body == "unblocked");
  // A refused request is not a framing error: the connection stays usable.
  refused.reset();
  auto& again = waiting == &second ? third : second;
  again.send(get_request("/hello"));
  CHECK(again.read_response().body == "hello");
}

TEST_CASE("server finishes 100 in-flight requests on a graceful stop", "[server][lifecycle]") {
  server_fixture f(vial::server_options{.worker_threads = 8});
  std::vector<raw_client> clients;
  clients.reserve(100);
  for (int i = 0; i < 100; ++i) {
    clients.emplace_back(f.srv.port());
    clients.back().send(get_request("/hello"));
  }
  for (auto& c : clients) REQUIRE(c.read_response().status == 200);  // all accepted
  // Each request waits for the stop to begin before it answers, so every answer comes from a
  // draining server (a /slow that finished before a late stopper thread began stays keep-alive).
  for (auto& c : clients) c.send(get_request("/slow-in-stop"));
  auto stopper = std::async(std::launch::async, [&] { f.srv.stop(); });
  int complete = 0;
  for (auto& c : clients) {
    auto r = c.read_response();
    if (r.status == 200 && r.body == "slow done") ++complete;
    CHECK(r.header("Connection") == "close");
  }
  stopper.get();
  CHECK(complete == 100);
  CHECK_FALSE(f.srv.running());
}

// ---- streaming -------------------------------------------------------------------------------

TEST_CASE("server sends a sync stream with chunked encoding", "[server][stream]") {
  server_fixture f;
  auto c = f.connect();
  c.send(get_request("/stream"));
  auto r = c.read_response();
  CHECK(r.status == 200);
  CHECK(r.header("Transfer-Encoding") == "chunked");
  CHECK_FALSE(r.has_header("Content-Length"));
  CHECK(r.body == "chunk0;chunk1;chunk2;");
  c.send(get_request("/hello"));
  CHECK(c.read_response().body == "hello");
}

TEST_CASE("server streams to HTTP/1.0 clients by closing at the end", "[server][stream]") {
  server_fixture f;
  auto c = f.connect();
  c.send("GET /stream HTTP/1.0\r\n\r\n");
  auto r = c.read_response();
  CHECK(r.body == "chunk0;chunk1;chunk2;");
  CHECK_FALSE(r.has_header("Transfer-Encoding"));
}

TEST_CASE("server sends server-sent events", "[server][stream][sse]") {
  server_fixture f;
  auto c = f.connect();
  c.send(get_request("/events"));
  auto r = c.read_response();
  CHECK(r.header("Content-Type") == "text/event-stream");
  CHECK(r.header("Cache-Control") == "no-cache");
  CHECK(r.body == "data: event 0\n\ndata: event 1\n\n");
}

TEST_CASE(
    "a graceful stop ends a sync stream waiting on its stop token long before shutdown_timeout",
    "[server][stream][lifecycle]") {
  // The generator sends one chunk, then waits up to a minute in next() unless stopped.
  auto stopped = std::make_shared<std::atomic<bool>>(false);
  vial::app app;
  app.get("/waiting", [stopped] {
    return vial::stream(
        [stopped, first = true](std::stop_token stop) mutable -> std::optional<std::string> {
          if (std::exchange(first, false)) return std::string("first\n");
          std::mutex m;
          std::condition_variable_any cv;
          std::unique_lock lock(m);
          cv.wait_for(lock, stop, 60s, [] { return false; });
          *stopped = stop.stop_requested();
          return std::nullopt;
        });
  });
  vial::server srv(app, {.port = 0, .shutdown_timeout = 30s});
  srv.start();
  raw_client c(srv.port(), 20s);
  c.send(get_request("/waiting"));
  c.fill_until("first\n");
  const auto began = std::chrono::steady_clock::now();
  auto stopper = std::async(std::launch::async, [&] { srv.stop(); });
  // The producer's token is stopped, its next() returns, and the body ends properly.
  const auto body = c.read_to_eof();
  CHECK(body.ends_with("0\r\n\r\n"));
  stopper.get();
  CHECK(*stopped);
  CHECK(std::chrono::steady_clock::now() - began < 10s);  // not the 30 s shutdown_timeout
}

TEST_CASE("server flushes each chunk and closes a coroutine stream when the client leaves",
          "[server][stream]") {
  server_fixture f;
  {
    auto c = f.connect();
    c.send(get_request("/ticks"));
    c.fill_until("tick 0\n");  // arrives before the stream has ended: flushed per chunk
    c.fill_until("tick 2\n");
  }  // the client leaves
  auto deadline = std::chrono::steady_clock::now() + 3s;
  while (!f.state.stream_closed->load() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);  // polling for an effect with a bound, not for readiness
  }
  CHECK(f.state.stream_closed->load());
  CHECK(f.still_serves());
}

TEST_CASE("server answers a trailer value over 64 KiB with 431 and keeps serving",
          "[server][limits][hostile]") {
  // Beast threw std::length_error for it; nothing answered and the client waited 30 s.
  server_fixture f(vial::server_options{.max_header_bytes = 1024 * 1024});
  auto c = f.connect();
  c.send(
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n0\r\nX-Big: " +
      std::string(70000, 'v') + "\r\n\r\n");
  auto r = c.read_response();
  CHECK(r.status == 431);
  CHECK(r.header("Connection") == "close");
  CHECK(c.closed_by_peer());
  CHECK(f.still_serves());
}

TEST_CASE("server closes an HTTP/1.0 connection after a chunked request despite keep-alive",
          "[server][hostile]") {
  server_fixture f;
  auto c = f.connect();
  c.send(
      "POST /echo HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n0\r\n\r\n" +
      get_request("/hello"));
  auto r = c.read_response();
  CHECK(r.status == 200);
  CHECK(r.body == "abc");
  CHECK(c.closed_by_peer());
  CHECK(c.pending().find("HTTP/1.1") == std::string::npos);
}

TEST_CASE("a CR or LF sent by a client cannot start a new log line", "[server][log][hostile]") {
  vial::testing::log_capture log;
  std::mutex m;
  std::vector<vial::access_record> records;
  vial::app app;
  vial::test::test_state state;
  vial::test::add_test_routes(app, state);
  app.set_logger(log.logger());
  app.get("/say/<path:text>", [&app](std::string_view text) {
    app.logger().info(std::string("said ") + std::string(text));
    return "ok";
  });
  app.get("/fail/<path:text>", [](std::string_view text) -> std::string {
    throw std::runtime_error("failed on " + std::string(text));
  });
  vial::server srv(app, {.port = 0, .access_log = [&](const vial::access_record& r) {
                           std::lock_guard lock(m);
                           records.push_back(r);
                         }});
  srv.start();
  raw_client c(srv.port());
  c.send(get_request("/say/x%0D%0AERROR%20vial:%20forged%09%01%7F"));
  CHECK(c.read_response().status == 200);
  c.send(get_request("/fail/x%0AERROR%20forged"));
  CHECK(c.read_response().status == 500);
  srv.stop();
  for (const auto& line : log.lines()) {
    CAPTURE(line);
    CHECK(line.find_first_of("\r\n") == std::string::npos);
  }
  CHECK(log.contains("said x\\r\\nERROR vial: forged\\t\\x01\\x7f"));
  CHECK(log.contains("failed on x\\nERROR forged"));
  std::lock_guard lock(m);
  REQUIRE(records.size() == 2);
  for (const auto& r : records) CHECK(r.target.find_first_of("\r\n") == std::string::npos);
}

TEST_CASE("escape_controls writes control characters as escapes and leaves the rest",
          "[server][log]") {
  CHECK(vial::escape_controls("a\r\nb\tc") == "a\\r\\nb\\tc");
  CHECK(vial::escape_controls(std::string_view("\x00\x1b\x7f", 3)) == "\\x00\\x1b\\x7f");
  CHECK(vial::escape_controls("caf\xc3\xa9 \\n") == "caf\xc3\xa9 \\n");
}

// ---- connection limit ------------------------------------------------------------------------

TEST_CASE("at max_connections the connection idle longest is closed to make room",
          "[server][limits]") {
  // A connection counts as idle once the server has finished writing its response, which may
  // be a moment after the client read it: the access record, written just before, says when.
  std::atomic<int> answered{0};
  server_fixture f(vial::server_options{
      .max_connections = 2,
      .keep_alive_timeout = 60s,  // idle connections outlive the test unless the limit closes them
      .access_log = [&](const vial::access_record&) { ++answered; }});
  auto first = f.connect();
  first.send(get_request("/hello"));
  REQUIRE(first.read_response().status == 200);
  REQUIRE(vial::test::eventually([&] { return answered == 1; }));
  auto second = f.connect();
  second.send(get_request("/hello"));
  REQUIRE(second.read_response().status == 200);
  // Both are idle; a third client makes the server close the one idle longest.
  auto third = f.connect();
  third.send(get_request("/hello"));
  CHECK(third.read_response().status == 200);
  CHECK(first.closed_by_peer());
  second.send(get_request("/hello"));
  CHECK(second.read_response().status == 200);
}

TEST_CASE("at max_connections with none idle the server stops accepting until one is free",
          "[server][limits]") {
  vial::testing::log_capture log;
  vial::app app;
  vial::test::test_state state;
  vial::test::add_test_routes(app, state);
  app.set_logger(log.logger());
  vial::server srv(app, {.port = 0, .max_connections = 1});
  srv.start();
  raw_client busy(srv.port());
  busy.send(get_request("/block"));
  REQUIRE(state.gate.wait_entered(1));
  // The kernel completes the handshake (listen backlog), but the server does not accept it
  // while the only connection is busy.
  raw_client waiting(srv.port());
  waiting.send(get_request("/hello"));
  pollfd answer{waiting.fd(), POLLIN, 0};
  CHECK(::poll(&answer, 1, 300) == 0);  // nothing in 300 ms
  CHECK(vial::test::eventually([&] { return log.contains("connection limit reached (1 open"); }));
  state.gate.release();
  CHECK(busy.read_response().body == "unblocked");
  // The busy connection went idle: it is closed for the waiting one, which is then served.
  auto r = waiting.read_response();
  CHECK(r.status == 200);
  CHECK(r.body == "hello");
  CHECK(busy.closed_by_peer());
}

TEST_CASE("a server serves an inherited listening socket and refuses a descriptor that is not one",
          "[server][listen_fd]") {
  vial::app app;
  app.get("/hello", [] { return std::string("hello"); });
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  SECTION("not listening: start throws and leaves the descriptor alone") {
    vial::server srv(app, {.port = 0, .listen_fd = fd});
    CHECK_THROWS_AS(srv.start(), std::system_error);
    CHECK(::close(fd) == 0);
  }
  SECTION("listening: served on its port, whatever options.port says") {
    REQUIRE(::listen(fd, 16) == 0);
    socklen_t length = sizeof address;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    vial::server srv(app, {.port = 1, .listen_fd = fd});
    srv.start();
    CHECK(srv.port() == ntohs(address.sin_port));
    raw_client c(srv.port());
    c.send(get_request("/hello"));
    CHECK(c.read_response().body == "hello");
    srv.stop();  // and closes the descriptor, which the server owned
  }
}

TEST_CASE("systemd_listen_fd takes the socket only when LISTEN_PID names this process",
          "[server][listen_fd]") {
  ::setenv("LISTEN_FDS", "1", 1);
  ::setenv("LISTEN_PID", "1", 1);  // another process's
  CHECK(vial::systemd_listen_fd() == -1);
  CHECK(std::getenv("LISTEN_FDS") == nullptr);  // cleared either way
  ::setenv("LISTEN_FDS", "1", 1);
  ::setenv("LISTEN_PID", std::to_string(::getpid()).c_str(), 1);
  CHECK(vial::systemd_listen_fd() == 3);
  CHECK(std::getenv("LISTEN_PID") == nullptr);
  CHECK(vial::systemd_listen_fd() == -1);
}
