#include <stdexcept>
#include <string>
#include <vector>

#include "support/catch.hpp"
#include "vial/app/app.hpp"
#include "vial/async/error.hpp"
#include "vial/client/error.hpp"
#include "vial/http/json.hpp"
#include "vial/testing/test_client.hpp"

using vial::test_client;

namespace {
struct app_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct db_error : app_error {
  using app_error::app_error;
};
struct missing_row : db_error {
  using db_error::db_error;
};
}  // namespace

TEST_CASE("an exception escaping a handler is a logged 500 naming the route", "[app][errors]") {
  std::vector<std::string> lines;
  vial::app app;
  app.set_logger(vial::logger([&](vial::log_level, std::string_view m) { lines.emplace_back(m); }));
  app.get("/boom", []() -> std::string { throw std::runtime_error("kaput"); });
  app.get("/ok", [] { return "still serving"; });
  test_client client(app);
  auto r = client.get("/boom");
  CHECK(r.status() == 500);
  CHECK(r.text().find("kaput") == std::string::npos);  // internals are not leaked
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].ends_with("] GET /boom: unhandled exception (500): kaput"));  // "[id] ..."
  CHECK(client.get("/ok").text() == "still serving");
}

TEST_CASE("error handlers by status handle aborts and routing misses", "[app][errors]") {
  vial::app app;
  app.errorhandler(404, [](const vial::http_error&) {
    return std::tuple{nlohmann::json{{"error", "Not found"}}, 404};
  });
  app.errorhandler(405, [](vial::request&, const vial::http_error& e) {
    return std::tuple{nlohmann::json{{"error", e.description()}}, e.status()};
  });
  app.get("/gone", []() -> std::string { vial::abort(404); });
  app.get("/only-get", [] { return ""; });
  test_client client(app);
  CHECK(client.get("/nothing").json()["error"] == "Not found");
  CHECK(client.get("/gone").json()["error"] == "Not found");
  auto r = client.post("/only-get");
  CHECK(r.status() == 405);
  CHECK(r.header("Allow") == "GET, HEAD, OPTIONS");  // kept although the handler set none
}

TEST_CASE("error handlers by type pick the most derived registered type", "[app][errors]") {
  vial::app app;
  // Registered base first: ordering must not depend on registration order.
  app.errorhandler<app_error>([](const app_error&) { return std::tuple{"app", 400}; });
  app.errorhandler<missing_row>([](const missing_row&) { return std::tuple{"row", 404}; });
  app.errorhandler<db_error>([](const db_error&) { return std::tuple{"db", 503}; });
  app.get("/row", []() -> std::string { throw missing_row("x"); });
  app.get("/db", []() -> std::string { throw db_error("x"); });
  app.get("/app", []() -> std::string { throw app_error("x"); });
  test_client client(app);
  CHECK(client.get("/row").text() == "row");
  CHECK(client.get("/db").text() == "db");
  CHECK(client.get("/app").text() == "app");
}

TEST_CASE("an unhandled exception goes to the 500 handler", "[app][errors]") {
  vial::app app;
  app.set_logger(vial::logger(nullptr));
  app.errorhandler(500, [](const vial::http_error&) {
    return std::tuple{nlohmann::json{{"error", "Internal server error"}}, 500};
  });
  app.get("/boom", []() -> std::string { throw std::logic_error("bug"); });
  auto r = test_client(app).get("/boom");
  CHECK(r.status() == 500);
  CHECK(r.json()["error"] == "Internal server error");
}

TEST_CASE("a throwing error handler falls back to a plain 500", "[app][errors]") {
  vial::app app;
  app.set_logger(vial::logger(nullptr));
  app.errorhandler(
      404, [](const vial::http_error&) -> std::string { throw std::runtime_error("handler bug"); });
  test_client client(app);
  auto r = client.get("/missing");
  CHECK(r.status() == 500);
  CHECK(r.text() == "500 Internal Server Error\n");
}

