#include "vial/http/request.hpp"

#include <nlohmann/json.hpp>

#include "support/catch.hpp"
#include "support/status_of.hpp"
#include "vial/detail/request_access.hpp"
#include "vial/http/error.hpp"
#include "vial/http/json_view.hpp"

using namespace std::string_literals;

namespace {

using vial::testing::status_of;

vial::request with_body(std::string content_type, std::string body) {
  return vial::request("POST", "/", {{"Content-Type", std::move(content_type)}}, std::move(body));
}

}  // namespace

TEST_CASE("request parses method, path and query from the target", "[http][request]") {
  vial::request r("GET", "/a%20b/c?x=1&y=two+words&x=2");
  CHECK(r.method() == vial::method::get);
  CHECK(r.method_name() == "GET");
  CHECK(r.target() == "/a%20b/c?x=1&y=two+words&x=2");
  CHECK(r.path() == "/a b/c");
  CHECK(r.query_string() == "x=1&y=two+words&x=2");
  CHECK(r.args().get_all("x") == std::vector<std::string_view>{"1", "2"});
  CHECK(r.args().get("y") == "two words");
  CHECK(r.version() == 11);
}

TEST_CASE("request keeps the token of methods vial has no enumerator for", "[http][request]") {
  vial::request r("PROPFIND", "/dav");
  CHECK(r.method() == vial::method::other);
  CHECK(r.method_name() == "PROPFIND");
}

TEST_CASE("a default request is GET /", "[http][request]") {
  vial::request r;
  CHECK(r.method() == vial::method::get);
  CHECK(r.path() == "/");
  CHECK(r.args().empty());
  CHECK(r.body().empty());
}

TEST_CASE("request decodes UTF-8 in the path and keeps '+' literal there", "[http][request]") {
  vial::request r("GET", "/caf%C3%A9/a+b");
  CHECK(r.path() == "/caf\xC3\xA9/a+b");
  vial::request empty_query("GET", "/p?");
  CHECK(empty_query.path() == "/p");
  CHECK(empty_query.query_string().empty());
}

TEST_CASE("request accepts '*' only for OPTIONS", "[http][request]") {
  vial::request r("OPTIONS", "*");
  CHECK(r.path() == "*");
  CHECK(r.target() == "*");
  CHECK_THROWS_WITH(vial::request("GET", "*"), "malformed request target");
}

TEST_CASE("request accepts absolute-form targets by taking the path", "[http][request]") {
  vial::request r("GET", "http://example.com:8080/items/7?full=1");
  CHECK(r.target() == "http://example.com:8080/items/7?full=1");
  CHECK(r.path() == "/items/7");
  CHECK(r.args().get("full") == "1");
  CHECK(vial::request("GET", "HTTPS://example.com").path() == "/");
  vial::request q("GET", "http://example.com?x=1");
  CHECK(q.path() == "/");
  CHECK(q.args().get("x") == "1");
}

TEST_CASE("request rejects targets that are neither origin- nor absolute-form", "[http][request]") {
  auto bad = GENERATE("", "relative/path", "ftp://example.com/x", "http:///x", "http://", "/a b",
                      "/a#frag", "/a\r\nX: 1", "/\x7F");
  CAPTURE(bad);
  CHECK_THROWS_WITH(vial::request("GET", bad), "malformed request target");
  CHECK(status_of([&] { vial::request("GET", bad); }) == 400);
}

TEST_CASE("request rejects malformed escapes, invalid UTF-8 and NUL in the path",
          "[http][request]") {
  CHECK_THROWS_WITH(vial::request("GET", "/a%4"), "malformed percent-encoding in path");
  CHECK_THROWS_WITH(vial::request("GET", "/a%zz"), "malformed percent-encoding in path");
  CHECK_THROWS_WITH(vial::request("GET", "/%C0%AF"), "invalid UTF-8 in path");
  CHECK_THROWS_WITH(vial::request("GET", "/\xFF"), "invalid UTF-8 in path");
  CHECK_THROWS_WITH(vial::request("GET", "/a%00b"), "NUL byte in path");
  CHECK(status_of([] { vial::request("GET", "/a%4"); }) == 400);
}

TEST_CASE("request rejects malformed query strings naming the argument", "[http][request]") {
  CHECK_THROWS_WITH(vial::request("GET", "/?ok=1&n=%4"),
                    "malformed percent-encoding in query argument 'n'");
  CHECK_THROWS_WITH(vial::request("GET", "/?p=%C0%AF"), "invalid UTF-8 in query argument 'p'");
  CHECK(status_of([] { vial::request("GET", "/?n=%zz"); }) == 400);
}

