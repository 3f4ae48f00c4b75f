#include <string>
#include <vector>

#include "routing/match_count.hpp"
#include "support/catch.hpp"
#include "vial/app/app.hpp"
#include "vial/app/blueprint.hpp"
#include "vial/http/error.hpp"
#include "vial/routing/error.hpp"
#include "vial/testing/test_client.hpp"

using vial::test_client;

TEST_CASE("a sync handler's string becomes a 200 HTML response", "[app][dispatch]") {
  vial::app app;
  app.get("/hello", [] { return "Hello, World!"; });
  test_client client(app);
  auto r = client.get("/hello");
  CHECK(r.status() == 200);
  CHECK(r.text() == "Hello, World!");
  CHECK(r.content_type() == "text/html; charset=utf-8");
}

TEST_CASE("handlers receive typed path parameters", "[app][dispatch]") {
  vial::app app;
  app.get("/users/<int:id>", [](const vial::request& req, int id) {
    return std::string(req.method_name()) + " user " + std::to_string(id);
  });
  app.get("/files/<path:p>", [](std::string_view p) { return std::string(p); });
  app.get("/price/<float:x>", [](double x) { return std::to_string(static_cast<int>(x * 10)); });
  app.get("/kind/<any(cat,dog):k>", [](std::string k) { return k; });
  app.get("/id/<uuid:u>", [](vial::uuid u) { return u.to_string(); });
  test_client client(app);
  CHECK(client.get("/users/42").text() == "GET user 42");
  CHECK(client.get("/files/a/b/c.txt").text() == "a/b/c.txt");
  CHECK(client.get("/price/1.5").text() == "15");
  CHECK(client.get("/kind/dog").text() == "dog");
  CHECK(client.get("/kind/cow").status() == 404);
  CHECK(client.get("/id/123E4567-E89B-12D3-A456-426614174000").text() ==
        "123e4567-e89b-12d3-a456-426614174000");
}

TEST_CASE("an int parameter too wide for the handler's type is a 404, not a 500",
          "[app][dispatch]") {
  vial::app app;
  app.get("/small/<int:n>", [](std::int8_t n) { return std::to_string(n); });
  app.get("/big/<int:n>", [](std::uint64_t n) { return std::to_string(n); });
  test_client client(app);
  CHECK(client.get("/small/127").text() == "127");
  CHECK(client.get("/small/128").status() == 404);
  CHECK(client.get("/big/9223372036854775807").text() == "9223372036854775807");
  CHECK(client.get("/big/9223372036854775808").status() == 404);  // past int64: no match
}

TEST_CASE("return values convert to responses", "[app][dispatch][to_response]") {
  vial::app app;
  app.get("/json", [] { return nlohmann::json{{"a", 1}}; });
  app.get("/created", [] { return std::tuple{std::string("made"), 201}; });
  app.get("/status", [] { return vial::status::no_content; });
  app.get("/full", [] {
    return std::tuple{nlohmann::json{{"ok", true}}, vial::status::accepted,
                      vial::headers{{"X-Extra", "1"}}};
  });
  app.get("/hdrs", [] { return std::tuple{std::string("x"), vial::headers{{"X-A", "b"}}}; });
  app.get("/resp", [] { return vial::response::text("plain", 418); });
  test_client client(app);
  auto j = client.get("/json");
  CHECK(j.content_type() == "application/json");
  CHECK(j.json()["a"] == 1);
  CHECK(client.get("/created").status() == 201);
  CHECK(client.get("/created").text() == "made");
  CHECK(client.get("/status").status() == 204);
  CHECK(client.get("/status").text().empty());
  auto full = client.get("/full");
  CHECK(full.status() == 202);
  CHECK(full.header("X-Extra") == "1");
  CHECK(full.json()["ok"] == true);
  CHECK(client.get("/hdrs").header("X-A") == "b");
  CHECK(client.get("/resp").status() == 418);
  CHECK(client.get("/resp").content_type() == "text/plain; charset=utf-8");
}

namespace shop {
struct item {
  std::string name;
};
vial::response to_response(const item& i) { return vial::response::json({{"item", i.name}}); }
}  // namespace shop

TEST_CASE("a user type converts through an ADL to_response", "[app][dispatch][to_response]") {
  vial::app app;
  app.get("/item", [] { return shop::item{"lamp"}; });
  test_client client(app);
  CHECK(client.get("/item").json()["item"] == "lamp");
}

