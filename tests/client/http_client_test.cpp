#include "vial/client/http_client.hpp"

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <boost/system/system_error.hpp>

#include "support/catch.hpp"
#include "support/fd_count.hpp"
#include "upstream.hpp"
#include "vial/async/bridge.hpp"
#include "vial/async/error.hpp"
#include "vial/async/gather.hpp"
#include "vial/async/timeout.hpp"
#include "vial/testing/test_client.hpp"

using namespace std::chrono_literals;
using vial::client_errc;
using vial::client_error;
using vial::client_response;
using vial::http_client;
using vial::test::upstream;

namespace {

client_response get(http_client& client, std::string url, vial::request_options o = {}) {
  return vial::async_to_sync(client.get(std::move(url), std::move(o)));
}

client_errc kind_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const client_error& e) {
    return e.kind();
  }
  FAIL("no client_error was thrown");
  return client_errc::invalid_url;
}

}  // namespace

TEST_CASE("get returns the status, headers, body and url of a loopback upstream",
          "[client][basics]") {
  upstream up;
  http_client client;
  auto r = get(client, up.url("/hello"));
  CHECK(r.status() == 200);
  CHECK(r.ok());
  CHECK(r.text() == "hello");
  CHECK(r.headers().get_or("x-upstream", "") == "yes");
  CHECK(r.headers().get_or("Content-Length", "") == "5");
  CHECK(r.url() == up.url("/hello"));
}

TEST_CASE("an unknown path comes back as a response, not an exception", "[client][basics]") {
  upstream up;
  http_client client;
  auto r = get(client, up.url("/nope"));
  CHECK(r.status() == 404);
  CHECK_FALSE(r.ok());
  CHECK(r.text() == "no such path");
  CHECK_THROWS_WITH(r.raise_for_status(), "upstream " + up.url("/nope") + " answered 404");
}

TEST_CASE("json parses the body and names the URL when the body is not JSON", "[client][json]") {
  upstream up;
  http_client client;
  auto r = get(client, up.url("/json"));
  CHECK(r.json()["name"] == "vial");
  CHECK(r.json()["n"] == 3);
  auto bad = get(client, up.url("/not-json"));
  CHECK_THROWS_AS(bad.json(), client_error);
  CHECK(kind_of([&] { (void)bad.json(); }) == client_errc::invalid_json);
  CHECK_THROWS_WITH(bad.json(), Catch::Matchers::StartsWith("response from " + up.url("/not-json") +
                                                            " is not valid JSON"));
}

TEST_CASE("post sends a JSON body with its content type", "[client][body]") {
  upstream up;
  http_client client;
  auto r = vial::async_to_sync(client.post(up.url("/echo"), nlohmann::json{{"a", 1}}));
  auto j = r.json();
  CHECK(j["method"] == "POST");
  CHECK(j["content_type"] == "application/json");
  CHECK(nlohmann::json::parse(j["body"].get<std::string>()) == nlohmann::json{{"a", 1}});
  CHECK(j["user_agent"] == "vial-client/0.1");
  CHECK(j["host"] == "127.0.0.1:" + std::to_string(up.port()));
}

TEST_CASE("request options carry headers, a raw body and query arguments", "[client][body]") {
  upstream up;
  http_client client;
  vial::request_options o;
  o.headers.set("X-Token", "abc");
  o.headers.set("Content-Type", "text/csv");
  o.body = "a,b\n1,2\n";
  o.query.add("q", "a b&c");
  o.query.add("page", "2");
  auto j = vial::async_to_sync(client.put(up.url("/echo?x=1"), std::move(o))).json();
  CHECK(j["method"] == "PUT");
  CHECK(j["x_token"] == "abc");
  CHECK(j["content_type"] == "text/csv");
  CHECK(j["body"] == "a,b\n1,2\n");
  CHECK(j["target"] == "/echo?x=1&q=a%20b%26c&page=2");
}

TEST_CASE("delete_ and patch send their method, and head reads no body", "[client][body]") {
  upstream up;
  http_client client;
  CHECK(vial::async_to_sync(client.delete_(up.url("/echo"))).json()["method"] == "DELETE");
  CHECK(vial::async_to_sync(client.patch(up.url("/echo"))).json()["method"] == "PATCH");
  auto h = vial::async_to_sync(client.head(up.url("/hello")));
  CHECK(h.status() == 200);
  CHECK(h.text().empty());
  CHECK(h.headers().get_or("Content-Length", "") == "5");
  // The connection stays usable after a HEAD.
  CHECK(get(client, up.url("/hello")).text() == "hello");
  CHECK(client.connections_opened() == 1);
}

