#include <set>
#include <stdexcept>
#include <string>

#include "support/catch.hpp"
#include "support/log_capture.hpp"
#include "vial/app/app.hpp"
#include "vial/testing/test_client.hpp"

namespace {

bool is_generated_id(std::string_view id) {
  return id.size() == 32 && id.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

void add_id_route(vial::app& app) {
  app.get("/id", [](const vial::request& req) { return std::string(req.id()); });
}

}  // namespace

TEST_CASE("each request gets a generated id, sent back in X-Request-Id", "[app][request_id]") {
  vial::app app;
  add_id_route(app);
  vial::test_client client(app);
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    auto r = client.get("/id");
    CHECK(is_generated_id(r.text()));
    CHECK(r.header("X-Request-Id") == r.text());
    seen.insert(r.text());
  }
  CHECK(seen.size() == 100);
  // Also on answers no handler gave.
  CHECK(is_generated_id(client.get("/nowhere").header("X-Request-Id").value_or("")));
}

TEST_CASE("an event-loop coroutine route sends back its id in X-Request-Id as well",
          "[app][request_id][event_loop]") {
  vial::app app;
  app.get(
      "/loop-id",
      [](const vial::request& req) -> vial::task<std::string> { co_return std::string(req.id()); },
      {.coroutines = vial::coroutine_mode::event_loop});
  vial::test_client client(app);
  auto r = client.get("/loop-id");
  CHECK(is_generated_id(r.text()));
  CHECK(r.header("X-Request-Id") == r.text());
}

TEST_CASE("X-Request-Id from the client is taken only when trusted and well-formed",
          "[app][request_id]") {
  const bool trusted = GENERATE(false, true);
  vial::app app({.proxy = {.x_request_id = trusted}});
  add_id_route(app);
  vial::test_client client(app);
  auto sent = [&](std::string id) {
    return client.get("/id", {.headers = {{"X-Request-Id", std::move(id)}}}).text();
  };
  const std::string good = "req-42_a.b:c+d/e=f@g";
  CHECK((sent(good) == good) == trusted);
  CHECK((sent(std::string(128, 'a')) == std::string(128, 'a')) == trusted);
  for (std::string bad : {std::string(129, 'a'), std::string(), std::string("a b"),
                          std::string("a\"b"), std::string("<script>"), std::string("a\\x01")}) {
    CAPTURE(bad);
    CHECK(is_generated_id(sent(bad)));
  }
}

TEST_CASE("log lines written while a request is handled start with its id",
          "[app][request_id][log]") {
  vial::testing::log_capture log;
  vial::app app({.proxy = {.x_request_id = true}});
  app.set_logger(log.logger());
  app.get("/boom", []() -> std::string { throw std::runtime_error("boom"); });
  app.get("/note", [&app] {
    app.logger().info("note");
    return "ok";
  });
  vial::test_client client(app);
  CHECK(client.get("/boom", {.headers = {{"X-Request-Id", "abc-1"}}}).status() == 500);
  CHECK(log.contains("ERROR [abc-1] GET /boom: unhandled exception (500): boom"));
  client.get("/note", {.headers = {{"X-Request-Id", "abc-2"}}});
  CHECK(log.contains("INFO [abc-2] note"));
  app.logger().info("outside");
  CHECK(log.contains("INFO outside"));
}