TEST_CASE("unknown routes are 404 and wrong methods 405 with Allow", "[app][dispatch]") {
  vial::app app;
  app.get("/thing", [] { return "get"; });
  app.post("/thing", [] { return "post"; });
  test_client client(app);
  auto missing = client.get("/nope");
  CHECK(missing.status() == 404);
  CHECK(missing.text().find("Not Found") != std::string::npos);
  auto wrong = client.delete_("/thing");
  CHECK(wrong.status() == 405);
  CHECK(wrong.header("Allow") == "GET, HEAD, OPTIONS, POST");
}

TEST_CASE("a JSON client gets JSON errors", "[app][dispatch]") {
  vial::app app;
  test_client client(app);
  auto r = client.get("/nope", {.headers = {{"Accept", "application/json"}}});
  CHECK(r.status() == 404);
  CHECK(r.json()["status"] == 404);
}

TEST_CASE("GET routes answer HEAD with the same headers and no body", "[app][dispatch]") {
  vial::app app;
  app.get("/page", [] { return "twelve chars"; });
  test_client client(app);
  auto r = client.head("/page");
  CHECK(r.status() == 200);
  CHECK(r.text().empty());
  CHECK(r.header("Content-Length") == "12");
  CHECK(r.content_type() == "text/html; charset=utf-8");
}

TEST_CASE("OPTIONS is answered automatically with Allow", "[app][dispatch]") {
  vial::app app;
  app.route("/multi", {"GET", "PUT"}, [] { return "x"; });
  test_client client(app);
  auto r = client.options("/multi");
  CHECK(r.status() == 200);
  CHECK(r.header("Allow") == "GET, HEAD, OPTIONS, PUT");
  CHECK(r.text().empty());
}

TEST_CASE("a rule with a trailing slash redirects the slashless URL with 308", "[app][dispatch]") {
  vial::app app;
  app.get("/docs/", [] { return "docs"; });
  app.get("/about", [] { return "about"; });
  test_client client(app);
  auto r = client.get("/docs?x=1");
  CHECK(r.status() == 308);
  CHECK(r.header("Location") == "/docs/?x=1");
  CHECK(client.get("/docs", {.follow_redirects = true}).text() == "docs");
  CHECK(client.get("/about/").status() == 404);
}

TEST_CASE("bad input gets a clear 400", "[app][dispatch]") {
  vial::app app;
  app.post("/echo", [](vial::request& req) { return req.json().dump(); });
  app.get("/n", [](vial::request& req) { return std::to_string(*req.args().get_as<int>("n")); });
  test_client client(app);
  auto bad_json =
      client.post("/echo", {.headers = {{"Content-Type", "application/json"}}, .body = "{\"a\":"});
  CHECK(bad_json.status() == 400);
  CHECK(bad_json.text().find("invalid JSON") != std::string::npos);
  CHECK(client.post("/echo", {.body = "{}"}).status() == 415);
  CHECK(client.get("/n?n=12").text() == "12");
  CHECK(client.get("/n?n=abc").status() == 400);
  CHECK(client.get("/n?n=99999999999999999999").status() == 400);
  CHECK(client.get("/bad%zzpath").status() == 400);
  CHECK(client.get("/n?n=%4").status() == 400);
}

TEST_CASE("an unknown method is a 405, not a crash", "[app][dispatch]") {
  vial::app app;
  app.get("/x", [] { return "x"; });
  test_client client(app);
  auto r = client.open("PROPFIND", "/x");
  CHECK(r.status() == 405);
  CHECK(r.header("Allow") == "GET, HEAD, OPTIONS");
}

TEST_CASE("custom methods can be routed", "[app][dispatch]") {
  vial::app app;
  app.route("/dav", {"PROPFIND"},
            [](vial::request& req) { return std::string(req.method_name()); });
  test_client client(app);
  CHECK(client.open("PROPFIND", "/dav").text() == "PROPFIND");
}

TEST_CASE("abort raises an HTTP error with its message", "[app][dispatch]") {
  vial::app app;
  app.get("/secret", []() -> std::string { vial::abort(403, "members only"); });
  test_client client(app);
  auto r = client.get("/secret");
  CHECK(r.status() == 403);
  CHECK(r.text() == "403 Forbidden: members only\n");
}

