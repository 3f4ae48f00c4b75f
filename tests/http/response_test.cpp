#include "vial/http/response.hpp"

#include <stdexcept>

#include <nlohmann/json.hpp>

#include "support/allocation_count.hpp"
#include "support/catch.hpp"

using namespace std::chrono_literals;

TEST_CASE("a default response is an empty 200 without Content-Type", "[http][response]") {
  vial::response r;
  CHECK(r.status() == 200);
  CHECK(r.body().empty());
  CHECK(r.content_type().empty());
  CHECK_FALSE(r.is_stream());
}

TEST_CASE("response constructors set status and Content-Type", "[http][response]") {
  vial::response html("<p>hi</p>");
  CHECK(html.status() == 200);
  CHECK(html.content_type() == "text/html; charset=utf-8");
  CHECK(html.body() == "<p>hi</p>");

  auto text = vial::response::text("plain", 201);
  CHECK(text.status() == 201);
  CHECK(text.content_type() == "text/plain; charset=utf-8");

  auto h = vial::response::html("<b>x</b>", 404);
  CHECK(h.status() == 404);
  CHECK(h.content_type() == "text/html; charset=utf-8");

  vial::response custom("a,b", 200, "text/csv");
  CHECK(custom.headers().get("content-type") == "text/csv");
  CHECK(custom.headers().count("Content-Type") == 1);

  vial::response bare("x", 200, "");
  CHECK_FALSE(bare.headers().contains("Content-Type"));
}

TEST_CASE("response json serializes compactly as application/json", "[http][response]") {
  auto r = vial::response::json({{"ok", true}, {"n", 3}}, 201);
  CHECK(r.status() == 201);
  CHECK(r.content_type() == "application/json");
  CHECK(nlohmann::json::parse(r.body()) == nlohmann::json{{"ok", true}, {"n", 3}});
  CHECK(r.body().find(' ') == std::string::npos);
  CHECK(vial::response::json("caf\xC3\xA9").body() == "\"caf\xC3\xA9\"");
}

TEST_CASE("response json replaces invalid UTF-8 with U+FFFD instead of failing",
          "[http][response]") {
  auto r = vial::response::json({{"name", "bad\xFFname"}});
  CHECK(r.body() == "{\"name\":\"bad\xEF\xBF\xBDname\"}");
}

TEST_CASE("response setters chain and update status, headers and body", "[http][response]") {
  vial::response r;
  r.set_status(vial::status::accepted).set_header("X-A", "1").add_header("X-A", "2").set_body("b");
  CHECK(r.status() == 202);
  CHECK(r.headers().get_all("x-a") == std::vector<std::string_view>{"1", "2"});
  r.set_header("x-a", "3");
  CHECK(r.headers().get_all("X-A") == std::vector<std::string_view>{"3"});
  r.set_content_type("application/xml");
  CHECK(r.content_type() == "application/xml");
  r.body() += "c";
  CHECK(r.body() == "bc");
  r.set_status(418);
  CHECK(r.status() == 418);
}

TEST_CASE("response headers reject CR, LF and NUL so nothing can be injected", "[http][response]") {
  vial::response r;
  CHECK_THROWS_WITH(r.set_header("X-A", "a\r\nSet-Cookie: x=1"),
                    "value of header 'X-A' contains CR, LF or NUL");
  CHECK_THROWS_WITH(r.add_header("X-A", "a\nb"), "value of header 'X-A' contains CR, LF or NUL");
  CHECK_THROWS_WITH(r.add_header("X-A", "a\rb"), "value of header 'X-A' contains CR, LF or NUL");
  CHECK_THROWS_WITH(r.add_header("X-A", std::string_view("a\0b", 3)),
                    "value of header 'X-A' contains CR, LF or NUL");
  CHECK_THROWS_WITH(r.set_header("X-A\r\nSet-Cookie", "x"),
                    "header name 'X-A\\r\\nSet-Cookie' is not a valid token");
  CHECK_THROWS_WITH(r.add_header("", "x"), "header name '' is not a valid token");
  auto bad_name = GENERATE("X A", "X:A", "X\nA", "\xC3\xA9", "X(A)");
  CAPTURE(bad_name);
  CHECK_THROWS_AS(r.set_header(bad_name, "v"), std::invalid_argument);
  CHECK(r.headers().empty());
}

