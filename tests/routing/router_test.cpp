#include "vial/routing/router.hpp"

#include <cstdint>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/catch.hpp"

namespace {

using outcome = vial::route_match::outcome;
using methods = std::vector<std::string>;

const methods get{"GET"};

struct registration {
  std::string pattern;
  methods verbs;
  std::string endpoint;
};

// Registers `rules` forwards or backwards; returns the ids in the order of `rules`.
std::vector<std::size_t> add_all(vial::router& r, const std::vector<registration>& rules,
                                 bool reversed) {
  std::vector<std::size_t> ids(rules.size());
  for (std::size_t k = 0; k < rules.size(); ++k) {
    std::size_t i = reversed ? rules.size() - 1 - k : k;
    ids[i] = r.add(rules[i].pattern, rules[i].verbs, rules[i].endpoint);
  }
  return ids;
}

const vial::param_value& param(const vial::route_match& m, std::string_view name) {
  for (const auto& p : m.params) {
    if (p.name == name) return p.value;
  }
  FAIL("no parameter " << name);
  throw;
}

}  // namespace

TEST_CASE("router returns ids in registration order and keeps the parsed rules",
          "[routing][router]") {
  vial::router r;
  CHECK(r.size() == 0);
  CHECK(r.add("/", get, "index") == 0);
  CHECK(r.add("/users/<int:id>", get, "user") == 1);
  CHECK(r.size() == 2);
  CHECK(r.rule_of(1).pattern() == "/users/<int:id>");
  CHECK_THROWS_AS(r.rule_of(2), std::out_of_range);
}

TEST_CASE("router matches static and converter rules with typed params", "[routing][router]") {
  vial::router r;
  auto index = r.add("/", get, "index");
  auto user = r.add("/users/<int:id>", get, "user");
  auto file = r.add("/files/<path:rest>", get, "file");
  auto price = r.add("/price/<float:amount>", get, "price");
  auto item = r.add("/items/<uuid:key>", get, "item");

  auto m = r.match("GET", "/");
  CHECK(m.result == outcome::found);
  CHECK(m.route == index);
  CHECK(m.params.empty());

  m = r.match("GET", "/users/42");
  REQUIRE(m.result == outcome::found);
  CHECK(m.route == user);
  REQUIRE(m.params.size() == 1);
  CHECK(m.params[0].name == "id");
  CHECK(std::get<std::int64_t>(m.params[0].value) == 42);

  m = r.match("GET", "/files/a/b/c.txt");
  REQUIRE(m.result == outcome::found);
  CHECK(m.route == file);
  CHECK(std::get<std::string>(param(m, "rest")) == "a/b/c.txt");

  m = r.match("GET", "/price/9.75");
  REQUIRE(m.result == outcome::found);
  CHECK(m.route == price);
  CHECK(std::get<double>(param(m, "amount")) == 9.75);

  m = r.match("GET", "/items/123e4567-e89b-12d3-a456-426614174000");
  REQUIRE(m.result == outcome::found);
  CHECK(m.route == item);
  CHECK(std::get<vial::uuid>(param(m, "key")).to_string() ==
        "123e4567-e89b-12d3-a456-426614174000");

  CHECK(r.match("GET", "/items/not-a-uuid").result == outcome::not_found);
  CHECK(r.match("GET", "/price/9").result == outcome::not_found);
  CHECK(r.match("GET", "/nope").result == outcome::not_found);
  CHECK(r.match("GET", "").result == outcome::not_found);
  CHECK(r.match("GET", "users/42").result == outcome::not_found);
}

TEST_CASE("router treats int overflow and signs as not found", "[routing][router]") {
  vial::router r;
  r.add("/n/<int:x>", get, "n");
  CHECK(r.match("GET", "/n/9223372036854775807").result == outcome::found);
  auto path = GENERATE(as<std::string>{}, "/n/9223372036854775808", "/n/-1", "/n/+1", "/n/1.0",
                       "/n/", "/n/1/");
  CAPTURE(path);
  CHECK(r.match("GET", path).result == outcome::not_found);
}

