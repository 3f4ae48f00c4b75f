#include "vial/routing/rule.hpp"

#include <string>

#include "support/catch.hpp"
#include "vial/routing/error.hpp"

TEST_CASE("rule splits a pattern into literal and converter segments", "[routing][rule]") {
  auto r = vial::rule::parse("/users/<int:id>/posts/<path:rest>");
  CHECK(r.pattern() == "/users/<int:id>/posts/<path:rest>");
  const auto& segs = r.segments();
  REQUIRE(segs.size() == 4);
  CHECK_FALSE(segs[0].is_param);
  CHECK(segs[0].text == "users");
  CHECK(segs[1].is_param);
  CHECK(segs[1].text == "id");
  CHECK(segs[1].conv.kind == vial::converter_kind::int_);
  CHECK(segs[2].text == "posts");
  CHECK(segs[3].conv.kind == vial::converter_kind::path);
  auto params = r.params();
  REQUIRE(params.size() == 2);
  CHECK(params[0]->text == "id");
  CHECK(params[1]->text == "rest");
  CHECK_FALSE(r.has_trailing_slash());
}

TEST_CASE("rule defaults a bare parameter to the string converter", "[routing][rule]") {
  auto r = vial::rule::parse("/hello/<name>");
  REQUIRE(r.params().size() == 1);
  CHECK(r.params()[0]->conv.kind == vial::converter_kind::string);
  CHECK(r.params()[0]->text == "name");
  CHECK(vial::rule::parse("/x/<string:s>").params()[0]->conv.kind == vial::converter_kind::string);
  CHECK(vial::rule::parse("/x/<uuid:u>").params()[0]->conv.kind == vial::converter_kind::uuid);
  CHECK(vial::rule::parse("/x/<float:f>").params()[0]->conv.kind == vial::converter_kind::float_);
}

TEST_CASE("rule keeps a trailing slash as an empty last segment", "[routing][rule]") {
  auto docs = vial::rule::parse("/docs/");
  CHECK(docs.has_trailing_slash());
  REQUIRE(docs.segments().size() == 2);
  CHECK(docs.segments()[1].text.empty());
  auto root = vial::rule::parse("/");
  CHECK(root.has_trailing_slash());
  CHECK(root.segments().size() == 1);
}

TEST_CASE("rule reads any() choices bare or quoted", "[routing][rule]") {
  auto choices = [](std::string_view pattern) {
    return vial::rule::parse(pattern).params()[0]->conv.choices;
  };
  using v = std::vector<std::string>;
  CHECK(choices("/<any(a,b,c):k>") == v{"a", "b", "c"});
  CHECK(choices("/<any(a, b ,  c):k>") == v{"a", "b", "c"});
  CHECK(choices("/<any('about', \"help me\"):k>") == v{"about", "help me"});
  CHECK(choices("/<any('a,b', c):k>") == v{"a,b", "c"});
  CHECK(choices("/<any('x)', y):k>") == v{"x)", "y"});
  CHECK(choices("/<any(a,a,b):k>") == v{"a", "b"});
}

TEST_CASE("rule rejects malformed patterns with a message naming the rule", "[routing][rule]") {
  using vial::rule;
  CHECK_THROWS_AS(rule::parse("x"), vial::setup_error);
  CHECK_THROWS_WITH(rule::parse("users"), "rule 'users' must start with '/'");
  CHECK_THROWS_WITH(rule::parse(""), "rule '' must start with '/'");
  CHECK_THROWS_WITH(rule::parse("/x/<foo:y>"), "rule '/x/<foo:y>' uses unknown converter 'foo'");
  CHECK_THROWS_WITH(rule::parse("/x/<int:y"), "rule '/x/<int:y' has an unclosed '<'");
  CHECK_THROWS_WITH(rule::parse("/x/<int:y/z>"), "rule '/x/<int:y/z>' has an unclosed '<'");
  CHECK_THROWS_WITH(rule::parse("/x/y>"), "rule '/x/y>' has a '>' without a matching '<'");
  CHECK_THROWS_WITH(rule::parse("/x/<>"), "rule '/x/<>' has a parameter with an empty name");
  CHECK_THROWS_WITH(rule::parse("/x/<int:>"),
                    "rule '/x/<int:>' has a parameter with an empty name");
  CHECK_THROWS_WITH(rule::parse("/x/<a-b>"),
                    "rule '/x/<a-b>' has an invalid parameter name 'a-b' (letters, digits and '_', "
                    "not starting with a digit)");
  CHECK_THROWS_WITH(rule::parse("/x/<1a>"),
                    "rule '/x/<1a>' has an invalid parameter name '1a' (letters, digits and '_', "
                    "not starting with a digit)");
  CHECK_THROWS_WITH(rule::parse("/<a>/<int:a>"),
                    "rule '/<a>/<int:a>' uses parameter name 'a' twice");
  CHECK_THROWS_WITH(rule::parse("/a//b"), "rule '/a//b' has an empty segment");
  CHECK_THROWS_WITH(rule::parse("//"), "rule '//' has an empty segment");
  CHECK_THROWS_WITH(rule::parse("/<path:p>/<int:x>"),
                    "rule '/<path:p>/<int:x>' has a converter after a path converter");
  CHECK_THROWS_WITH(rule::parse("/<path:p>/<path:q>"),
                    "rule '/<path:p>/<path:q>' has a converter after a path converter");
}

TEST_CASE("rule rejects text mixed with a converter in one segment", "[routing][rule]") {
  const char* message_tail =
      "mixes text and a converter in one segment; give the converter a segment of its own";
  auto pattern =
      GENERATE(as<std::string>{}, "/file-<int:id>", "/<int:id>.json", "/a<b>c", "/<a><b>");
  CAPTURE(pattern);
  CHECK_THROWS_WITH(vial::rule::parse(pattern), "rule '" + pattern + "' " + message_tail);
}

TEST_CASE("rule checks converter arguments", "[routing][rule]") {
  using vial::rule;
  CHECK_THROWS_WITH(rule::parse("/<any:k>"),
                    "rule '/<any:k>' uses converter 'any' without choices; write any(a,b,c)");
  CHECK_THROWS_WITH(rule::parse("/<int(3):k>"),
                    "rule '/<int(3):k>' passes arguments to converter 'int', which takes none");
  CHECK_THROWS_WITH(rule::parse("/<any():k>"), "rule '/<any():k>' has an empty choice in any(...)");
  CHECK_THROWS_WITH(rule::parse("/<any(a,):k>"),
                    "rule '/<any(a,):k>' has an empty choice in any(...)");
  CHECK_THROWS_WITH(rule::parse("/<any(a/b):k>"),
                    "rule '/<any(a/b):k>' has a choice containing '/' in any(...)");
  CHECK_THROWS_WITH(rule::parse("/<any('a):k>"),
                    "rule '/<any('a):k>' has an unclosed '(' in a converter");
  CHECK_THROWS_WITH(rule::parse("/<any('a'b):k>"),
                    "rule '/<any('a'b):k>' has text after a quoted choice in any(...)");
  CHECK_THROWS_WITH(rule::parse("/<any(a'b'):k>"),
                    "rule '/<any(a'b'):k>' has a stray quote in any(...)");
  CHECK_THROWS_WITH(
      rule::parse("/<any(a,b)>"),
      "rule '/<any(a,b)>' needs ':name' after converter arguments, as in <any(a,b):name>");
  CHECK_THROWS_WITH(rule::parse("/<any(a,b):k"), "rule '/<any(a,b):k' has an unclosed '<'");
}
