#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/catch.hpp"
#include "vial/app/app.hpp"
#include "vial/app/blueprint.hpp"
#include "vial/testing/test_client.hpp"

using vial::test_client;

TEST_CASE("hooks run in Flask's order around the handler", "[app][hooks]") {
  std::vector<std::string> calls;
  vial::app app;
  app.before_request([&](vial::request&) { calls.push_back("before1"); });
  app.before_request([&](vial::request&) { calls.push_back("before2"); });
  app.after_request([&](vial::response&) { calls.push_back("after1"); });
  app.after_request([&](vial::response&) { calls.push_back("after2"); });
  app.teardown_request([&](vial::request&, std::exception_ptr) { calls.push_back("teardown1"); });
  app.teardown_request([&](vial::request&, std::exception_ptr) { calls.push_back("teardown2"); });
  app.get("/", [&] {
    calls.push_back("handler");
    return "ok";
  });
  test_client(app).get("/");
  CHECK(calls == std::vector<std::string>{"before1", "before2", "handler", "after2", "after1",
                                          "teardown2", "teardown1"});
}

TEST_CASE("a before_request hook that returns a value short-circuits the handler", "[app][hooks]") {
  bool handler_ran = false;
  vial::app app;
  app.before_request([](vial::request& req) -> std::optional<vial::response> {
    if (!req.header("Authorization")) return vial::response::text("login first", 401);
    return std::nullopt;
  });
  app.after_request([](vial::response& res) { res.set_header("X-After", "yes"); });
  app.get("/", [&] {
    handler_ran = true;
    return "secret";
  });
  test_client client(app);
  auto denied = client.get("/");
  CHECK(denied.status() == 401);
  CHECK(denied.header("X-After") == "yes");  // after_request still runs
  CHECK_FALSE(handler_ran);
  CHECK(client.get("/", {.headers = {{"Authorization", "x"}}}).text() == "secret");
  CHECK(handler_ran);
}

TEST_CASE("before_request hooks run even when no route matches", "[app][hooks]") {
  int seen = 0;
  vial::app app;
  app.before_request([&](vial::request&) { ++seen; });
  test_client(app).get("/missing");
  CHECK(seen == 1);
}

TEST_CASE("an after_request hook may replace the response", "[app][hooks]") {
  vial::app app;
  app.after_request([](vial::request&, vial::response& res) {
    return std::tuple{res.body() + "!", 202};
  });
  app.get("/", [] { return "hi"; });
  auto r = test_client(app).get("/");
  CHECK(r.status() == 202);
  CHECK(r.text() == "hi!");
}

TEST_CASE("teardown always runs and sees the unhandled exception", "[app][hooks]") {
  std::string seen = "not called";
  vial::app app;
  app.set_logger(vial::logger(nullptr));
  app.teardown_request([&](vial::request&, std::exception_ptr e) {
    if (!e) {
      seen = "none";
      return;
    }
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      seen = ex.what();
    }
  });
  app.get("/ok", [] { return "ok"; });
  app.get("/boom", []() -> std::string { throw std::runtime_error("kaput"); });
  test_client client(app);
  client.get("/ok");
  CHECK(seen == "none");
  CHECK(client.get("/boom").status() == 500);
  CHECK(seen == "kaput");
}

TEST_CASE("a throwing after_request hook becomes a 500", "[app][hooks]") {
  vial::app app;
  app.set_logger(vial::logger(nullptr));
  app.after_request([](vial::response&) { throw std::runtime_error("after failed"); });
  app.get("/", [] { return "ok"; });
  CHECK(test_client(app).get("/").status() == 500);
}

TEST_CASE("a throwing teardown hook is logged and does not change the response", "[app][hooks]") {
  std::vector<std::string> lines;
  vial::app app;
  app.set_logger(vial::logger([&](vial::log_level, std::string_view m) { lines.emplace_back(m); }));
  app.teardown_request([](vial::request&) { throw std::runtime_error("cleanup failed"); });
  app.get("/", [] { return "ok"; });
  auto r = test_client(app).get("/");
  CHECK(r.status() == 200);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].find("cleanup failed") != std::string::npos);
}

TEST_CASE("every hook slot awaits a capturing coroutine lambda in each of its forms",
          "[app][hooks][async]") {
  auto calls = std::make_shared<std::vector<std::string>>();
  vial::app app;
  app.before_request([calls]() -> vial::task<void> {
    calls->push_back("before()");
    co_return;
  });
  app.after_request([calls](vial::response& res) -> vial::task<void> {
    res.set_header("X-After", "async");
    calls->push_back("after(res)");
    co_return;
  });
  app.teardown_request([calls](std::exception_ptr) -> vial::task<void> {
    calls->push_back("teardown(e)");
    co_return;
  });
  app.teardown_request([calls]() -> vial::task<void> {
    calls->push_back("teardown()");
    co_return;
  });
  app.get("/", [] { return "hi"; });
  auto r = test_client(app).get("/");
  CHECK(r.header("X-After") == "async");
  CHECK(*calls == std::vector<std::string>{"before()", "after(res)", "teardown()", "teardown(e)"});
}

TEST_CASE("automatic OPTIONS runs the before_request hooks", "[app][hooks]") {
  // Flask's automatic OPTIONS is a matched route: an auth hook sees it.
  vial::app app;
  app.before_request([](vial::request& r) -> std::optional<vial::response> {
    if (!r.header("Authorization")) return vial::response::text("login first", 401);
    return std::nullopt;
  });
  app.get("/private", [] { return "secret"; });
  test_client client(app);
  auto denied = client.options("/private");
  CHECK(denied.status() == 401);
  CHECK(denied.text() == "login first");
  auto allowed = client.options("/private", {.headers = {{"Authorization", "Bearer t"}}});
  CHECK(allowed.status() == 200);
  CHECK(allowed.header("Allow") == "GET, HEAD, OPTIONS");
}

TEST_CASE("automatic OPTIONS runs the hooks of the blueprint whose route it answers",
          "[app][hooks][blueprint]") {
  vial::app app;
  vial::blueprint admin("admin", "/admin");
  admin.before_request([](vial::request& r) -> std::optional<vial::response> {
    if (!r.header("Authorization")) return vial::response::text("admins only", 401);
    return std::nullopt;
  });
  admin.get("/panel", [] { return "panel"; });
  app.register_blueprint(admin);
  app.get("/public", [] { return "public"; });
  test_client client(app);
  CHECK(client.options("/admin/panel").status() == 401);
  CHECK(client.options("/public").status() == 200);
  CHECK(client.post("/admin/panel").status() == 405);  // a 405 has no route: the app's hooks only
}