TEST_CASE("router prefers static segments over converters whatever the order",
          "[routing][router]") {
  bool reversed = GENERATE(false, true);
  CAPTURE(reversed);
  vial::router r;
  auto ids = add_all(r,
                     {{"/users/me", get, "me"},
                      {"/users/<int:id>", get, "by_id"},
                      {"/users/<name>", get, "by_name"},
                      {"/users/<path:rest>", get, "rest"}},
                     reversed);
  CHECK(r.match("GET", "/users/me").route == ids[0]);
  CHECK(r.match("GET", "/users/7").route == ids[1]);
  CHECK(r.match("GET", "/users/bob").route == ids[2]);
  CHECK(r.match("GET", "/users/bob/extra").route == ids[3]);
  CHECK(std::get<std::string>(param(r.match("GET", "/users/bob/extra"), "rest")) == "bob/extra");
}

TEST_CASE("router ranks any, int, float and uuid above string and string above path",
          "[routing][router]") {
  bool reversed = GENERATE(false, true);
  CAPTURE(reversed);
  vial::router r;
  auto ids = add_all(r,
                     {{"/v/<path:p>", get, "path"},
                      {"/v/<s>", get, "string"},
                      {"/v/<any(latest,stable):channel>", get, "any"},
                      {"/v/<int:n>", get, "int"},
                      {"/v/<float:f>", get, "float"},
                      {"/v/<uuid:u>", get, "uuid"}},
                     reversed);
  CHECK(r.match("GET", "/v/a/b").route == ids[0]);
  CHECK(r.match("GET", "/v/beta").route == ids[1]);
  CHECK(r.match("GET", "/v/stable").route == ids[2]);
  CHECK(r.match("GET", "/v/12").route == ids[3]);
  CHECK(r.match("GET", "/v/1.2").route == ids[4]);
  CHECK(r.match("GET", "/v/123e4567-e89b-12d3-a456-426614174000").route == ids[5]);
}

TEST_CASE("router backtracks out of a converter branch that fails deeper", "[routing][router]") {
  bool reversed = GENERATE(false, true);
  CAPTURE(reversed);
  vial::router r;
  auto ids = add_all(r,
                     {{"/a/<int:x>/b", get, "int_b"},
                      {"/a/<string:s>/c", get, "string_c"},
                      {"/a/5/<name>/d", get, "static_d"},
                      {"/<path:p>/edit", get, "edit"}},
                     reversed);
  auto m = r.match("GET", "/a/5/b");
  REQUIRE(m.result == outcome::found);
  CHECK(m.route == ids[0]);
  CHECK(std::get<std::int64_t>(param(m, "x")) == 5);

  m = r.match("GET", "/a/5/c");
  REQUIRE(m.result == outcome::found);
  CHECK(m.route == ids[1]);
  CHECK(std::get<std::string>(param(m, "s")) == "5");

  m = r.match("GET", "/a/5/x/d");
  REQUIRE(m.result == outcome::found);
  CHECK(m.route == ids[2]);

  m = r.match("GET", "/a/5/x/y/edit");
  REQUIRE(m.result == outcome::found);
  CHECK(m.route == ids[3]);
  CHECK(std::get<std::string>(param(m, "p")) == "a/5/x/y");

  CHECK(r.match("GET", "/a/5/e").result == outcome::not_found);
}

