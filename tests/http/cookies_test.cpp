#include "vial/http/cookies.hpp"

#include <stdexcept>

#include "support/catch.hpp"

using namespace std::chrono_literals;

TEST_CASE("parse_cookie_header splits pairs and trims whitespace", "[http][cookies]") {
  auto c = vial::parse_cookie_header("a=1; b=two ;c=3;  d = 4 ");
  CHECK(c.get("a") == "1");
  CHECK(c.get("b") == "two");
  CHECK(c.get("c") == "3");
  CHECK(c.get("d") == "4");
  CHECK(c.size() == 4);
}

TEST_CASE("parse_cookie_header unquotes quoted values and keeps '=' in values", "[http][cookies]") {
  auto c = vial::parse_cookie_header("q=\"quoted value\"; t=a=b; half=\"x");
  CHECK(c.get("q") == "quoted value");
  CHECK(c.get("t") == "a=b");
  CHECK(c.get("half") == "\"x");
}

TEST_CASE("parse_cookie_header skips malformed pairs", "[http][cookies]") {
  auto c = vial::parse_cookie_header("novalue; =orphan; ok=1;;  ; x=");
  CHECK(c.size() == 2);
  CHECK(c.get("ok") == "1");
  CHECK(c.get("x") == "");
  CHECK_FALSE(c.contains("novalue"));
  CHECK(vial::parse_cookie_header("").empty());
}

TEST_CASE("parse_cookie_header keeps repeated names in order", "[http][cookies]") {
  auto c = vial::parse_cookie_header("id=1; id=2");
  CHECK(c.get_all("id") == std::vector<std::string_view>{"1", "2"});
}

TEST_CASE("format_set_cookie gives a session cookie for the whole site by default",
          "[http][cookies]") {
  CHECK(vial::format_set_cookie("sid", "abc") == "sid=abc; Path=/");
}

TEST_CASE("format_set_cookie writes attributes in a fixed order", "[http][cookies]") {
  vial::cookie_options o;
  o.max_age = 3600s;
  o.expires = std::chrono::system_clock::time_point{} + 784111777s;
  o.path = "/app";
  o.domain = "example.com";
  o.secure = true;
  o.http_only = true;
  o.same_site = "Lax";
  CHECK(vial::format_set_cookie("sid", "abc", o) ==
        "sid=abc; Expires=Sun, 06 Nov 1994 08:49:37 GMT; Max-Age=3600; Domain=example.com; "
        "Path=/app; Secure; HttpOnly; SameSite=Lax");
}

TEST_CASE("format_set_cookie omits an empty path and clamps a negative Max-Age",
          "[http][cookies]") {
  vial::cookie_options o;
  o.path.clear();
  o.max_age = -5s;
  CHECK(vial::format_set_cookie("a", "", o) == "a=; Max-Age=0");
}

TEST_CASE("format_set_cookie normalizes SameSite and requires Secure for None", "[http][cookies]") {
  vial::cookie_options o;
  o.same_site = "strict";
  CHECK(vial::format_set_cookie("a", "1", o) == "a=1; Path=/; SameSite=Strict");
  o.same_site = "None";
  CHECK_THROWS_WITH(vial::format_set_cookie("a", "1", o),
                    "cookie 'a' has SameSite=None, which browsers reject without Secure");
  o.secure = true;
  CHECK(vial::format_set_cookie("a", "1", o) == "a=1; Path=/; Secure; SameSite=None");
  o.same_site = "Sometimes";
  CHECK_THROWS_WITH(vial::format_set_cookie("a", "1", o),
                    "cookie SameSite for 'a' must be Strict, Lax or None, got 'Sometimes'");
}

TEST_CASE("format_set_cookie rejects names that are not tokens", "[http][cookies]") {
  CHECK_THROWS_AS(vial::format_set_cookie("", "1"), std::invalid_argument);
  CHECK_THROWS_WITH(vial::format_set_cookie("a b", "1"), "cookie name 'a b' is not a valid token");
  auto bad = GENERATE("a=b", "a;b", "a\r\nSet-Cookie: x", "a,b", "a\"b", "\xC3\xA9");
  CAPTURE(bad);
  CHECK_THROWS_AS(vial::format_set_cookie(bad, "1"), std::invalid_argument);
}

TEST_CASE("format_set_cookie rejects values that could break the header", "[http][cookies]") {
  CHECK_THROWS_WITH(vial::format_set_cookie("x", "a\r\nSet-Cookie: x"),
                    "cookie value for 'x' contains a forbidden character");
  auto bad = GENERATE("a;b", "a,b", "a b", "a\tb", "a\\b", "a\"b", "\"", "a\nb", "a\rb", "\x7F",
                      "\xC3\xA9");
  CAPTURE(bad);
  CHECK_THROWS_WITH(vial::format_set_cookie("x", bad),
                    "cookie value for 'x' contains a forbidden character");
  CHECK_THROWS_AS(vial::format_set_cookie("x", std::string_view("a\0b", 3)), std::invalid_argument);
}