TEST_CASE("a chunked response is reassembled", "[client][framing]") {
  upstream up;
  http_client client;
  auto r = get(client, up.url("/chunked"));
  CHECK(r.status() == 200);
  CHECK(r.text() == "hello world");
}

TEST_CASE("a response over max_response_bytes fails with too_large", "[client][limits]") {
  upstream up;
  http_client client({.max_response_bytes = 1000});
  CHECK(get(client, up.url("/hello")).text() == "hello");
  CHECK_THROWS_WITH(get(client, up.url("/big")),
                    "response from " + up.url("/big") + " is larger than 1000 bytes");
  CHECK(kind_of([&] { get(client, up.url("/big")); }) == client_errc::too_large);
  vial::request_options o;
  o.max_response_bytes = 200000;
  CHECK(get(client, up.url("/big"), o).text().size() == 100000);
}

TEST_CASE("redirects are followed and bounded", "[client][redirect]") {
  upstream up;
  http_client client({.max_redirects = 3});
  SECTION("a chain within the limit lands") {
    auto r = get(client, up.url("/redirect/3"));
    CHECK(r.status() == 200);
    CHECK(r.text() == "landed");
    CHECK(r.url() == up.url("/redirect/0"));
  }
  SECTION("a chain past the limit fails") {
    CHECK_THROWS_WITH(get(client, up.url("/redirect/4")),
                      "too many redirects (more than 3) starting at " + up.url("/redirect/4"));
    CHECK(kind_of([&] { get(client, up.url("/loop")); }) == client_errc::too_many_redirects);
  }
  SECTION("303 turns a POST into a GET without its body") {
    auto j =
        vial::async_to_sync(client.post(up.url("/see-other"), nlohmann::json{{"a", 1}})).json();
    CHECK(j["method"] == "GET");
    CHECK(j["body"] == "");
  }
  SECTION("307 keeps the method and the body, resolving a relative Location") {
    auto j =
        vial::async_to_sync(client.post(up.url("/temporary"), nlohmann::json{{"a", 1}})).json();
    CHECK(j["method"] == "POST");
    CHECK(j["body"] == R"({"a":1})");
  }
  SECTION("follow_redirects = false returns the redirect itself") {
    vial::request_options o;
    o.follow_redirects = false;
    auto r = get(client, up.url("/redirect/2"), o);
    CHECK(r.status() == 302);
    CHECK(r.headers().get_or("Location", "") == "/redirect/1");
  }
}

TEST_CASE("an upstream that is down fails with connect and maps to 502", "[client][errors]") {
  std::string url;
  {
    upstream up;  // take a free port, then close it
    url = up.url("/hello");
  }
  http_client client;
  try {
    get(client, url);
    FAIL("expected client_error");
  } catch (const client_error& e) {
    CHECK(e.kind() == client_errc::connect);
    CHECK(e.code() == client_errc::connect);
    CHECK(std::string(e.what()).starts_with("cannot connect to " + url + ": "));
    const vial::error_status& s = e;
    CHECK(s.http_status() == 502);
  }
}

TEST_CASE("an unresolvable host fails with resolve", "[client][errors]") {
  http_client client({.request_timeout = 10s});
  CHECK(kind_of([&] { get(client, "http://no-such-host.invalid/x"); }) == client_errc::resolve);
}

TEST_CASE("a malformed URL fails with invalid_url", "[client][errors]") {
  http_client client;
  CHECK_THROWS_WITH(get(client, "ftp://example.com/"),
                    "invalid URL 'ftp://example.com/': scheme 'ftp' is not http or https");
  CHECK_THROWS_WITH(get(client, "example.com/x"),
                    "invalid URL 'example.com/x': missing scheme (http:// or https://)");
  CHECK_THROWS_WITH(get(client, "http://127.0.0.1:99999/"),
                    "invalid URL 'http://127.0.0.1:99999/': bad port '99999'");
}

TEST_CASE("an upstream that sends garbage fails with malformed_response", "[client][errors]") {
  upstream up;
  http_client client;
  CHECK(kind_of([&] { get(client, up.url("/garbage")); }) == client_errc::malformed_response);
  CHECK_THROWS_WITH(get(client, up.url("/garbage")),
                    Catch::Matchers::StartsWith("malformed response from " + up.url("/garbage")));
}

