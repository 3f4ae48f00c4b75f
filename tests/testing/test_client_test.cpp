#include "vial/testing/test_client.hpp"

#include "support/catch.hpp"
#include "vial/app/stream.hpp"

TEST_CASE("the test client sends query, headers and JSON bodies", "[testing][test_client]") {
  vial::app app;
  app.post("/echo", [](vial::request& req) {
    return nlohmann::json{{"q", req.args().get_or("q", "")},
                          {"h", req.header("X-Token").value_or("")},
                          {"body", req.json()}};
  });
  vial::test_client client(app);
  auto r = client.post(
      "/echo",
      {.query = {{"q", "a b"}}, .headers = {{"X-Token", "t"}}, .json = nlohmann::json{{"n", 1}}});
  CHECK(r.status() == 200);
  CHECK(r.json()["q"] == "a b");
  CHECK(r.json()["h"] == "t");
  CHECK(r.json()["body"]["n"] == 1);
}

TEST_CASE("the test client sends form bodies", "[testing][test_client]") {
  vial::app app;
  app.post("/form", [](vial::request& req) { return std::string(req.form().get_or("name", "?")); });
  vial::test_client client(app);
  CHECK(client.post("/form", {.form = vial::multi_dict{{"name", "ada lovelace"}}}).text() ==
        "ada lovelace");
}

TEST_CASE("the cookie jar keeps cookies across calls and honours deletion",
          "[testing][test_client]") {
  vial::app app;
  app.get("/login", [] { return vial::response::text("in").set_cookie("sid", "abc"); });
  app.get("/whoami",
          [](vial::request& req) { return std::string(req.cookies().get_or("sid", "anonymous")); });
  app.get("/logout", [] { return vial::response::text("out").delete_cookie("sid"); });
  vial::test_client client(app);
  CHECK(client.get("/whoami").text() == "anonymous");
  client.get("/login");
  CHECK(client.cookies().get("sid") == "abc");
  CHECK(client.get("/whoami").text() == "abc");
  client.get("/logout");
  CHECK(client.get("/whoami").text() == "anonymous");
}

TEST_CASE("the test client follows redirects when asked", "[testing][test_client]") {
  vial::app app;
  app.post("/old", [] { return vial::redirect("/new", 303); });
  app.get("/new", [](vial::request& req) { return std::string(req.method_name()); });
  vial::test_client client(app);
  CHECK(client.post("/old").status() == 303);
  auto r = client.post("/old", {.follow_redirects = true});
  CHECK(r.status() == 200);
  CHECK(r.text() == "GET");
}

TEST_CASE("the test client drains streamed responses", "[testing][test_client]") {
  vial::app app;
  app.get("/count", [] {
    return vial::stream([i = 0]() mutable -> std::optional<std::string> {
      if (i == 3) return std::nullopt;
      return std::to_string(i++);
    });
  });
  app.get("/events", [] {
    return vial::event_stream([i = 0]() mutable -> vial::task<std::optional<vial::sse_event>> {
      if (i == 2) co_return std::nullopt;
      co_return vial::sse_event{.data = std::to_string(i++)};
    });
  });
  vial::test_client client(app);
  CHECK(client.get("/count").text() == "012");
  auto ev = client.get("/events");
  CHECK(ev.content_type() == "text/event-stream");
  CHECK(ev.text() == "data: 0\n\ndata: 1\n\n");
}

TEST_CASE("a malformed target answers 400 as on the wire", "[testing][test_client]") {
  vial::app app;
  vial::test_client client(app);
  CHECK(client.get("no-slash").status() == 400);
  CHECK(client.get("/%E0%A4").status() == 400);  // truncated UTF-8
}

TEST_CASE("the test client applies a route's body limit, answering 413 through the app",
          "[testing][test_client][limits]") {
  vial::app app;
  app.post("/small", [](vial::request& r) { return std::to_string(r.body().size()); },
           {.max_body_bytes = 1024});
  app.post("/echo", [](vial::request& r) { return std::to_string(r.body().size()); });
  app.errorhandler(413, [](const vial::http_error& e) {
    return vial::response::text("too big: " + e.description(), 413);
  });
  vial::test_client client(app);
  auto r = client.post("/small", {.body = std::string(4096, 'x')});
  CHECK(r.status() == 413);
  CHECK(r.text() == "too big: request body is larger than the limit of 1024 bytes");
  CHECK(client.post("/small", {.body = std::string(1024, 'x')}).text() == "1024");
  // The server's limit applies to other routes (8 MiB unless told otherwise).
  vial::test_client strict(app, 100);
  CHECK(strict.post("/echo", {.body = std::string(101, 'x')}).status() == 413);
  CHECK(strict.post("/echo", {.body = std::string(100, 'x')}).text() == "100");
}

TEST_CASE("the test client answers a malformed query as the app's error",
          "[testing][test_client]") {
  vial::app app;
  app.get("/search", [](vial::request& r) { return std::string(r.args().get_or("q", "")); });
  vial::test_client client(app);
  auto r = client.get("/search?q=%zz", {.headers = {{"Accept", "application/json"}}});
  CHECK(r.status() == 400);
  CHECK(r.content_type() == "application/json");
  CHECK(r.json() == nlohmann::json{{"error", "malformed percent-encoding in query argument 'q'"},
                                   {"status", 400}});
}
