// Refusals that happen after routing (a bad query escape, a body over the route's limit) are the
// app's to answer: over loopback they must read exactly as the in-process test client's.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/catch.hpp"
#include "support/raw_client.hpp"
#include "vial/app/app.hpp"
#include "vial/server/server.hpp"
#include "vial/testing/test_client.hpp"

using namespace std::chrono_literals;
using vial::test::raw_client;

TEST_CASE("refusals after routing are answered by the app, as the test client answers them",
          "[server][limits][refusal]") {
  // Each case goes over loopback and through vial::test_client; status, Content-Type, body and
  // the after_request hook's header must agree.
  vial::app app;
  app.get("/search", [](const vial::request& r) { return std::string(r.args().get_or("q", "")); });
  app.post("/echo", [](const vial::request& r) { return r.body(); });
  app.post("/small", [](const vial::request& r) { return r.body(); }, {.max_body_bytes = 1024});
  app.post("/json", [](const vial::request& r) { return r.json(); }, {.max_json_bytes = 16});
  app.post("/title", [](const vial::request& r) { return std::string(r.json()["title"]); });
  app.after_request([](vial::response& r) { r.set_header("X-After", "ran"); });
  app.errorhandler(413, [](const vial::http_error& e) {
    return vial::response::json({{"too_large", e.description()}}, 413);
  });
  vial::server srv(app, vial::server_options{.port = 0, .max_body_bytes = 2048});
  srv.start();
  vial::test_client client(app, 2048);

  struct refusal_case {
    std::string name, method, target, accept, body;
    int status;
    bool closes;
  };
  auto c = GENERATE(refusal_case{"bad query escape", "GET", "/search?q=%zz", "", "", 400, false},
                    refusal_case{"bad query escape, JSON asked", "GET", "/search?q=%zz",
                                 "application/json", "", 400, false},
                    refusal_case{"bad path escape", "GET", "/a%zz", "", "", 400, false},
                    refusal_case{"body over the route's limit", "POST", "/small", "",
                                 std::string(4096, 'x'), 413, true},
                    refusal_case{"body over the server's limit", "POST", "/echo", "",
                                 std::string(3000, 'x'), 413, true},
                    refusal_case{"JSON over the route's JSON limit", "POST", "/json", "",
                                 R"({"a": "0123456789abcdef"})", 413, false},
                    refusal_case{"missing JSON field", "POST", "/title", "application/json",
                                 R"({"t": 1})", 400, false});
  INFO(c.name);

  vial::test_request tr{.body = c.body};
  std::string extra;
  if (!c.accept.empty()) {
    tr.headers.set("Accept", c.accept);
    extra += "Accept: " + c.accept + "\r\n";
  }
  if (!c.body.empty()) {
    tr.headers.set("Content-Type", "application/json");
    extra += "Content-Type: application/json\r\n";
  }
  auto in_process = client.open(c.method, c.target, tr);

  raw_client wire(srv.port());
  wire.send(c.method + " " + c.target + " HTTP/1.1\r\nHost: x\r\n" + extra +
            "Content-Length: " + std::to_string(c.body.size()) + "\r\n\r\n" + c.body);
  auto r = wire.read_response();

  CHECK(r.status == c.status);
  CHECK(in_process.status() == c.status);
  CHECK(r.header("Content-Type") == in_process.content_type());
  CHECK(r.body == in_process.text());
  CHECK(r.header("X-After") == "ran");
  CHECK(in_process.header("X-After") == "ran");
  CHECK((r.header("Connection") == "close") == c.closes);
  if (c.status == 413 && c.closes) CHECK(r.body.starts_with(R"({"too_large":)"));
}

TEST_CASE("a chunked body that grows past the route's limit is refused by the app and closes",
          "[server][limits][refusal]") {
  vial::app app;
  app.post("/small", [](const vial::request& r) { return r.body(); }, {.max_body_bytes = 1024});
  app.errorhandler(413, [](const vial::http_error& e) {
    return vial::response::json({{"too_large", e.description()}}, 413);
  });
  vial::server srv(app, vial::server_options{.port = 0});
  srv.start();
  raw_client c(srv.port());
  c.send("POST /small HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n" +
         std::string(2048, 'b') + "\r\n0\r\n\r\n");
  auto r = c.read_response();
  CHECK(r.status == 413);
  CHECK(r.body == R"({"too_large":"request body is larger than the limit of 1024 bytes"})");
  CHECK(r.header("Connection") == "close");
  CHECK(c.closed_by_peer());
}