TEST_CASE("an upstream that closes mid-body fails with closed", "[client][errors]") {
  upstream up;
  http_client client;
  CHECK_THROWS_WITH(get(client, up.url("/cut")),
                    up.url("/cut") + " closed the connection before the response was complete");
  CHECK(kind_of([&] { get(client, up.url("/silent-close")); }) == client_errc::closed);
  CHECK(client.idle_connections() == 0);
}

TEST_CASE("a hanging upstream hits the request deadline and its connection is closed",
          "[client][timeout]") {
  upstream up;
  http_client client({.pool_size_per_host = 1, .request_timeout = 200ms});
  const auto start = std::chrono::steady_clock::now();
  CHECK_THROWS_AS(get(client, up.url("/hang")), vial::timeout_error);
  CHECK(std::chrono::steady_clock::now() - start < 2s);
  CHECK(up.wait_for_disconnects(1, 5s));
  // The only slot was released: the next call gets a fresh connection.
  CHECK(get(client, up.url("/hello")).text() == "hello");
  CHECK(client.connections_opened() == 2);
  CHECK_THROWS_WITH(get(client, up.url("/hang")),
                    "request to " + up.url("/hang") + " timed out after 200 ms");
}

TEST_CASE("a silent upstream hits the read timeout", "[client][timeout]") {
  upstream up;
  http_client client({.read_timeout = 150ms});
  CHECK_THROWS_WITH(get(client, up.url("/hang")),
                    "no response from " + up.url("/hang") + " within 150 ms (read timeout)");
  CHECK(up.wait_for_disconnects(1, 5s));
}

TEST_CASE("a per-call timeout overrides the client's", "[client][timeout]") {
  upstream up;
  http_client client({.request_timeout = 60s});
  vial::request_options o;
  o.timeout = 100ms;
  CHECK_THROWS_AS(get(client, up.url("/delay/2000"), o), vial::timeout_error);
  o.timeout = 5s;
  CHECK(get(client, up.url("/delay/10"), o).text() == "slept");
}

TEST_CASE("cancelling the caller with with_timeout closes the connection mid-request",
          "[client][timeout]") {
  upstream up;
  http_client client({.pool_size_per_host = 1});
  CHECK_THROWS_WITH(vial::async_to_sync(vial::with_timeout(client.get(up.url("/hang")), 100ms)),
                    "operation timed out after 100 ms");
  CHECK(up.wait_for_disconnects(1, 5s));
  CHECK(client.idle_connections() == 0);
  CHECK(get(client, up.url("/hello")).text() == "hello");
  CHECK(client.connections_opened() == 2);
}

TEST_CASE("an exhausted pool makes callers wait rather than fail", "[client][pool]") {
  upstream up;
  http_client client({.pool_size_per_host = 2});
  std::vector<vial::task<client_response>> calls;
  for (int i = 0; i < 6; ++i) calls.push_back(client.get(up.url("/delay/50")));
  const auto start = std::chrono::steady_clock::now();
  auto results = vial::async_to_sync(vial::gather(std::move(calls)));
  const auto took = std::chrono::steady_clock::now() - start;
  REQUIRE(results.size() == 6);
  for (auto& r : results) CHECK(r.text() == "slept");
  CHECK(client.connections_opened() == 2);
  CHECK(took >= 150ms);  // three waves of two
}

TEST_CASE("a waiter that reaches its deadline while the pool is full times out", "[client][pool]") {
  upstream up;
  http_client client({.pool_size_per_host = 1});
  vial::request_options slow, quick;
  slow.timeout = 5s;
  quick.timeout = 100ms;
  auto both = vial::gather_settled(client.get(up.url("/delay/500"), slow),
                                   client.get(up.url("/hello"), quick));
  auto [first, second] = vial::async_to_sync(std::move(both));
  CHECK(first.value().text() == "slept");
  CHECK_THROWS_AS(second.value(), vial::timeout_error);
}