TEST_CASE("response set_cookie appends one Set-Cookie header per cookie", "[http][response]") {
  vial::response r;
  vial::cookie_options o;
  o.http_only = true;
  r.set_cookie("a", "1").set_cookie("b", "2", o);
  auto cookies = r.headers().get_all("Set-Cookie");
  REQUIRE(cookies.size() == 2);
  CHECK(cookies[0] == "a=1; Path=/");
  CHECK(cookies[1] == "b=2; Path=/; HttpOnly");
}

TEST_CASE("response set_cookie refuses injection attempts", "[http][response]") {
  vial::response r;
  CHECK_THROWS_WITH(r.set_cookie("x", "a\r\nSet-Cookie: x"),
                    "cookie value for 'x' contains a forbidden character");
  CHECK_THROWS_AS(r.set_cookie("a\r\nSet-Cookie: x", "1"), std::invalid_argument);
  CHECK_FALSE(r.headers().contains("Set-Cookie"));
}

TEST_CASE("response delete_cookie expires the cookie", "[http][response]") {
  vial::response r;
  r.delete_cookie("sid");
  r.delete_cookie("pref", "/app", "example.com");
  auto cookies = r.headers().get_all("Set-Cookie");
  REQUIRE(cookies.size() == 2);
  CHECK(cookies[0] == "sid=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/");
  CHECK(cookies[1] ==
        "pref=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Domain=example.com; Path=/app");
  CHECK_THROWS_AS(r.delete_cookie("sid", "/\r\nX: 1"), std::invalid_argument);
}

namespace {
struct counting_stream : vial::body_stream {
  int left = 2;
  std::optional<std::string> next() override {
    if (left == 0) return std::nullopt;
    return std::to_string(left--);
  }
};
}  // namespace

TEST_CASE("response from_stream keeps the stream and its Content-Type", "[http][response]") {
  auto s = std::make_shared<counting_stream>();
  auto r = vial::response::from_stream(s);
  CHECK(r.is_stream());
  CHECK(r.stream() == s);
  CHECK(r.status() == 200);
  CHECK(r.content_type() == "text/plain; charset=utf-8");
  CHECK(r.body().empty());
  CHECK(r.stream()->next() == "2");

  auto sse = vial::response::from_stream(s, "text/event-stream", 201);
  CHECK(sse.content_type() == "text/event-stream");
  CHECK(sse.status() == 201);
}

TEST_CASE("redirect sets Location, status and a short HTML body", "[http][response]") {
  auto r = vial::redirect("/login?next=%2Fhome");
  CHECK(r.status() == 302);
  CHECK(r.headers().get("Location") == "/login?next=%2Fhome");
  CHECK(r.content_type() == "text/html; charset=utf-8");
  CHECK(r.body().find("<a href=\"/login?next=%2Fhome\">") != std::string::npos);
  CHECK(vial::redirect("https://example.com/", 308).status() == 308);
}

TEST_CASE("redirect escapes the location in the HTML body", "[http][response]") {
  auto r = vial::redirect("/a?x=\"><script>&y='");
  CHECK(r.headers().get("Location") == "/a?x=\"><script>&y='");
  CHECK(r.body().find("<script>") == std::string::npos);
  CHECK(r.body().find("/a?x=&quot;&gt;&lt;script&gt;&amp;y=&#39;") != std::string::npos);
}

TEST_CASE("redirect percent-encodes spaces and non-ASCII bytes in Location", "[http][response]") {
  auto r = vial::redirect("/caf\xC3\xA9 menu");
  CHECK(r.headers().get("Location") == "/caf%C3%A9%20menu");
}

TEST_CASE("redirect rejects CR, LF and NUL in the location", "[http][response]") {
  CHECK_THROWS_WITH(vial::redirect("/a\r\nSet-Cookie: x=1"),
                    "redirect location contains CR, LF or NUL");
  CHECK_THROWS_WITH(vial::redirect("/a\nb"), "redirect location contains CR, LF or NUL");
  CHECK_THROWS_AS(vial::redirect(std::string_view("/a\0b", 4)), std::invalid_argument);
}

TEST_CASE("a response takes its Content-Type and X-Request-Id without growing its field list",
          "[http][response][allocations]") {
  std::string body = "Hello, World!";
  vial_test::allocation_count count;
  vial::response r(std::move(body));
  r.set_header("X-Request-Id", "0123456789abcdef0123456789abcdef");
  // The field list once, and the two values longer than a short string.
  CHECK(count.value() == 3);
}