TEST_CASE("url_for builds URLs by endpoint with a query string for extras", "[app][url_for]") {
  vial::app app;
  app.get("/users/<int:id>", [](int) { return ""; }, {.endpoint = "user"});
  app.get("/search", [] { return ""; });
  CHECK(app.url_for("user", {{"id", "7"}, {"tab", "a b"}}) == "/users/7?tab=a%20b");
  CHECK(app.url_for("/search", {{"q", "x&y"}}) == "/search?q=x%26y");
  CHECK_THROWS_AS(app.url_for("nobody"), vial::build_error);
  CHECK_THROWS_AS(app.url_for("user", {{"id", "seven"}}), vial::build_error);
}

TEST_CASE("requests keep per-request storage for hooks and handlers", "[app][dispatch]") {
  struct user_ctx {
    std::string name;
  };
  vial::app app;
  app.before_request([](vial::request& req) { req.g<user_ctx>().name = "ada"; });
  app.get("/me", [](vial::request& req) { return req.g<user_ctx>().name; });
  test_client client(app);
  CHECK(client.get("/me").text() == "ada");
}

TEST_CASE("the per-route body limit is visible to the server", "[app][dispatch]") {
  vial::app app;
  app.post("/upload", [] { return "ok"; }, {.max_body_bytes = 1024});
  app.post("/small", [] { return "ok"; });
  CHECK(app.body_limit("POST", "/upload") == std::optional<std::size_t>(1024));
  CHECK_FALSE(app.body_limit("POST", "/small"));
  CHECK_FALSE(app.body_limit("POST", "/none"));
}

TEST_CASE("a matched route carries the body limit and the match to dispatch", "[app][dispatch]") {
  vial::app app;
  app.post("/upload/<int:id>", [](int id) { return std::to_string(id); }, {.max_body_bytes = 1024});
  app.post("/small", [] { return "ok"; });
  vial::request upload("POST", "/upload/7", {{"Host", "x"}});
  const vial::matched_route route = app.match(upload);
  CHECK(route.body_limit() == std::optional<std::size_t>(1024));
  REQUIRE(upload.params().size() == 1);  // bound once, by match
  vial::request small("POST", "/small", {{"Host", "x"}});
  CHECK_FALSE(app.match(small).body_limit());
  vial::request none("POST", "/none", {{"Host", "x"}});
  CHECK_FALSE(app.match(none).body_limit());
  CHECK(app.dispatch(upload, route).body() == "7");
}

TEST_CASE("dispatch of a matched request does not route it again", "[app][dispatch]") {
#ifdef NDEBUG
  WARN("router matches are counted in debug builds only");
  SUCCEED("skipped");  // a skip, not a case without assertions
#else
  vial::app app;
  app.get("/hello", [] { return "hello"; });
  app.get("/users/<int:id>", [](int id) { return std::to_string(id); });
  app.errorhandler(404, [](const vial::http_error&) { return "missing"; });
  for (const char* path : {"/hello", "/users/3", "/nowhere", "/hello/"}) {
    CAPTURE(path);
    vial::request req("GET", path, {{"Host", "x"}});
    const auto before = vial::detail::router_match_count();
    const vial::matched_route route = app.match(req);
    CHECK(vial::detail::router_match_count() == before + 1);
    app.dispatch(req, route);
    CHECK(vial::detail::router_match_count() == before + 1);
  }
  // The test client routes once per request too, body limit included.
  test_client client(app);
  const auto before = vial::detail::router_match_count();
  CHECK(client.get("/users/5").text() == "5");
  CHECK(vial::detail::router_match_count() == before + 1);
#endif
}

TEST_CASE("a request matched by another app is routed again", "[app][dispatch]") {
  vial::app first;
  first.get("/a", [] { return "first"; });
  vial::app second;
  second.get("/a", [] { return "second"; });
  vial::request req("GET", "/a", {{"Host", "x"}});
  const vial::matched_route route = first.match(req);
  CHECK(second.dispatch(req, route).body() == "second");
  vial::request fresh("GET", "/a", {{"Host", "x"}});
  CHECK(second.dispatch(fresh, vial::matched_route{}).body() == "second");
}