TEST_CASE("three requests fanning out widely leave room for a fourth, which answers promptly",
          "[client][pool][fairness]") {
  upstream up;
  http_client client({.pool_size_per_host = 8, .max_connections_per_caller = 2});
  // Three hogs, each a request (its own thread and bridge context) with six slow calls: without
  // a per-caller bound their 18 calls take all 8 connections and queue ahead of anyone else.
  std::vector<std::thread> hogs;
  std::atomic<int> hog_calls_ok{0};
  for (int h = 0; h < 3; ++h) {
    hogs.emplace_back([&] {
      std::vector<vial::task<client_response>> calls;
      for (int i = 0; i < 6; ++i) calls.push_back(client.get(up.url("/delay/1000")));
      for (auto& r : vial::async_to_sync(vial::gather(std::move(calls)))) {
        if (r.text() == "slept") ++hog_calls_ok;
      }
    });
  }
  const auto bound = std::chrono::steady_clock::now() + 10s;
  while (up.accepted() < 6 && std::chrono::steady_clock::now() < bound) {
    std::this_thread::yield();
  }
  REQUIRE(up.accepted() >= 6);
  const auto start = std::chrono::steady_clock::now();
  auto polite = vial::async_to_sync(client.get(up.url("/hello")));
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(polite.text() == "hello");
  CHECK(took < 800ms);  // the hogs' calls each hold a connection for 1000 ms
  for (auto& t : hogs) t.join();
  CHECK(hog_calls_ok == 18);  // each hog's calls ran in turn, two at a time
  CHECK(client.connections_opened() <= 7);
}

TEST_CASE("a caller's calls beyond max_connections_per_caller wait their turn",
          "[client][pool][fairness]") {
  upstream up;
  http_client client({.max_connections_per_caller = 2});
  std::vector<vial::task<client_response>> calls;
  for (int i = 0; i < 6; ++i) calls.push_back(client.get(up.url("/delay/50")));
  const auto start = std::chrono::steady_clock::now();
  auto results = vial::async_to_sync(vial::gather(std::move(calls)));
  const auto took = std::chrono::steady_clock::now() - start;
  for (auto& r : results) CHECK(r.text() == "slept");
  CHECK(client.connections_opened() == 2);
  CHECK(took >= 150ms);  // three turns of two
}

TEST_CASE("a call that finds the pool full past pool_wait_timeout fails with pool_exhausted",
          "[client][pool][fairness]") {
  upstream up;
  http_client client({.pool_size_per_host = 1, .pool_wait_timeout = 100ms});
  auto both = vial::gather_settled(client.get(up.url("/delay/1000")), client.get(up.url("/hello")));
  auto [slow, waiting] = vial::async_to_sync(std::move(both));
  CHECK(slow.value().text() == "slept");
  try {
    waiting.value();
    FAIL("the waiting call succeeded");
  } catch (const client_error& e) {
    CHECK(e.kind() == client_errc::pool_exhausted);
    CHECK(e.http_status() == 503);
    CHECK_THAT(e.what(), Catch::Contains("no connection to http://127.0.0.1:") &&
                             Catch::Contains("within 100 ms"));
  }
}

TEST_CASE("one client reused by several threads reuses its connections", "[client][pool]") {
  upstream up;
  http_client client;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        // Each async_to_sync run has a private context that is reset afterwards, like a
        // request on a worker; the pooled connection must survive it.
        auto r = (t % 2 == 0) ? vial::async_to_sync(client.get(up.url("/hello")))
                              : client.get_sync(up.url("/hello"));
        if (r.text() == "hello") ++ok;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(ok == 40);
  CHECK(client.requests_sent() == 40);
  CHECK(client.connections_opened() <= 4);
  CHECK(up.accepted() == client.connections_opened());
}

TEST_CASE("a stale keep-alive connection is replaced transparently", "[client][pool]") {
  upstream up;
  http_client client;
  CHECK(get(client, up.url("/drop")).text() == "dropped");  // the upstream closes it after
  CHECK(up.wait_for_disconnects(1, 5s));
  CHECK(get(client, up.url("/hello")).text() == "hello");
  CHECK(client.connections_opened() == 2);
  CHECK(client.requests_sent() == 3);  // one failed attempt on the stale connection
}

TEST_CASE("several stale keep-alive connections are all replaced for a GET", "[client][pool]") {
  upstream up;
  http_client client;
  std::vector<vial::task<client_response>> calls;
  for (int i = 0; i < 3; ++i) calls.push_back(client.get(up.url("/drop")));
  vial::async_to_sync(vial::gather(std::move(calls)));  // three pooled, then closed by the peer
  REQUIRE(up.wait_for_disconnects(3, 5s));
  REQUIRE(client.connections_opened() == 3);
  CHECK(get(client, up.url("/hello")).text() == "hello");
  CHECK(client.connections_opened() == 4);
  CHECK(client.requests_sent() == 7);  // one failed attempt on each stale connection
}