TEST_CASE("a timeout nobody handles is a 504", "[app][errors]") {
  vial::app app;
  app.set_logger(vial::logger(nullptr));
  app.get("/slow", []() -> std::string { throw vial::timeout_error("too slow"); });
  CHECK(vial::test_client(app).get("/slow").status() == 504);
}

namespace {
struct upstream_down : std::runtime_error, vial::error_status {
  upstream_down() : std::runtime_error("upstream down") {}
  int http_status() const noexcept override { return 502; }
};
}  // namespace

TEST_CASE("an exception that names its status is answered with it", "[app][errors]") {
  vial::app app;
  app.set_logger(vial::logger(nullptr));
  app.get("/up", []() -> std::string { throw upstream_down(); });
  CHECK(vial::test_client(app).get("/up").status() == 502);
}

TEST_CASE("an upstream failure nobody handles is a 502 naming the fault, not the upstream",
          "[app][errors][faults]") {
  std::vector<std::string> lines;
  vial::app app;
  app.set_logger(vial::logger([&](vial::log_level, std::string_view m) { lines.emplace_back(m); }));
  app.get("/garbage", []() -> std::string {
    throw vial::client_error(vial::client_errc::malformed_response,
                             "malformed response from http://10.1.2.3:81/x: bad version");
  });
  app.get("/described", []() -> std::string {
    throw vial::client_error(vial::client_errc::closed, "http://10.1.2.3:81/y closed early");
  });
  app.errorhandler(502, [](const vial::http_error& e) {
    if (e.description().find("closed") == std::string::npos) throw std::logic_error("unexpected");
    return std::tuple{nlohmann::json{{"error", e.description()}}, 502};
  });
  vial::app plain;
  plain.set_logger(vial::logger(nullptr));
  plain.get("/garbage", []() -> std::string {
    throw vial::client_error(vial::client_errc::malformed_response,
                             "malformed response from http://10.1.2.3:81/x: bad version");
  });
  auto r = test_client(plain).get("/garbage", {.headers = {{"Accept", "application/json"}}});
  CHECK(r.status() == 502);
  CHECK(r.json() ==
        nlohmann::json{{"error", "The upstream sent a malformed response."}, {"status", 502}});
  CHECK(r.text().find("10.1.2.3") == std::string::npos);
  // A status handler sees the same description.
  auto handled = test_client(app).get("/described");
  CHECK(handled.status() == 502);
  CHECK(handled.json()["error"] ==
        "The upstream closed the connection before the response was complete.");
  REQUIRE(lines.size() == 1);  // the log keeps the whole story
  CHECK(lines[0].ends_with(
      "] GET /described: unhandled exception (502): http://10.1.2.3:81/y closed early"));
}

TEST_CASE("a saturated blocking pool nobody handles is a 503 with Retry-After",
          "[app][errors][faults]") {
  vial::app app;
  app.set_logger(vial::logger(nullptr));
  app.get("/busy", []() -> std::string { throw vial::overload_error("pool full"); });
  auto r = test_client(app).get("/busy");
  CHECK(r.status() == 503);
  CHECK(r.header("Retry-After") == "1");
  CHECK(r.text() == "503 Service Unavailable: The server is busy; retry shortly.\n");
}

TEST_CASE("a std::exception handler also catches HTTP errors, as in Flask", "[app][errors]") {
  vial::app app;
  app.errorhandler<std::exception>([](const std::exception& e) {
    return std::tuple{std::string("caught: ") + e.what(), 500};
  });
  app.get("/f", []() -> std::string { vial::abort(403); });
  CHECK(vial::test_client(app).get("/f").text().rfind("caught:", 0) == 0);
}