TEST_CASE("JSON bodies have their own limit, app-wide and per route", "[app][json][limits]") {
  vial::app app({.max_json_bytes = 64});
  app.post("/small", [](vial::request& req) { return req.json(); });
  app.post("/large", [](vial::request& req) { return req.json(); }, {.max_json_bytes = 256});
  app.post("/raw", [](vial::request& req) { return std::to_string(req.body().size()); });
  vial::test_client client(app);
  const nlohmann::json body(std::vector<int>(50, 0));  // 101 bytes of JSON
  auto refused = client.post("/small", {.json = body});
  CHECK(refused.status() == 413);
  CHECK(refused.text() ==
        "413 Content Too Large: JSON body of 101 bytes is larger than the limit of 64 bytes\n");
  CHECK(client.post("/large", {.json = body}).json() == body);
  // Only json() applies it: the body itself is within the server's limit.
  CHECK(client.post("/raw", {.json = body}).text() == "101");
}

TEST_CASE("the default JSON limit is 1 MiB", "[app][json][limits]") {
  vial::app app;
  app.post("/count", [](vial::request& req) { return std::to_string(req.json().size()); });
  vial::test_client client(app);
  std::string fits = "[" + std::string(1024 * 1024 - 3, ' ') + "0]";
  CHECK(client.post("/count", {.headers = {{"Content-Type", "application/json"}}, .body = fits})
            .text() == "1");
  CHECK(
      client.post("/count", {.headers = {{"Content-Type", "application/json"}}, .body = fits + " "})
          .status() == 413);
}

TEST_CASE("a missing JSON field is a 400 naming it, not a crash", "[app][json]") {
  vial::app app;
  app.post("/todos", [](vial::request& req) {
    std::string title = req.json()["title"];
    int priority = req.json().value("priority", 1);
    return nlohmann::json{{"title", title}, {"priority", priority}};
  });
  vial::test_client client(app);
  auto missing = client.post("/todos", {.headers = {{"Accept", "application/json"}},
                                        .json = nlohmann::json{{"body", "x"}}});
  CHECK(missing.status() == 400);
  CHECK(missing.json()["error"] == "missing field 'title'");
  auto wrong = client.post("/todos", {.json = nlohmann::json{{"title", 3}}});
  CHECK(wrong.status() == 400);
  CHECK(wrong.text() == "400 Bad Request: field 'title' must be a string\n");
  CHECK(client.post("/todos", {.json = nlohmann::json{{"title", "t"}}}).json() ==
        nlohmann::json{{"title", "t"}, {"priority", 1}});
}

namespace {
struct endpoint_view {
  std::string get(const vial::request& req) { return std::string(req.endpoint()); }
};
}  // namespace

TEST_CASE("request::endpoint names the matched route in every kind of dispatch",
          "[app][dispatch][endpoint]") {
  vial::app app;
  const auto endpoint = [](const vial::request& req) { return std::string(req.endpoint()); };
  app.get("/plain/<int:id>", [endpoint](const vial::request& req, int) { return endpoint(req); });
  app.get("/named", endpoint, {.endpoint = "named"});
  app.get("/bridged", [](const vial::request& req) -> vial::task<std::string> {
    co_return std::string(req.endpoint());
  });
  app.get("/loop",
          [](const vial::request& req) -> vial::task<std::string> {
            co_return std::string(req.endpoint());
          },
          {.coroutines = vial::coroutine_mode::event_loop});
  vial::blueprint api("api", "/api");
  api.get("/users", endpoint, {.endpoint = "users"});
  api.get("/by-rule", endpoint);
  api.add_view<endpoint_view>("/view");
  vial::blueprint v1("v1", "/v1");
  v1.get("/x", endpoint, {.endpoint = "x"});
  api.register_blueprint(v1);
  app.register_blueprint(api);
  std::vector<std::string> seen_by_hook;
  app.before_request([&](vial::request& req) { seen_by_hook.emplace_back(req.endpoint()); });
  app.errorhandler(404, [](const vial::request& req, const vial::http_error&) {
    return "miss:" + std::string(req.endpoint());
  });
  test_client client(app);

  CHECK(client.get("/plain/7").text() == "/plain/<int:id>");
  CHECK(client.get("/named").text() == "named");
  CHECK(client.get("/bridged").text() == "/bridged");
  CHECK(client.get("/loop").text() == "/loop");
  CHECK(client.get("/api/users").text() == "api.users");
  CHECK(client.get("/api/by-rule").text() == "api./by-rule");
  CHECK(client.get("/api/view").text() == "api./view");
  CHECK(client.get("/api/v1/x").text() == "api.v1.x");
  // A miss has no endpoint, and hooks see the endpoint before the handler runs.
  CHECK(client.get("/nowhere").text() == "miss:");
  CHECK(seen_by_hook.front() == "/plain/<int:id>");
  CHECK(seen_by_hook.back().empty());
}