TEST_CASE("format_set_cookie accepts every cookie-octet and a quoted value", "[http][cookies]") {
  std::string all;
  for (int c = 0x21; c <= 0x7E; ++c) {
    if (c != '"' && c != ',' && c != ';' && c != '\\') all.push_back(static_cast<char>(c));
  }
  CHECK(vial::format_set_cookie("x", all) == "x=" + all + "; Path=/");
  CHECK(vial::format_set_cookie("x", "\"abc\"") == "x=\"abc\"; Path=/");
}

TEST_CASE("format_set_cookie rejects path and domain that could break the header",
          "[http][cookies]") {
  vial::cookie_options o;
  o.path = "/a; Secure";
  CHECK_THROWS_WITH(vial::format_set_cookie("x", "1", o),
                    "cookie path for 'x' contains a forbidden character");
  o.path = "/a\r\nSet-Cookie: y=1";
  CHECK_THROWS_WITH(vial::format_set_cookie("x", "1", o),
                    "cookie path for 'x' contains a forbidden character");
  o.path = "/";
  o.domain = "example.com\nX: 1";
  CHECK_THROWS_WITH(vial::format_set_cookie("x", "1", o),
                    "cookie domain for 'x' contains a forbidden character");
}

TEST_CASE("format_http_date writes an IMF-fixdate", "[http][cookies][date]") {
  using std::chrono::system_clock;
  CHECK(vial::format_http_date(system_clock::time_point{}) == "Thu, 01 Jan 1970 00:00:00 GMT");
  CHECK(vial::format_http_date(system_clock::time_point{} + 784111777s) ==
        "Sun, 06 Nov 1994 08:49:37 GMT");
  // Sub-second parts are dropped, not rounded.
  CHECK(vial::format_http_date(system_clock::time_point{} + 784111777s + 999ms) ==
        "Sun, 06 Nov 1994 08:49:37 GMT");
  CHECK(vial::format_http_date(system_clock::time_point{} + 951782400s) ==
        "Tue, 29 Feb 2000 00:00:00 GMT");
}

TEST_CASE("parse_http_date reads an IMF-fixdate back", "[http][cookies][date]") {
  using std::chrono::system_clock;
  auto t = vial::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT");
  REQUIRE(t);
  CHECK(*t == system_clock::time_point{} + 784111777s);
  auto now = std::chrono::floor<std::chrono::seconds>(system_clock::now());
  CHECK(vial::parse_http_date(vial::format_http_date(now)) == now);
}

TEST_CASE("parse_http_date rejects dates system_clock cannot hold", "[http][cookies][date]") {
  // Well-formed, but in nanoseconds since 1970 they overflow 64 bits.
  CHECK_FALSE(vial::parse_http_date("Sun, 06 Nov 1200 08:49:37 GMT"));
  CHECK_FALSE(vial::parse_http_date("Fri, 31 Dec 9999 23:59:59 GMT"));
  CHECK_FALSE(vial::parse_http_date("Sat, 01 Jan 0000 00:00:00 GMT"));
  CHECK(vial::parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT") ==
        std::chrono::system_clock::time_point{});
  CHECK(vial::parse_http_date("Sun, 01 Jan 2262 00:00:00 GMT"));
  CHECK(vial::parse_http_date("Sat, 01 Jan 1800 00:00:00 GMT"));
}

TEST_CASE("parse_http_date rejects malformed dates", "[http][cookies][date]") {
  auto bad = GENERATE("", "Sun, 06 Nov 1994 08:49:37 UTC", "Sunday, 06-Nov-94 08:49:37 GMT",
                      "Sun Nov  6 08:49:37 1994", "Sun, 6 Nov 1994 08:49:37 GMT",
                      "Sun, 06 Nov 1994 08:49:37 GMT ", "Xyz, 06 Nov 1994 08:49:37 GMT",
                      "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 32 Jan 1994 08:49:37 GMT",
                      "Sun, 29 Feb 1900 08:49:37 GMT", "Sun, 06 Nov 1994 24:00:00 GMT",
                      "Sun, 06 Nov 1994 08:60:00 GMT", "Sun, 0a Nov 1994 08:49:37 GMT",
                      "Sun, 00 Nov 1994 08:49:37 GMT", "Sun; 06 Nov 1994 08:49:37 GMT");
  CAPTURE(bad);
  CHECK_FALSE(vial::parse_http_date(bad).has_value());
}