TEST_CASE("path converter spans nested slashes but not empty segments", "[routing][router]") {
  vial::router r;
  auto file = r.add("/static/<path:file>", get, "static");
  auto raw = r.add("/raw/<path:file>/", get, "raw");
  auto m = r.match("GET", "/static/css/deep/site.css");
  REQUIRE(m.result == outcome::found);
  CHECK(m.route == file);
  CHECK(std::get<std::string>(param(m, "file")) == "css/deep/site.css");
  m = r.match("GET", "/raw/a/b/");
  REQUIRE(m.result == outcome::found);
  CHECK(m.route == raw);
  CHECK(std::get<std::string>(param(m, "file")) == "a/b");
  CHECK(r.match("GET", "/static/").result == outcome::not_found);
  CHECK(r.match("GET", "/static/a//b").result == outcome::not_found);
  CHECK(r.match("GET", "/static/a/").result == outcome::not_found);
  CHECK(r.match("GET", "/static//a").result == outcome::not_found);
}

TEST_CASE("router matches any() choices only", "[routing][router]") {
  vial::router r;
  auto page = r.add("/<any(about, 'help', \"faq\"):page>", get, "page");
  for (const char* p : {"/about", "/help", "/faq"}) {
    auto m = r.match("GET", p);
    REQUIRE(m.result == outcome::found);
    CHECK(m.route == page);
    CHECK(std::get<std::string>(param(m, "page")) == std::string(p + 1));
  }
  CHECK(r.match("GET", "/contact").result == outcome::not_found);
  CHECK(r.match("GET", "/'help'").result == outcome::not_found);
}

TEST_CASE("router matches decoded unicode paths", "[routing][router]") {
  vial::router r;
  auto cafe = r.add("/caf\xc3\xa9/<name>", get, "cafe");
  auto m = r.match("GET", "/caf\xc3\xa9/cr\xc3\xa8me br\xc3\xbbl\xc3\xa9\x65");
  REQUIRE(m.result == outcome::found);
  CHECK(m.route == cafe);
  CHECK(std::get<std::string>(param(m, "name")) == "cr\xc3\xa8me br\xc3\xbbl\xc3\xa9\x65");
  CHECK(r.match("GET", "/cafe/x").result == outcome::not_found);
  CHECK(r.url_for("cafe", {{"name", "\xe2\x98\x95 & co"}}) == "/caf%C3%A9/%E2%98%95%20&%20co");
}

TEST_CASE("GET routes answer HEAD and an explicit HEAD route wins", "[routing][router]") {
  vial::router r;
  auto page = r.add("/page", get, "page");
  auto m = r.match("HEAD", "/page");
  REQUIRE(m.result == outcome::found);
  CHECK(m.route == page);
  CHECK(m.allowed.empty());  // only a 405 lists the methods

  auto head = r.add("/page", {"HEAD"}, "page_head");
  CHECK(r.match("HEAD", "/page").route == head);
  CHECK(r.match("GET", "/page").route == page);

  vial::router post_only;
  post_only.add("/form", {"POST"}, "form");
  CHECK(post_only.match("HEAD", "/form").result == outcome::method_not_allowed);
}

TEST_CASE("router answers 405 with the sorted allowed methods", "[routing][router]") {
  vial::router r;
  r.add("/items", {"POST"}, "create");
  r.add("/items", {"GET"}, "list");
  r.add("/items/<int:id>", {"PUT", "DELETE", "PUT"}, "update");
  auto m = r.match("PATCH", "/items");
  CHECK(m.result == outcome::method_not_allowed);
  CHECK(m.allowed == "GET, HEAD, OPTIONS, POST");
  m = r.match("GET", "/items/3");
  CHECK(m.result == outcome::method_not_allowed);
  CHECK(m.allowed == "DELETE, OPTIONS, PUT");
  CHECK(r.match("GET", "/items/x").result == outcome::not_found);
}

TEST_CASE("router leaves OPTIONS to the app unless a rule registers it", "[routing][router]") {
  vial::router r;
  r.add("/a", get, "a");
  auto m = r.match("OPTIONS", "/a");
  CHECK(m.result == outcome::method_not_allowed);
  CHECK(m.allowed == "GET, HEAD, OPTIONS");
  auto options = r.add("/a", {"OPTIONS"}, "a_options");
  m = r.match("OPTIONS", "/a");
  CHECK(m.result == outcome::found);
  CHECK(m.route == options);
}