TEST_CASE("request args get_as reports bad and out-of-range integers as 400", "[http][request]") {
  vial::request r("GET", "/?n=abc&big=99999999999&page=3");
  CHECK(r.args().get_as<int>("page") == 3);
  CHECK_THROWS_WITH(r.args().get_as<int>("n"),
                    "query argument 'n' must be an integer in range, got 'abc'");
  CHECK_THROWS_WITH(r.args().get_as<int>("big"),
                    "query argument 'big' must be an integer in range, got '99999999999'");
  CHECK(status_of([&] { (void)r.args().get_as<int>("big"); }) == 400);
}

TEST_CASE("request reads headers case-insensitively", "[http][request]") {
  vial::request r("GET", "/", {{"X-Request-Id", "abc"}, {"accept", "text/html"}});
  CHECK(r.header("x-request-id") == "abc");
  CHECK(r.header("Accept") == "text/html");
  CHECK_FALSE(r.header("Missing"));
  CHECK(r.headers().size() == 2);
}

TEST_CASE("request parses cookies from every Cookie header", "[http][request]") {
  vial::request r("GET", "/", {{"Cookie", "a=1; b=2"}, {"X", "y"}, {"cookie", "c=\"3\"; a=4"}});
  CHECK(r.cookies().get_all("a") == std::vector<std::string_view>{"1", "4"});
  CHECK(r.cookies().get("b") == "2");
  CHECK(r.cookies().get("c") == "3");
  CHECK(r.cookies().noun() == "cookie");
  vial::request bad("GET", "/", {{"Cookie", "n=x"}});
  CHECK_THROWS_WITH(bad.cookies().get_as<int>("n"),
                    "cookie 'n' must be an integer in range, got 'x'");
}

TEST_CASE("request mimetype drops parameters and lower-cases", "[http][request]") {
  CHECK(with_body("Application/JSON; charset=UTF-8", "").mimetype() == "application/json");
  CHECK(with_body("  text/plain ", "").mimetype() == "text/plain");
  CHECK(vial::request("GET", "/").mimetype().empty());
}

TEST_CASE("request json parses the body once", "[http][request][json]") {
  auto r = with_body("application/json", R"({"name": "ada", "tags": [1, 2]})");
  const auto& j = r.json();
  CHECK(j["name"] == "ada");
  CHECK(j["tags"].size() == 2);
  CHECK(&r.json() == &j);
  auto& mutable_style = r.json();  // as code written for `const nlohmann::json&` did
  CHECK(&mutable_style.raw() == &j.raw());
}

TEST_CASE("request json accepts +json media types and parameters", "[http][request][json]") {
  CHECK(with_body("application/problem+json", "{\"a\":1}").json()["a"] == 1);
  CHECK(with_body("application/vnd.api+json; charset=utf-8", "[]").json().is_array());
  CHECK(with_body("APPLICATION/JSON", "true").json() == true);
}

TEST_CASE("request json answers 415 when the Content-Type is not JSON", "[http][request][json]") {
  CHECK_THROWS_WITH(with_body("text/plain", "{}").json(),
                    "expected Content-Type application/json, got 'text/plain'");
  CHECK_THROWS_WITH(with_body("text/plain; charset=utf-8", "{}").json(),
                    "expected Content-Type application/json, got 'text/plain'");
  CHECK_THROWS_WITH(with_body("application/jsonx", "{}").json(),
                    "expected Content-Type application/json, got 'application/jsonx'");
  CHECK_THROWS_WITH(with_body("+json", "{}").json(),
                    "expected Content-Type application/json, got '+json'");
  vial::request none("POST", "/", {}, "{}");
  CHECK_THROWS_WITH(none.json(), "expected Content-Type application/json, got none");
  CHECK(status_of([] { (void)with_body("text/plain", "{}").json(); }) == 415);
  CHECK(status_of([&] { (void)none.json(); }) == 415);
}

TEST_CASE("request json answers 400 for an empty body", "[http][request][json]") {
  CHECK_THROWS_WITH(with_body("application/json", "").json(),
                    "request body is empty; expected JSON");
  CHECK(status_of([] { (void)with_body("application/json", "").json(); }) == 400);
}

TEST_CASE("request json answers 400 with the parse position for invalid JSON",
          "[http][request][json]") {
  CHECK_THROWS_WITH(with_body("application/json", "{\"a\": 1,}").json(),
                    "invalid JSON body: parse error at line 1, column 9: syntax error while "
                    "parsing object key - unexpected '}'; expected string literal");
  CHECK_THROWS_WITH(
      with_body("application/json", "{\"a\":\n  tru}").json(),
      Catch::Matchers::StartsWith("invalid JSON body: parse error at line 2, column"));
  CHECK_THROWS_WITH(
      with_body("application/json", "[1, 2").json(),
      Catch::Matchers::StartsWith("invalid JSON body: parse error at line 1, column 6"));
  CHECK(status_of([] { (void)with_body("application/json", "nope").json(); }) == 400);
}

