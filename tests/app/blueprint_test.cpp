#include "vial/app/blueprint.hpp"

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/catch.hpp"
#include "vial/routing/error.hpp"
#include "vial/testing/test_client.hpp"

using vial::test_client;

namespace {

struct blueprint_error : std::runtime_error {
  blueprint_error() : std::runtime_error("blueprint failed") {}
};

struct item_view {
  std::string get(int id) { return "item " + std::to_string(id); }
};

}  // namespace

// Flask's tests/test_async.py, test_async_route and test_async_error_handler for the blueprint.
TEST_CASE("a blueprint's async routes and async error handler serve under its prefix",
          "[app][blueprint][async]") {
  vial::app app;
  {
    vial::blueprint bp("bp");
    bp.route("/", {"GET", "POST"}, [](vial::request& req) -> vial::task<std::string> {
      co_return std::string(req.method_name());
    });
    bp.get("/error", []() -> vial::task<std::string> {
      throw blueprint_error();
      co_return "unreachable";
    });
    bp.errorhandler<blueprint_error>(
        [](const blueprint_error&) -> vial::task<std::tuple<std::string, vial::status>> {
          co_return std::tuple{std::string(), vial::status::precondition_failed};
        });
    app.register_blueprint(bp, {.url_prefix = "/bp"});
  }  // the app keeps what it needs
  test_client client(app);
  CHECK(client.get("/bp/").text() == "GET");
  CHECK(client.post("/bp/").text() == "POST");
  CHECK(client.get("/bp/error").status() == 412);
}

// Flask's test_async_before_after_request, blueprint half.
TEST_CASE("a blueprint's async before and after hooks run for its routes only",
          "[app][blueprint][hooks][async]") {
  bool bp_before = false;
  bool bp_after = false;
  vial::app app;
  vial::blueprint bp("bp", "/bp");
  bp.before_request([&](vial::request&) -> vial::task<void> {
    bp_before = true;
    co_return;
  });
  bp.after_request([&](vial::response& r) -> vial::task<vial::response> {
    bp_after = true;
    co_return std::move(r);
  });
  bp.get("/", [] { return ""; });
  app.get("/", [] { return "app"; });
  app.register_blueprint(bp);
  test_client client(app);
  client.get("/");
  CHECK_FALSE(bp_before);
  CHECK_FALSE(bp_after);
  CHECK(client.get("/bp/").status() == 200);
  CHECK(bp_before);
  CHECK(bp_after);
}

TEST_CASE("app hooks wrap blueprint hooks in Flask's order", "[app][blueprint][hooks]") {
  std::vector<std::string> calls;
  vial::app app;
  app.before_request([&](vial::request&) { calls.push_back("app before"); });
  app.after_request([&](vial::response&) { calls.push_back("app after"); });
  app.teardown_request([&](vial::request&) { calls.push_back("app teardown"); });
  vial::blueprint bp("bp");
  bp.before_request([&](vial::request&) { calls.push_back("bp before"); });
  bp.after_request([&](vial::response&) { calls.push_back("bp after"); });
  bp.teardown_request([&](vial::request&) { calls.push_back("bp teardown"); });
  bp.get("/x", [&] {
    calls.push_back("handler");
    return "x";
  });
  app.register_blueprint(bp, {.url_prefix = "/b"});
  test_client(app).get("/b/x");
  CHECK(calls == std::vector<std::string>{"app before", "bp before", "handler", "bp after",
                                          "app after", "bp teardown", "app teardown"});
}

TEST_CASE("blueprint error handlers apply to its routes only and win over the app's",
          "[app][blueprint][errors]") {
  vial::app app;
  app.errorhandler(404, [](const vial::http_error&) { return std::tuple{"app 404", 404}; });
  app.errorhandler<std::runtime_error>([](const std::runtime_error&) {
    return std::tuple{"app caught", 500};
  });
  vial::blueprint bp("bp");
  bp.errorhandler(404, [](const vial::http_error&) { return std::tuple{"bp 404", 404}; });
  bp.get("/missing", []() -> std::string { vial::abort(404); });
  bp.get("/boom", []() -> std::string { throw std::runtime_error("boom"); });
  app.get("/missing", []() -> std::string { vial::abort(404); });
  app.register_blueprint(bp, {.url_prefix = "/bp"});
  test_client client(app);
  CHECK(client.get("/bp/missing").text() == "bp 404");
  CHECK(client.get("/missing").text() == "app 404");
  CHECK(client.get("/bp/boom").text() == "app caught");
  // A miss under the prefix belongs to no blueprint route: the app's handler answers.
  CHECK(client.get("/bp/nothing").text() == "app 404");
}