TEST_CASE("allowed joins every rule that matches the path", "[routing][router]") {
  bool reversed = GENERATE(false, true);
  CAPTURE(reversed);
  vial::router r;
  auto ids = add_all(r,
                     {{"/a/<int:x>", {"GET"}, "int"},
                      {"/a/<s>", {"POST"}, "string"},
                      {"/a/<path:p>", {"DELETE"}, "path"}},
                     reversed);
  auto m = r.match("GET", "/a/5");
  REQUIRE(m.result == outcome::found);
  CHECK(m.route == ids[0]);
  m = r.match("PUT", "/a/5");
  REQUIRE(m.result == outcome::method_not_allowed);
  CHECK(m.allowed == "DELETE, GET, HEAD, OPTIONS, POST");

  SECTION("a lower-ranked rule with the method is found rather than a 405") {
    m = r.match("POST", "/a/5");
    REQUIRE(m.result == outcome::found);
    CHECK(m.route == ids[1]);
    CHECK(std::get<std::string>(param(m, "s")) == "5");
    m = r.match("DELETE", "/a/5");
    REQUIRE(m.result == outcome::found);
    CHECK(m.route == ids[2]);
  }
  SECTION("rules that do not match the path are not in allowed") {
    m = r.match("PUT", "/a/x");
    CHECK(m.result == outcome::method_not_allowed);
    CHECK(m.allowed == "DELETE, OPTIONS, POST");
  }
}

TEST_CASE("router redirects to the rule with the trailing slash", "[routing][router]") {
  vial::router r;
  r.add("/docs/", get, "docs");
  r.add("/about", get, "about");
  r.add("/users/<name>/", get, "user");

  auto m = r.match("GET", "/docs");
  CHECK(m.result == outcome::redirect);
  CHECK(m.location == "/docs/");
  CHECK(r.match("GET", "/docs/").result == outcome::found);

  CHECK(r.match("GET", "/about/").result == outcome::not_found);

  m = r.match("GET", "/users/j\xc3\xb6rg m");
  CHECK(m.result == outcome::redirect);
  CHECK(m.location == "/users/j%C3%B6rg%20m/");

  SECTION("no redirect to a rule that does not take the method") {
    CHECK(r.match("POST", "/docs").result == outcome::not_found);
  }
}

TEST_CASE("rules with and without the trailing slash each match themselves", "[routing][router]") {
  bool reversed = GENERATE(false, true);
  CAPTURE(reversed);
  vial::router r;
  auto ids = add_all(r, {{"/docs", get, "plain"}, {"/docs/", get, "slash"}}, reversed);
  auto m = r.match("GET", "/docs");
  CHECK(m.result == outcome::found);
  CHECK(m.route == ids[0]);
  m = r.match("GET", "/docs/");
  CHECK(m.result == outcome::found);
  CHECK(m.route == ids[1]);
}

TEST_CASE("router rejects a rule that duplicates another for the same method",
          "[routing][router]") {
  vial::router r;
  r.add("/users/<int:uid>", {"GET", "POST"}, "user");
  CHECK_THROWS_AS(r.add("/users/<int:id>", {"GET"}, "other"), vial::setup_error);
  CHECK_THROWS_WITH(r.add("/users/<int:id>", {"PUT", "POST"}, "other"),
                    "rule '/users/<int:id>' conflicts with '/users/<int:uid>' for method POST");
  CHECK(r.size() == 1);
  CHECK_NOTHROW(r.add("/users/<int:id>", {"DELETE"}, "delete"));
  CHECK_NOTHROW(r.add("/users/<id>", {"GET"}, "by_name"));
  CHECK_NOTHROW(r.add("/users/<int:id>/", {"GET"}, "slash"));
  CHECK_NOTHROW(r.add("/users/<any(a,b):x>", {"GET"}, "any_ab"));
  CHECK_NOTHROW(r.add("/users/<any(a,c):x>", {"GET"}, "any_ac"));
  CHECK_THROWS_WITH(
      r.add("/users/<any(a, 'b'):y>", {"GET"}, "any_again"),
      "rule '/users/<any(a, 'b'):y>' conflicts with '/users/<any(a,b):x>' for method GET");
}