TEST_CASE("idle connections are closed after the idle timeout", "[client][pool]") {
  upstream up;
  http_client client({.idle_timeout = 50ms});
  CHECK(get(client, up.url("/hello")).text() == "hello");
  CHECK(up.wait_for_disconnects(1, 5s));
  CHECK(client.idle_connections() == 0);
}

TEST_CASE("the idle sweep closes the old connections and keeps the fresh ones", "[client][pool]") {
  upstream up;
  http_client client({.idle_timeout = 1000ms});  // swept every 500 ms
  std::vector<vial::task<client_response>> calls;
  for (int i = 0; i < 2; ++i) calls.push_back(client.get(up.url("/delay/50")));
  vial::async_to_sync(vial::gather(std::move(calls)));
  REQUIRE(client.idle_connections() == 2);
  // One of the two is used again 600 ms later: the other expires at least 600 ms before it,
  // so one sweep sees an expired connection in front of a fresh one.
  std::this_thread::sleep_for(600ms);
  CHECK(get(client, up.url("/hello")).text() == "hello");
  CHECK(up.wait_for_disconnects(1, 5s));
  CHECK(client.idle_connections() == 1);
  CHECK(get(client, up.url("/hello")).text() == "hello");
  CHECK(client.connections_opened() == 2);
}

TEST_CASE("gather of 20 calls to a 200 ms upstream takes about 200 ms", "[client][fanout]") {
  upstream up;
  http_client client;
  std::vector<vial::task<client_response>> calls;
  for (int i = 0; i < 20; ++i) calls.push_back(client.get(up.url("/delay/200")));
  const auto start = std::chrono::steady_clock::now();
  auto results = vial::async_to_sync(vial::gather(std::move(calls)));
  const auto took = std::chrono::steady_clock::now() - start;
  for (auto& r : results) CHECK(r.text() == "slept");
  CHECK(took >= 200ms);
  CHECK(took < 600ms);
}

TEST_CASE("fetch works from sync code called inside a coroutine", "[client][sync]") {
  upstream up;
  http_client client;
  auto sync_helper = [&] { return client.fetch(vial::method::get, up.url("/hello")).text(); };
  auto handler = [&]() -> vial::task<std::string> {
    // async_to_sync would throw bridge_error here; fetch does not need the caller's context.
    CHECK_THROWS_AS(vial::async_to_sync(client.get(up.url("/hello"))), vial::bridge_error);
    co_return sync_helper();
  };
  CHECK(vial::async_to_sync(handler()) == "hello");
  CHECK(client.get_sync(up.url("/json")).json()["n"] == 3);
}

TEST_CASE("destroying the client cancels calls still in flight", "[client][lifetime]") {
  upstream up;
  auto client = std::make_unique<http_client>();
  std::thread t(
      [&] { CHECK_THROWS_AS(client->get_sync(up.url("/hang")), boost::system::system_error); });
  // Destroy once the call has reached the upstream.
  while (up.accepted() == 0) std::this_thread::yield();
  client.reset();
  t.join();
  CHECK(up.wait_for_disconnects(1, 5s));
}

TEST_CASE("each faulty upstream answer fails with its kind, and a 502 that names the fault only",
          "[client][errors][faults]") {
  upstream up;
  http_client client;
  struct fault {
    const char* path;
    client_errc kind;
    const char* description;
  };
  const auto f = GENERATE(
      fault{"/not-http", client_errc::malformed_response,
            "The upstream sent a malformed response."},
      fault{"/garbage", client_errc::malformed_response, "The upstream sent a malformed response."},
      fault{"/bad-chunk", client_errc::malformed_response,
            "The upstream sent a malformed response."},
      fault{"/half-head", client_errc::closed,
            "The upstream closed the connection before the response was complete."},
      fault{"/cut", client_errc::closed,
            "The upstream closed the connection before the response was complete."},
      fault{"/cut-chunk", client_errc::closed,
            "The upstream closed the connection before the response was complete."},
      fault{"/silent-close", client_errc::closed,
            "The upstream closed the connection before the response was complete."},
      fault{"/huge-header", client_errc::too_large, "The upstream's response was too large."});
  INFO(f.path);
  try {
    get(client, up.url(f.path));
    FAIL("expected client_error");
  } catch (const client_error& e) {
    CHECK(e.kind() == f.kind);
    CHECK(std::string(e.what()).find(up.url(f.path)) != std::string::npos);  // for the log
    const vial::error_status& s = e;
    CHECK(s.http_status() == 502);
    CHECK(s.http_description() == f.description);  // for the client: no URL
  }
  CHECK(client.idle_connections() == 0);
  CHECK(get(client, up.url("/hello")).text() == "hello");  // the client is still fine
}

