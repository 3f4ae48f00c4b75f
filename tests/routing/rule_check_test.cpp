#include "vial/detail/rule_check.hpp"

#include <string>
#include <vector>

#include "support/catch.hpp"
#include "vial/routing/error.hpp"
#include "vial/routing/rule.hpp"

namespace {

using vial::converter_kind;
using vial::detail::rule_syntax;

constexpr rule_syntax syntax_of(std::string_view pattern) {
  return vial::detail::scan_rule(pattern, [](std::size_t, converter_kind) {}).error;
}

// The scan runs in constant expressions: that is what checks literal rules at compile time.
static_assert(syntax_of("/users/<int:id>/posts/<path:rest>") == rule_syntax::ok);
static_assert(syntax_of("/x/<foo:y>") == rule_syntax::unknown_converter);
static_assert(syntax_of("/<a>/<int:a>") == rule_syntax::duplicate_parameter_name);

}  // namespace

TEST_CASE("the compile-time rule scan accepts and refuses what rule::parse does",
          "[routing][rule_check]") {
  auto pattern = GENERATE(
      as<std::string>{},
      // valid
      "/", "/a", "/a/", "/a/b/c", "/<x>", "/<int:id>", "/u/<int:id>/<name>/", "/<float:f>",
      "/<uuid:u>", "/<path:p>", "/<path:p>/edit", "/<any(a, 'b', \"c d\"):k>", "/<any(a):k>/x",
      "/<any('<x>'):k>/<x>", "/<string:s>", "/a-b.c/<_x1>",
      // refused
      "", "x", "users", "/x/<foo:y>", "/x/<int:y", "/x/<int:y/z>", "/x/y>", "/x/<>", "/x/<int:>",
      "/x/<a-b>", "/x/<1a>", "/<a>/<int:a>", "/a//b", "//", "/<path:p>/<int:x>",
      "/<path:p>/<path:q>", "/file-<int:id>", "/<int:id>.json", "/a<b>c", "/<a><b>", "/<any:k>",
      "/<int(3):k>", "/<any():k>", "/<any(a,):k>", "/<any(a/b):k>", "/<any('a):k>",
      "/<any('a'b):k>", "/<any(a'b'):k>", "/<any(a,b)>", "/<any(a,b):k");
  CAPTURE(pattern);
  std::vector<converter_kind> scanned;
  const auto scan = vial::detail::scan_rule(
      pattern, [&](std::size_t, converter_kind c) { scanned.push_back(c); });
  bool parsed = true;
  std::vector<converter_kind> kinds;
  try {
    const auto rule = vial::rule::parse(pattern);
    for (const auto* p : rule.params()) kinds.push_back(p->conv.kind);
  } catch (const vial::setup_error&) {
    parsed = false;
  }
  CHECK((scan.error == rule_syntax::ok) == parsed);
  if (parsed) {
    CHECK(scan.param_count == kinds.size());
    CHECK(scanned == kinds);
  }
}