TEST_CASE("request json answers 400 for a number too large for a double", "[http][request][json]") {
  CHECK_THROWS_WITH(with_body("application/json", "[1e999]").json(),
                    "invalid JSON body: number overflow parsing '1e999'");
  CHECK(status_of([] { (void)with_body("application/json", "{\"n\": -1.5e400}").json(); }) == 400);
}

TEST_CASE("request json rejects nesting deeper than max_json_depth", "[http][request][json]") {
  constexpr auto limit = vial::request::max_json_depth;
  auto nested = [](std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); };
  CHECK(with_body("application/json", nested(limit)).json().is_array());
  CHECK_THROWS_WITH(with_body("application/json", nested(limit + 1)).json(),
                    "invalid JSON body: nested deeper than 512 levels");
  // A million levels must be a clean 400, not a stack overflow (under a limit that lets the
  // 2 MB body through).
  CHECK(status_of([&] {
          auto deep = with_body("application/json", nested(1000000));
          deep.set_max_json_bytes(4 * 1024 * 1024);
          (void)deep.json();
        }) == 400);
  // Brackets inside strings, escaped quotes included, do not count.
  std::string in_string = "[\"\\\"" + std::string(2 * limit, '[') + "\"]";
  CHECK(with_body("application/json", in_string).json().size() == 1);
}

TEST_CASE("request json error messages stay valid UTF-8 for invalid input bytes",
          "[http][request][json]") {
  try {
    (void)with_body("application/json", "\"\xFF\"").json();
    FAIL("no exception");
  } catch (const vial::http_error& e) {
    CHECK(e.status() == 400);
    CHECK(e.description().starts_with("invalid JSON body: parse error at line 1"));
    CHECK(e.description().find('\xFF') == std::string::npos);
  }
}

TEST_CASE("request form parses urlencoded bodies once", "[http][request][form]") {
  auto r = with_body("application/x-www-form-urlencoded", "name=Ada+L&tag=a&tag=b&e=%C3%A9");
  const auto& form = r.form();
  CHECK(form.get("name") == "Ada L");
  CHECK(form.get_all("tag") == std::vector<std::string_view>{"a", "b"});
  CHECK(form.get("e") == "\xC3\xA9");
  CHECK(&r.form() == &form);
  CHECK(r.files().empty());
}

TEST_CASE("request form errors name the form field", "[http][request][form]") {
  CHECK_THROWS_WITH(with_body("application/x-www-form-urlencoded", "age=%zz").form(),
                    "malformed percent-encoding in form field 'age'");
  CHECK_THROWS_WITH(with_body("application/x-www-form-urlencoded", "age=%C0%AF").form(),
                    "invalid UTF-8 in form field 'age'");
  auto r = with_body("application/x-www-form-urlencoded", "age=old");
  CHECK_THROWS_WITH(r.form().get_as<int>("age"),
                    "form field 'age' must be an integer in range, got 'old'");
}

TEST_CASE("request form is empty for other content types", "[http][request][form]") {
  CHECK(with_body("application/json", "a=1").form().empty());
  CHECK(with_body("text/plain", "a=1").files().empty());
  CHECK(vial::request("POST", "/", {}, "a=1").form().empty());
}

TEST_CASE("request form and files parse multipart bodies", "[http][request][form]") {
  std::string body =
      "--XyZ\r\n"
      "Content-Disposition: form-data; name=\"title\"\r\n\r\nHi\r\n"
      "--XyZ\r\n"
      "Content-Disposition: form-data; name=\"doc\"; filename=\"a.txt\"\r\n"
      "Content-Type: text/plain\r\n\r\ncontent\r\n"
      "--XyZ--\r\n";
  auto r = with_body("multipart/form-data; boundary=XyZ", body);
  // files() first: it must trigger the same single parse.
  REQUIRE(r.files().size() == 1);
  CHECK(r.files()[0].filename == "a.txt");
  CHECK(r.files()[0].content == "content");
  CHECK(r.form().get("title") == "Hi");
  CHECK(r.form().noun() == "form field");
}

TEST_CASE("request multipart without a boundary is a 400", "[http][request][form]") {
  auto r = with_body("multipart/form-data", "--x\r\n");
  CHECK_THROWS_WITH(r.form(), "multipart/form-data request has no valid boundary parameter");
  CHECK(status_of([&] { (void)r.files(); }) == 400);
}

