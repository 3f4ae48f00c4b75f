#include "vial/app/cors.hpp"

#include <optional>
#include <string>
#include <string_view>

#include "support/catch.hpp"
#include "vial/testing/test_client.hpp"

using vial::test_client;
using opt = std::optional<std::string_view>;

namespace {

void add_routes(vial::app& app) {
  app.get("/data", [] { return "data"; });
  app.put("/data", [] { return "put"; });
  app.get("/fail", []() -> std::string { vial::abort(403, "no"); });
}

vial::test_request preflight(std::string origin, std::string method,
                             std::optional<std::string> headers = {}) {
  vial::test_request r{.headers = {{"Origin", std::move(origin)},
                                   {"Access-Control-Request-Method", std::move(method)}}};
  if (headers) r.headers.add("Access-Control-Request-Headers", *headers);
  return r;
}

}  // namespace

TEST_CASE("a preflight from an allowed origin is answered before routing", "[app][cors]") {
  vial::app app;
  bool handler_ran = false;
  vial::enable_cors(app, {.origins = {"https://app.example"}, .allow_headers = {"Content-Type"}});
  app.route("/data", {"OPTIONS"}, [&] {
    handler_ran = true;
    return "options handler";
  });
  add_routes(app);
  test_client client(app);
  auto r = client.options("/data", preflight("https://app.example", "PUT", "content-type"));
  CHECK(r.status() == 204);
  CHECK(r.header("Access-Control-Allow-Origin") == opt("https://app.example"));
  CHECK(std::string(r.header("Access-Control-Allow-Methods").value_or("")).find("PUT") !=
        std::string::npos);
  CHECK(r.header("Access-Control-Allow-Headers") == opt("Content-Type"));
  CHECK(r.header("Access-Control-Max-Age") == opt("600"));
  CHECK(r.header("Vary") == opt("Origin"));
  CHECK_FALSE(handler_ran);
}

TEST_CASE("preflights that ask for too much get no CORS headers", "[app][cors][hostile]") {
  vial::app app;
  vial::enable_cors(app, {.origins = {"https://app.example"},
                          .methods = {"GET", "PUT"},
                          .allow_headers = {"Content-Type"}});
  add_routes(app);
  test_client client(app);
  SECTION("another origin") {
    auto r = client.options("/data", preflight("https://evil.example", "PUT"));
    CHECK_FALSE(r.header("Access-Control-Allow-Origin"));
  }
  SECTION("a method not allowed") {
    auto r = client.options("/data", preflight("https://app.example", "DELETE"));
    CHECK_FALSE(r.header("Access-Control-Allow-Origin"));
  }
  SECTION("a header not allowed") {
    auto r = client.options("/data", preflight("https://app.example", "PUT", "X-Admin"));
    CHECK_FALSE(r.header("Access-Control-Allow-Origin"));
  }
  SECTION("an origin that only starts like an allowed one") {
    auto r = client.options("/data", preflight("https://app.example.evil.com", "PUT"));
    CHECK_FALSE(r.header("Access-Control-Allow-Origin"));
  }
}

TEST_CASE("actual cross-origin responses carry the allow headers, errors too", "[app][cors]") {
  vial::app app;
  vial::enable_cors(app, {.expose_headers = {"X-Total"}});
  add_routes(app);
  test_client client(app);
  auto r = client.get("/data", {.headers = {{"Origin", "https://any.example"}}});
  CHECK(r.text() == "data");
  CHECK(r.header("Access-Control-Allow-Origin") == opt("*"));
  CHECK(r.header("Access-Control-Expose-Headers") == opt("X-Total"));
  CHECK_FALSE(r.header("Vary"));
  auto err = client.get("/fail", {.headers = {{"Origin", "https://any.example"}}});
  CHECK(err.status() == 403);
  CHECK(err.header("Access-Control-Allow-Origin") == opt("*"));
  auto same_origin = client.get("/data");
  CHECK_FALSE(same_origin.header("Access-Control-Allow-Origin"));
  // Without CORS involvement OPTIONS keeps its automatic answer.
  auto plain = client.options("/data");
  CHECK(plain.status() == 200);
  CHECK(plain.header("Allow"));
}

TEST_CASE("with credentials the origin is echoed, never a wildcard, and never a forged one",
          "[app][cors][hostile]") {
  vial::app app;
  vial::enable_cors(app, {.allow_credentials = true});
  add_routes(app);
  test_client client(app);
  auto r = client.get("/data", {.headers = {{"Origin", "https://a.example"}}});
  CHECK(r.header("Access-Control-Allow-Origin") == opt("https://a.example"));
  CHECK(r.header("Access-Control-Allow-Credentials") == opt("true"));
  CHECK(r.header("Vary") == opt("Origin"));
  auto forged = client.get("/data", {.headers = {{"Origin", "https://a.example\tX: 1"}}});
  CHECK(forged.status() == 200);
  CHECK_FALSE(forged.header("Access-Control-Allow-Origin"));
  auto pre = client.options("/data", preflight("https://a.example", "GET", "X-Custom, X-Other"));
  CHECK(pre.status() == 204);
  CHECK(pre.header("Access-Control-Allow-Headers") == opt("X-Custom, X-Other"));
}