TEST_CASE("an http_error type handler answers routing misses too", "[app][errors]") {
  // Flask's errorhandler(HTTPException): one handler for every HTTP error, 404 and 405 included.
  vial::app app;
  app.get("/only-get", [] { return "ok"; });
  app.get("/boom", []() -> std::string { vial::abort(403, "no"); });
  app.errorhandler<vial::http_error>([](const vial::http_error& e) {
    return vial::response::json({{"code", e.status()}, {"message", e.description()}}, e.status());
  });
  test_client client(app);
  auto missing = client.get("/nothing");
  CHECK(missing.status() == 404);
  CHECK(
      missing.json() ==
      nlohmann::json{{"code", 404}, {"message", "The requested URL was not found on the server."}});
  auto wrong = client.post("/only-get");
  CHECK(wrong.status() == 405);
  CHECK(wrong.json()["code"] == 405);
  CHECK(wrong.header("Allow") == "GET, HEAD, OPTIONS");  // the error's headers survive
  CHECK(client.get("/boom").json()["code"] == 403);
}

TEST_CASE("status handlers come before the http_error type handler for misses", "[app][errors]") {
  vial::app app;
  app.errorhandler(404,
                   [](const vial::http_error&) { return vial::response::text("status 404", 404); });
  app.errorhandler<vial::http_error>(
      [](const vial::http_error& e) { return vial::response::text("any", e.status()); });
  app.get("/x", [] { return "x"; });
  test_client client(app);
  CHECK(client.get("/nothing").text() == "status 404");
  CHECK(client.delete_("/x").text() == "any");
}

TEST_CASE("an http_error type handler answers misses from a coroutine chain", "[app][errors]") {
  vial::app app;
  app.before_request([](vial::request&) -> vial::task<void> { co_return; });
  app.errorhandler<vial::http_error>([](const vial::http_error& e) -> vial::task<vial::response> {
    co_return vial::response::text("async " + std::to_string(e.status()), e.status());
  });
  app.get("/x", [] { return "x"; });
  test_client client(app);
  CHECK(client.get("/nothing").text() == "async 404");
  auto r = client.put("/x");
  CHECK(r.text() == "async 405");
  CHECK(r.header("Allow") == "GET, HEAD, OPTIONS");
}

TEST_CASE("a refused request is answered through the error handlers and after_request hooks",
          "[app][errors][refusal]") {
  std::vector<std::string> calls;
  vial::app app;
  app.get("/search", [] { return "never"; });
  app.post("/upload", [](vial::request& r) { return r.body(); }, {.max_body_bytes = 4});
  app.before_request([&](vial::request&) { calls.push_back("before"); });
  app.after_request([&](vial::response& r) {
    calls.push_back("after");
    r.set_header("X-After", "1");
  });
  app.teardown_request([&](vial::request&, std::exception_ptr e) {
    calls.push_back(e ? "teardown with error" : "teardown");
  });
  app.errorhandler<vial::http_error>([](const vial::http_error& e) {
    return vial::response::json({{"error", e.description()}}, e.status());
  });
  test_client client(app);

  auto bad = client.get("/search?q=%zz");
  CHECK(bad.status() == 400);
  CHECK(bad.json()["error"] == "malformed percent-encoding in query argument 'q'");
  CHECK(bad.header("X-After") == "1");
  CHECK(calls == std::vector<std::string>{"before", "after", "teardown"});

  auto big = client.post("/upload", {.body = "12345"});
  CHECK(big.status() == 413);
  CHECK(big.json()["error"] == "request body is larger than the limit of 4 bytes");
  CHECK(big.header("X-After") == "1");
  CHECK(client.post("/upload", {.body = "1234"}).text() == "1234");
}

TEST_CASE("a refusal wins over a routing miss and reaches a status handler",
          "[app][errors][refusal]") {
  vial::app app;
  app.errorhandler(400, [](const vial::http_error& e) {
    return vial::response::text("bad: " + e.description(), 400);
  });
  test_client client(app);
  CHECK(client.get("/nowhere?x=%").text() ==
        "bad: malformed percent-encoding in query argument 'x'");
  // A malformed path matches no route, and is still the app's to answer.
  CHECK(client.get("/a%zz").text() == "bad: malformed percent-encoding in path");
}