TEST_CASE("request multipart honours the form limits", "[http][request][form]") {
  std::string body =
      "--b\r\nContent-Disposition: form-data; name=\"bio\"\r\n\r\n0123456789\r\n--b--\r\n";
  auto r = with_body("multipart/form-data; boundary=b", body);
  vial::multipart_limits limits;
  limits.max_field_bytes = 5;
  r.set_form_limits(limits);
  CHECK_THROWS_WITH(r.form(), "multipart field 'bio' is larger than 5 bytes");
  CHECK(status_of([&] { (void)r.form(); }) == 413);
}

namespace {
struct user_info {
  std::string name;
  int visits = 0;
};
}  // namespace

TEST_CASE("request g stores one default-constructed slot per type", "[http][request][g]") {
  vial::request r;
  CHECK(r.find_g<user_info>() == nullptr);
  r.g<user_info>().name = "ada";
  r.g<user_info>().visits++;
  REQUIRE(r.find_g<user_info>() != nullptr);
  CHECK(r.find_g<user_info>()->name == "ada");
  CHECK(r.find_g<user_info>()->visits == 1);
  r.g<int>() = 7;
  CHECK(r.g<int>() == 7);
  CHECK(r.find_g<long>() == nullptr);
  CHECK(&r.g<user_info>() == r.find_g<user_info>());
}

TEST_CASE("the framework's request_access sets what routing and the server found",
          "[http][request]") {
  vial::request r("GET", "/u/7");
  r.set_remote_address("127.0.0.1:5000");
  CHECK(r.endpoint().empty());
  CHECK(r.version() == 11);
  vial::detail::request_access::set_endpoint(r, "user");
  vial::detail::request_access::set_params(r, {{"id", std::int64_t{7}}});
  vial::detail::request_access::set_version(r, 10);
  CHECK(r.remote_address() == "127.0.0.1:5000");
  CHECK(r.endpoint() == "user");
  REQUIRE(r.params().size() == 1);
  CHECK(std::get<std::int64_t>(r.params()[0].value) == 7);
  CHECK(r.version() == 10);
}

TEST_CASE("request set_body replaces the body and what was parsed from it", "[http][request]") {
  auto r = with_body("application/json", "[1]");
  CHECK(r.json().size() == 1);
  r.set_body("[1, 2]");
  CHECK(r.body() == "[1, 2]");
  CHECK(r.json().size() == 2);
  vial::request form("POST", "/", {{"Content-Type", "application/x-www-form-urlencoded"}}, "a=1");
  CHECK(form.form().get("a") == "1");
  form.set_body("b=2");
  CHECK_FALSE(form.form().contains("a"));
  CHECK(form.form().get("b") == "2");
}

TEST_CASE("refused_or_valid keeps a malformed target's error instead of throwing",
          "[http][request][refusal]") {
  auto bad_query =
      vial::request::refused_or_valid("GET", "/search?q=%zz&x=1", {{"Cookie", "a=1"}}, "body");
  REQUIRE(bad_query.refusal());
  CHECK(bad_query.refusal()->status() == 400);
  CHECK(bad_query.refusal()->description() == "malformed percent-encoding in query argument 'q'");
  CHECK(bad_query.path() == "/search");  // routable: the path was fine
  CHECK(bad_query.args().empty());
  CHECK(bad_query.cookies().get_or("a", "") == "1");

  auto bad_path = vial::request::refused_or_valid("GET", "/a%zz");
  REQUIRE(bad_path.refusal());
  CHECK(bad_path.refusal()->description() == "malformed percent-encoding in path");
  CHECK(bad_path.path().empty());

  auto fine = vial::request::refused_or_valid("GET", "/a?b=c");
  CHECK_FALSE(fine.refusal());
  CHECK(fine.path() == "/a");
}

TEST_CASE("a refused request's json and form throw its refusal", "[http][request][refusal]") {
  auto r = vial::request::refused_or_valid("POST", "/x?q=%", {{"Content-Type", "application/json"}},
                                           "{}");
  CHECK_THROWS_WITH(r.json(), "malformed percent-encoding in query argument 'q'");
  r.set_refusal(vial::http_error(413, "too big"));
  CHECK(status_of([&] { (void)r.json(); }) == 413);
  CHECK(status_of([&] { (void)r.form(); }) == 413);
  CHECK(status_of([&] { (void)r.files(); }) == 413);
}

TEST_CASE("json() refuses a body over max_json_bytes with 413", "[http][request][json][limits]") {
  auto r = with_body("application/json", "[" + std::string(100, ' ') + "1]");
  r.set_max_json_bytes(50);
  CHECK_THROWS_WITH(r.json(), "JSON body of 103 bytes is larger than the limit of 50 bytes");
  CHECK(status_of([&] { (void)r.json(); }) == 413);
  r.set_max_json_bytes(103);
  CHECK(r.json().size() == 1);
  CHECK(vial::request().max_json_bytes() == 1024 * 1024);
}
