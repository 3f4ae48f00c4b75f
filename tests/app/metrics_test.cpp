#include "vial/app/metrics.hpp"

#include <array>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "support/catch.hpp"
#include "vial/app.hpp"
#include "vial/async.hpp"
#include "vial/routing/error.hpp"
#include "vial/testing/test_client.hpp"

namespace {

/// The value of the sample line starting with `series` ("name{labels}"), or -1 when absent.
double sample_value(const std::string& text, const std::string& series) {
  std::size_t at = 0;
  while ((at = text.find(series + " ", at)) != std::string::npos) {
    if (at == 0 || text[at - 1] == '\n') {
      const auto value_at = at + series.size() + 1;
      return std::stod(text.substr(value_at, text.find('\n', value_at) - value_at));
    }
    at += series.size();
  }
  return -1;
}

std::size_t occurrences(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE(
    "a label value's backslash, double quote and newline are escaped, and help text's "
    "backslash and newline",
    "[app][metrics]") {
  vial::metrics_writer out;
  out.counter("x_total", "line one\nback\\slash \"quoted\"", 3,
              {{"path", "a\\b\"c\nd"}, {"plain", "ok"}});
  CHECK(out.str() ==
        "# HELP x_total line one\\nback\\\\slash \"quoted\"\n"
        "# TYPE x_total counter\n"
        "x_total{path=\"a\\\\b\\\"c\\nd\",plain=\"ok\"} 3\n");
}

TEST_CASE("histogram buckets are cumulative and end in +Inf, followed by _sum and _count",
          "[app][metrics]") {
  vial::metrics_writer out;
  const std::array<double, 3> bounds{0.005, 0.1, 1};
  const std::array<std::uint64_t, 4> counts{2, 0, 3, 1};  // one above the last bound
  out.histogram("d_seconds", "latency", bounds, counts, 4.25, {{"route", "/a"}});
  CHECK(out.str() ==
        "# HELP d_seconds latency\n"
        "# TYPE d_seconds histogram\n"
        "d_seconds_bucket{route=\"/a\",le=\"0.005\"} 2\n"
        "d_seconds_bucket{route=\"/a\",le=\"0.1\"} 2\n"
        "d_seconds_bucket{route=\"/a\",le=\"1\"} 5\n"
        "d_seconds_bucket{route=\"/a\",le=\"+Inf\"} 6\n"
        "d_seconds_sum{route=\"/a\"} 4.25\n"
        "d_seconds_count{route=\"/a\"} 6\n");
}

TEST_CASE("samples of one family added apart are written together under one header",
          "[app][metrics]") {
  vial::metrics_writer out;
  out.gauge("open", "open now", 1, {{"client", "a"}});
  out.gauge("other", "something else", 2.5);
  out.gauge("open", "open now", 4, {{"client", "b"}});
  CHECK(out.str() ==
        "# HELP open open now\n# TYPE open gauge\n"
        "open{client=\"a\"} 1\nopen{client=\"b\"} 4\n"
        "# HELP other something else\n# TYPE other gauge\nother 2.5\n");
}

TEST_CASE("requests are counted by route rule, method and status, misses under one label",
          "[app][metrics]") {
  vial::app app;
  app.get("/hello", [] { return "hi"; });
  app.route("/users/<int:id>", {"GET", "POST"}, [](int id) {
    if (id == 0) vial::abort(404);
    return std::to_string(id);
  });
  vial::add_metrics_route(app);
  vial::test_client client(app);
  client.get("/hello");
  client.get("/hello");
  client.get("/users/1");
  client.get("/users/2");
  client.post("/users/3");
  client.get("/users/0");
  client.get("/nowhere/1");
  client.get("/nowhere/2");
  client.post("/hello");  // 405

  auto scrape = client.get("/metrics");
  REQUIRE(scrape.status() == 200);
  CHECK(scrape.content_type() == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(scrape.header("Cache-Control") == "no-store");
  const std::string& text = scrape.text();
  CHECK(sample_value(text,
                     R"(vial_http_requests_total{route="/hello",method="GET",status="200"})") == 2);
  CHECK(sample_value(
            text,
            R"(vial_http_requests_total{route="/users/<int:id>",method="GET",status="200"})") == 2);
  CHECK(sample_value(
            text,
            R"(vial_http_requests_total{route="/users/<int:id>",method="POST",status="200"})") ==
        1);
  CHECK(sample_value(
            text,
            R"(vial_http_requests_total{route="/users/<int:id>",method="GET",status="404"})") == 1);
  // Raw paths never become label values: every miss shares one.
  CHECK(sample_value(
            text, R"(vial_http_requests_total{route="<unmatched>",method="GET",status="404"})") ==
        2);
  CHECK(sample_value(
            text, R"(vial_http_requests_total{route="<unmatched>",method="POST",status="405"})") ==
        1);
  CHECK(text.find("/nowhere") == std::string::npos);
  CHECK(sample_value(text,
                     R"(vial_http_request_duration_seconds_count{route="/users/<int:id>"})") == 4);
  CHECK(sample_value(
            text, R"(vial_http_request_duration_seconds_bucket{route="/hello",le="+Inf"})") == 2);
  // The scrape itself is the one request in flight.
  CHECK(sample_value(text, "vial_http_requests_in_flight") == 1);
  CHECK(occurrences(text, "# TYPE vial_http_requests_total counter") == 1);
  CHECK(occurrences(text, "# TYPE vial_http_request_duration_seconds histogram") == 1);
  CHECK(sample_value(text, "vial_blocking_pool_threads") == 8);
  CHECK(sample_value(text, "vial_blocking_pool_overloads_total") == 0);
  CHECK(sample_value(text, R"(vial_background_jobs{state="queued"})") == 0);
  CHECK(sample_value(text, "vial_bridge_leftovers_cancelled_total") >= 0);

  // The scrape is counted once it answered.
  auto again = client.get("/metrics").text();
  CHECK(sample_value(
            again, R"(vial_http_requests_total{route="/metrics",method="GET",status="200"})") == 1);
}

TEST_CASE("a duration is counted in the first bucket whose bound it does not pass, in seconds",
          "[app][metrics]") {
  using namespace std::chrono_literals;
  vial::metrics_registry registry({0.001, 0.01});
  registry.bind_routes({"/a"});
  const auto now = vial::metrics_registry::clock::now();
  registry.begin();
  registry.end(0, vial::method::get, 200, now - 5ms);
  registry.begin();
  registry.end(0, vial::method::get, 200, now - 50ms);
  // A start after the end (not from begin()) is a zero duration, not a wrapped one.
  registry.begin();
  registry.end(0, vial::method::get, 200, now + 1h);
  vial::metrics_writer out;
  registry.write(out);
  const std::string text = out.str();
  const std::string bucket = R"(vial_http_request_duration_seconds_bucket{route="/a",le=)";
  CHECK(sample_value(text, bucket + R"("0.001"})") == 1);
  CHECK(sample_value(text, bucket + R"("0.01"})") == 2);
  CHECK(sample_value(text, bucket + R"("+Inf"})") == 3);
  const double sum = sample_value(text, R"(vial_http_request_duration_seconds_sum{route="/a"})");
  CHECK(sum >= 0.055);
  CHECK(sum < 3600);
}

TEST_CASE("a request is in flight from begin until it is answered or abandoned", "[app][metrics]") {
  vial::metrics_registry registry({0.1});
  registry.bind_routes({"/a", "/b"});
  const auto first = registry.begin();
  const auto second = registry.begin();
  registry.begin();
  registry.begin();
  registry.end(0, vial::method::get, 200, first);
  registry.end(1, vial::method::post, 201, second);
  registry.abandon();
  vial::metrics_writer out;
  registry.write(out);
  CHECK(sample_value(out.str(), "vial_http_requests_in_flight") == 1);
}

TEST_CASE("a coroutine route is counted once, bridged or on the event loop", "[app][metrics]") {
  vial::app app;
  app.get("/bridged", []() -> vial::task<std::string> { co_return "b"; });
  app.get("/loop", []() -> vial::task<std::string> { co_return "l"; },
          {.coroutines = vial::coroutine_mode::event_loop});
  vial::add_metrics_route(app);
  vial::test_client client(app);
  client.get("/bridged");
  client.get("/loop");
  const auto text = client.get("/metrics").text();
  CHECK(sample_value(
            text, R"(vial_http_requests_total{route="/bridged",method="GET",status="200"})") == 1);
  CHECK(sample_value(text,
                     R"(vial_http_requests_total{route="/loop",method="GET",status="200"})") == 1);
}

TEST_CASE("blocking-pool overloads, background work by state and user collectors are scraped",
          "[app][metrics]") {
  vial::app app({.blocking_threads = 1, .max_queued_blocking = 0});
  std::atomic<int> custom{7};
  vial::add_metrics_route(app, {.collect = {[&](vial::metrics_writer& out) {
                                  out.gauge("my_queue", "mine", custom.load());
                                }}});
  vial::test_client client(app);
  // The pool's one thread busy and no queue: the next submission is refused, as to_thread's.
  std::atomic<bool> entered{false}, release{false};
  app.blocking().submit([&] {
    entered = true;
    while (!release.load()) std::this_thread::yield();
  });
  while (!entered.load()) std::this_thread::yield();
  CHECK_FALSE(app.blocking().try_submit([] {}));
  release = true;
  app.background([] {}, "ok").wait_for(std::chrono::seconds(10));
  app.background([] { throw std::runtime_error("no"); }, "bad").wait_for(std::chrono::seconds(10));
  const auto text = client.get("/metrics").text();
  CHECK(sample_value(text, "vial_blocking_pool_overloads_total") == 1);
  CHECK(sample_value(text, R"(vial_background_jobs_finished_total{state="done"})") == 1);
  CHECK(sample_value(text, R"(vial_background_jobs_finished_total{state="failed"})") == 1);
  CHECK(sample_value(text, "my_queue") == 7);
}

TEST_CASE("metrics buckets that do not ascend, and a second metrics route, are setup errors",
          "[app][metrics]") {
  vial::app app;
  CHECK_THROWS_AS(vial::add_metrics_route(app, {.buckets = {0.1, 0.05}}), vial::setup_error);
  vial::add_metrics_route(app);
  CHECK_THROWS_AS(vial::add_metrics_route(app, {.path = "/other"}), vial::setup_error);
}
