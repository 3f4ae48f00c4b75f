#include <string>

#include "support/catch.hpp"
#include "vial/app/app.hpp"
#include "vial/app/session.hpp"
#include "vial/testing/test_client.hpp"

namespace {

// What nginx sends in front of an app mounted at /api on https://example.com.
vial::test_request proxied_request() {
  return {.headers = {{"Host", "127.0.0.1:8080"},
                      {"X-Forwarded-For", "203.0.113.7"},
                      {"X-Forwarded-Proto", "https"},
                      {"X-Forwarded-Host", "example.com"},
                      {"X-Forwarded-Prefix", "/api"}},
          .remote_address = "127.0.0.1:50000"};
}

void add_proxy_routes(vial::app& app) {
  app.get("/who", [&app](const vial::request& req) {
    return std::string(req.remote_address()) + " " + std::string(req.scheme()) + " " +
           app.url_for(req, "user", {{"id", "7"}}, true) + " " +
           app.url_for(req, "user", {{"id", "7"}});
  });
  app.get("/users/<int:id>", [](int id) { return std::to_string(id); }, {.endpoint = "user"});
  app.get("/docs/", [] { return "docs"; });
}

}  // namespace

TEST_CASE("with trusted proxy headers, handlers see the client's address and public URLs",
          "[app][proxy]") {
  vial::app app({.proxy = {.x_for = 1, .x_proto = 1, .x_host = 1, .x_prefix = 1}});
  add_proxy_routes(app);
  vial::test_client client(app);
  auto r = client.get("/who", proxied_request());
  CHECK(r.text() == "203.0.113.7 https https://example.com/api/users/7 /api/users/7");
}

TEST_CASE("without app_options::proxy the forwarding headers change nothing", "[app][proxy]") {
  vial::app app;
  add_proxy_routes(app);
  vial::test_client client(app);
  auto r = client.get("/who", proxied_request());
  CHECK(r.text() == "127.0.0.1:50000 http http://127.0.0.1:8080/users/7 /users/7");
}

TEST_CASE("the trailing-slash redirect stays under the forwarded prefix", "[app][proxy]") {
  vial::app app({.proxy = {.x_prefix = 1}});
  add_proxy_routes(app);
  vial::test_client client(app);
  auto r = client.get("/docs?x=1", proxied_request());
  CHECK(r.status() == 308);
  CHECK(r.header("Location") == "/api/docs/?x=1");
}

TEST_CASE("the session cookie is Secure when the client came over https through the proxy",
          "[app][proxy][session]") {
  auto proto = GENERATE(0, 1);
  vial::app app({.secret_key = "k", .proxy = {.x_proto = static_cast<std::size_t>(proto)}});
  vial::enable_sessions(app);
  app.get("/login", [](vial::request& req) {
    vial::session_of(req).set("user", "ada");
    return "ok";
  });
  vial::test_client client(app);
  auto cookie =
      std::string(client.get("/login", proxied_request()).header("Set-Cookie").value_or(""));
  CHECK((cookie.find("; Secure") != std::string::npos) == (proto == 1));
}

TEST_CASE("url_for external names the port the client connected to, from X-Forwarded-Port",
          "[app][proxy][port]") {
  vial::app app({.proxy = {.x_for = 1, .x_proto = 1, .x_host = 1, .x_port = 1, .x_prefix = 1}});
  add_proxy_routes(app);
  vial::test_client client(app);
  auto req = proxied_request();
  req.headers.add("X-Forwarded-Port", "8443");
  CHECK(client.get("/who", req).text() ==
        "203.0.113.7 https https://example.com:8443/api/users/7 /api/users/7");
}