TEST_CASE("upstream faults and timeouts leave no socket open in the client",
          "[client][errors][faults]") {
  upstream up;
  http_client client({.read_timeout = 2s, .request_timeout = 150ms});
  const auto baseline = vial::test::open_sockets();
  const std::vector<std::string> faults{"/not-http",     "/half-head",   "/bad-chunk",
                                        "/cut-chunk",    "/huge-header", "/cut",
                                        "/silent-close", "/hang",        "/delay/400"};
  for (int round = 0; round < 3; ++round) {
    for (const auto& path : faults) {
      CHECK_THROWS(get(client, up.url(path)));
    }
    // Concurrently too: the first failure cancels the siblings still in flight.
    std::vector<vial::task<client_response>> calls;
    for (const auto& path : faults) calls.push_back(client.get(up.url(path)));
    for (int i = 0; i < 5; ++i) calls.push_back(client.get(up.url("/delay/50")));
    CHECK_THROWS(vial::async_to_sync(vial::gather(std::move(calls))));
  }
  CHECK(client.idle_connections() == 0);
  CHECK(vial::test::wait_for_sockets_at_most(baseline));
  CHECK(get(client, up.url("/hello")).text() == "hello");
}

TEST_CASE("calls made while a request is handled carry its X-Request-Id", "[client][request_id]") {
  upstream up;
  http_client client;
  vial::app app({.proxy = {.x_request_id = true}});
  app.get("/sync", [&] { return client.get_sync(up.url("/echo")).text(); });
  app.get("/async", [&]() -> vial::task<std::string> {
    auto r = co_await client.get(up.url("/echo"));
    co_return r.text();
  });
  app.get("/own", [&] {
    return client.get_sync(up.url("/echo"), {.headers = {{"X-Request-Id", "mine"}}}).text();
  });
  vial::test_client tc(app);
  for (const char* path : {"/sync", "/async"}) {
    CAPTURE(path);
    auto r = tc.get(path, {.headers = {{"X-Request-Id", "trace-7"}}});
    CHECK(nlohmann::json::parse(r.text())["x_request_id"] == "trace-7");
    auto generated = tc.get(path);
    CHECK(nlohmann::json::parse(generated.text())["x_request_id"] ==
          generated.header("X-Request-Id").value_or("?"));
  }
  CHECK(nlohmann::json::parse(tc.get("/own").text())["x_request_id"] == "mine");
  // Outside a request nothing is added.
  CHECK(nlohmann::json::parse(get(client, up.url("/echo")).text())["x_request_id"] == "");
}

TEST_CASE("a POST is not sent on a pooled connection the upstream closed while idle",
          "[client][pool][stale]") {
  upstream up;
  http_client client;
  auto post = [&](std::string path) {
    return vial::async_to_sync(client.post(up.url(path), {.body = "payload"}));
  };
  CHECK(post("/idle-close/20").status() == 200);
  REQUIRE(up.wait_for_disconnects(1, 5s));  // closed by the upstream while in our pool
  auto r = post("/echo");
  CHECK(r.status() == 200);
  CHECK(nlohmann::json::parse(r.text())["body"] == "payload");
  CHECK(client.connections_opened() == 2);
  CHECK(client.requests_sent() == 2);  // never written to the closed connection
}

TEST_CASE("a POST reuses a pooled connection the upstream keeps open", "[client][pool][stale]") {
  upstream up;
  http_client client;
  for (int i = 0; i < 3; ++i) {
    CHECK(vial::async_to_sync(client.post(up.url("/echo"), {.body = "x"})).status() == 200);
  }
  CHECK(client.connections_opened() == 1);
}

TEST_CASE("a GET on a connection the upstream closed while idle is retried on a new one",
          "[client][pool][stale]") {
  upstream up;
  http_client client;
  CHECK(get(client, up.url("/idle-close/20")).status() == 200);
  REQUIRE(up.wait_for_disconnects(1, 5s));
  CHECK(get(client, up.url("/hello")).text() == "hello");
  CHECK(client.connections_opened() == 2);
}