TEST_CASE("blueprint endpoints are name.endpoint and url_for builds across blueprints",
          "[app][blueprint][url_for]") {
  vial::app app;
  vial::blueprint users("users", "/users");
  users.get("/<int:id>", [](int id) { return std::to_string(id); }, {.endpoint = "show"});
  users.get("/", [] { return "all"; });
  users.add_view("/items/<int:id>", std::make_shared<item_view>(), {.endpoint = "item"});
  app.register_blueprint(users);
  CHECK(app.url_for("users.show", {{"id", "5"}}) == "/users/5");
  CHECK(app.url_for("users./") == "/users/");
  CHECK(app.url_for("users.item", {{"id", "2"}}) == "/users/items/2");
  test_client client(app);
  CHECK(client.get("/users/5").text() == "5");
  CHECK(client.get("/users/items/2").text() == "item 2");
  CHECK(client.post("/users/items/2").status() == 405);
}

TEST_CASE("nested blueprints chain prefixes, names and hooks", "[app][blueprint][nested]") {
  std::vector<std::string> calls;
  vial::app app;
  vial::blueprint api("api", "/api");
  api.before_request([&](vial::request&) { calls.push_back("api"); });
  api.errorhandler(418, [](const vial::http_error&) { return std::tuple{"api teapot", 418}; });
  vial::blueprint v1("v1", "/v1");
  v1.before_request([&](vial::request&) { calls.push_back("v1"); });
  v1.get("/ping", [] { return "pong"; }, {.endpoint = "ping"});
  v1.get("/tea", []() -> std::string { vial::abort(418); });
  api.register_blueprint(v1);
  app.register_blueprint(api);
  test_client client(app);
  CHECK(client.get("/api/v1/ping").text() == "pong");
  CHECK(calls == std::vector<std::string>{"api", "v1"});
  CHECK(app.url_for("api.v1.ping") == "/api/v1/ping");
  CHECK(client.get("/api/v1/tea").text() == "api teapot");
}

TEST_CASE("one blueprint registers twice under distinct names and prefixes", "[app][blueprint]") {
  vial::app app;
  vial::blueprint bp("pages");
  bp.get("/about", [](vial::request& req) { return std::string(req.path()); },
         {.endpoint = "about"});
  app.register_blueprint(bp, {.url_prefix = "/en"});
  app.register_blueprint(bp, {.url_prefix = "/fr", .name = "pages_fr"});
  CHECK_THROWS_WITH(app.register_blueprint(bp, {.url_prefix = "/de"}),
                    "a blueprint named 'pages' is already registered; register it again with a "
                    "distinct blueprint_options::name");
  test_client client(app);
  CHECK(client.get("/en/about").text() == "/en/about");
  CHECK(client.get("/fr/about").text() == "/fr/about");
  CHECK(app.url_for("pages.about") == "/en/about");
  CHECK(app.url_for("pages_fr.about") == "/fr/about");
}

TEST_CASE("blueprint registration checks names, rules and handlers", "[app][blueprint]") {
  CHECK_THROWS_AS(vial::blueprint("a.b"), vial::setup_error);
  CHECK_THROWS_AS(vial::blueprint(""), vial::setup_error);
  vial::app app;
  vial::blueprint bp("bp");
  bp.get(vial::runtime_rule("/<int:id>"), [] { return "no id"; });  // checked on registration
  CHECK_THROWS_AS(app.register_blueprint(bp), vial::setup_error);
  app.get("/", [] { return "ok"; });
  test_client(app).get("/");
  vial::blueprint late("late");
  CHECK_THROWS_AS(app.register_blueprint(late), vial::setup_error);
}

TEST_CASE("join_rule joins prefixes and rules as Flask does", "[app][blueprint]") {
  CHECK(vial::join_rule("/bp", "/") == "/bp/");
  CHECK(vial::join_rule("/bp/", "/x") == "/bp/x");
  CHECK(vial::join_rule("", "/x") == "/x");
  CHECK(vial::join_rule("/bp", "") == "/bp");
}