TEST_CASE("router reports bad patterns and methods when adding", "[routing][router]") {
  vial::router r;
  CHECK_THROWS_WITH(r.add("/x/<foo:y>", get, "x"),
                    "rule '/x/<foo:y>' uses unknown converter 'foo'");
  CHECK_THROWS_WITH(r.add("/x", {}, "x"), "rule '/x' has no methods");
  CHECK_THROWS_WITH(r.add("/x", {"get"}, "x"),
                    "rule '/x' has method 'get'; methods are upper-case tokens such as GET");
  CHECK_THROWS_WITH(r.add("/x", {""}, "x"),
                    "rule '/x' has method ''; methods are upper-case tokens such as GET");
  CHECK(r.size() == 0);
  CHECK_THROWS_WITH(r.url_for("x"), "unknown endpoint 'x'");
}

TEST_CASE("url_for fills rule parameters and puts the rest in the query", "[routing][router]") {
  vial::router r;
  r.add("/", get, "index");
  r.add("/users/<int:id>/posts/<slug>", get, "post");
  r.add("/files/<path:file>", get, "file");
  r.add("/docs/", get, "docs");
  r.add("/<any(about,help):page>", get, "page");
  r.add("/items/<uuid:key>", get, "item");

  CHECK(r.url_for("index") == "/");
  CHECK(r.url_for("docs") == "/docs/");
  CHECK(r.url_for("post", {{"id", "42"}, {"slug", "hello world"}}) ==
        "/users/42/posts/hello%20world");
  CHECK(r.url_for("post", {{"slug", "a?b#c"}, {"id", "007"}}) == "/users/7/posts/a%3Fb%23c");
  CHECK(r.url_for("file", {{"file", "css/a b.css"}}) == "/files/css/a%20b.css");
  CHECK(r.url_for("page", {{"page", "help"}}) == "/help");
  CHECK(r.url_for("item", {{"key", "123E4567-E89B-12D3-A456-426614174000"}}) ==
        "/items/123e4567-e89b-12d3-a456-426614174000");
  CHECK(r.url_for("index", {{"q", "a b&c=d"}, {"page", "2"}, {"q", "\xc3\xa9"}}) ==
        "/?q=a%20b%26c%3Dd&page=2&q=%C3%A9");
  CHECK(r.url_for("post", {{"id", "1"}, {"x", "1"}, {"slug", "s"}, {"y", "/"}}) ==
        "/users/1/posts/s?x=1&y=%2F");
}

TEST_CASE("url_for builds with the first rule of a shared endpoint", "[routing][router]") {
  vial::router r;
  r.add("/new", get, "page");
  r.add("/old", get, "page");
  CHECK(r.url_for("page") == "/new");
}

TEST_CASE("url_for explains what it cannot build", "[routing][router]") {
  vial::router r;
  r.add("/users/<int:id>", get, "user");
  r.add("/files/<path:file>", get, "file");
  r.add("/<any(about,help):page>", get, "page");
  r.add("/u/<name>", get, "name");
  CHECK_THROWS_AS(r.url_for("nope"), vial::build_error);
  CHECK_THROWS_WITH(r.url_for("nope"), "unknown endpoint 'nope'");
  CHECK_THROWS_WITH(r.url_for("user"),
                    "missing parameter 'id' for rule '/users/<int:id>' (endpoint 'user')");
  CHECK_THROWS_WITH(
      r.url_for("user", {{"id", "abc"}}),
      "value 'abc' is not valid for converter int (parameter 'id' of rule '/users/<int:id>')");
  CHECK_THROWS_WITH(
      r.url_for("user", {{"id", "-1"}}),
      "value '-1' is not valid for converter int (parameter 'id' of rule '/users/<int:id>')");
  CHECK_THROWS_WITH(r.url_for("page", {{"page", "contact"}}),
                    "value 'contact' is not valid for converter any (parameter 'page' of rule "
                    "'/<any(about,help):page>')");
  CHECK_THROWS_WITH(
      r.url_for("name", {{"name", "a/b"}}),
      "value 'a/b' is not valid for converter string (parameter 'name' of rule '/u/<name>')");
  CHECK_THROWS_WITH(r.url_for("file", {{"file", "/etc"}}),
                    "value '/etc' is not valid for converter path (parameter 'file' of rule "
                    "'/files/<path:file>')");
}

TEST_CASE("url_for output matches back to the same route and values", "[routing][router]") {
  vial::router r;
  auto post = r.add("/users/<int:id>/<slug>", get, "post");
  auto url = r.url_for("post", {{"id", "9"}, {"slug", "x y"}});
  CHECK(url == "/users/9/x%20y");
  auto m = r.match("GET", "/users/9/x y");
  REQUIRE(m.result == outcome::found);
  CHECK(m.route == post);
}

TEST_CASE("match cost does not depend on unrelated rules", "[routing][router]") {
  // Many sibling rules under other prefixes must not change which rule wins or its params.
  vial::router r;
  for (int i = 0; i < 500; ++i) {
    r.add("/api/v1/resource" + std::to_string(i) + "/<int:id>", get, "r" + std::to_string(i));
  }
  auto m = r.match("GET", "/api/v1/resource250/17");
  REQUIRE(m.result == outcome::found);
  CHECK(m.route == 250);
  CHECK(std::get<std::int64_t>(param(m, "id")) == 17);
  CHECK(r.url_for("r499", {{"id", "3"}}) == "/api/v1/resource499/3");
}

TEST_CASE("a configured router matches from many threads at once", "[routing][router]") {
  vial::router r;
  for (int i = 0; i < 50; ++i) {
    r.add("/r" + std::to_string(i) + "/<int:id>", get, "r" + std::to_string(i));
  }
  std::vector<int> failures(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&r, &failures, t] {
      for (int i = 0; i < 2000; ++i) {
        int n = (i + t) % 50;
        auto m = r.match("GET", "/r" + std::to_string(n) + "/" + std::to_string(i));
        if (m.result != outcome::found || m.route != static_cast<std::size_t>(n) ||
            std::get<std::int64_t>(m.params.at(0).value) != i ||
            r.url_for("r" + std::to_string(n), {{"id", std::to_string(i)}}) !=
                "/r" + std::to_string(n) + "/" + std::to_string(i)) {
          ++failures[t];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failures == std::vector<int>(4, 0));
}

TEST_CASE("a moved router keeps its routes", "[routing][router]") {
  vial::router a;
  a.add("/x", get, "x");
  vial::router b = std::move(a);
  CHECK(b.match("GET", "/x").result == outcome::found);
  CHECK(b.url_for("x") == "/x");
}

TEST_CASE("router binds rules with many parameters in order", "[routing][router]") {
  vial::router r;
  std::string pattern;
  std::string path;
  for (int i = 0; i < 12; ++i) {
    pattern += "/<int:p" + std::to_string(i) + ">";
    path += "/" + std::to_string(i * 10);
  }
  auto id = r.add(pattern, get, "many");
  r.add(pattern + "/x", get, "many_x");
  auto m = r.match("GET", path);
  REQUIRE(m.result == outcome::found);
  CHECK(m.route == id);
  REQUIRE(m.params.size() == 12);
  for (int i = 0; i < 12; ++i) {
    CHECK(m.params[i].name == "p" + std::to_string(i));
    CHECK(std::get<std::int64_t>(m.params[i].value) == i * 10);
  }
}
