// Fuzz target `router`: rule parsing, matching and URL building.
//
// Input: lines. The first is a rule pattern, parsed and added (GET and POST, endpoint "extra")
// to a router that already holds a realistic table. Each following line is either
// "METHOD /decoded/path" (matched) or "@endpoint key=value&..." (url_for with those
// parameters).
//
// Invariants: only setup_error from parsing and adding, only build_error from url_for; a
// parsed rule re-parses to the same segments; a match binds one value per rule parameter; a
// found route's URL, rebuilt with url_for from the bound values, matches the same route with
// the same values; a redirect points at a path that matches; a URL built from arbitrary
// parameters matches the endpoint's route.

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "fuzz_check.hpp"
#include "vial/http/error.hpp"
#include "vial/http/url.hpp"
#include "vial/routing/router.hpp"

namespace {

using vial::fuzz::check;
using vial::fuzz::fail;

struct table_rule {
  std::string_view pattern;
  std::vector<std::string> methods;
  std::string_view endpoint;
};

const std::vector<table_rule>& table() {
  static const std::vector<table_rule> rules{
      {"/", {"GET"}, "index"},
      {"/users", {"GET", "POST"}, "users"},
      {"/users/<int:id>", {"GET", "PUT", "DELETE"}, "user"},
      {"/users/<int:id>/posts/<int:post>", {"GET"}, "post"},
      {"/users/me", {"GET"}, "me"},
      {"/price/<float:amount>", {"GET"}, "price"},
      {"/objects/<uuid:id>", {"GET"}, "object"},
      {"/kind/<any(book, 'film', \"long play\"):kind>", {"GET"}, "kind"},
      {"/pages/<name>", {"GET"}, "page"},
      {"/pages/<name>/", {"POST"}, "page_slash"},
      {"/files/<path:name>", {"GET"}, "file"},
      {"/files/<path:name>/edit", {"POST"}, "file_edit"},
      {"/docs/", {"GET"}, "docs"},
      {"/api/v1/<string:resource>/<int:id>", {"GET", "PATCH"}, "resource"},
      {"/raw/<any(a,b):x>/<path:rest>", {"GET"}, "raw"},
  };
  return rules;
}

std::optional<std::string> to_text(const vial::param_value& v) {
  if (auto* i = std::get_if<std::int64_t>(&v)) return std::to_string(*i);
  if (auto* d = std::get_if<double>(&v)) {
    char buf[400];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, *d, std::chars_format::fixed);
    if (ec != std::errc{}) return std::nullopt;
    std::string out(buf, end);
    if (out.find('.') == std::string::npos) out += ".0";
    return out;
  }
  if (auto* u = std::get_if<vial::uuid>(&v)) return u->to_string();
  return std::get<std::string>(v);
}

std::string decoded_path(std::string_view url) {
  auto path = url.substr(0, url.find('?'));
  auto decoded = vial::percent_decode(path);
  check(decoded.has_value(), "url_for built a malformed escape", url);
  return *decoded;
}

// Rebuilds the URL of a found route from its bound values and matches it again.
void check_round_trip(const vial::router& r, const vial::route_match& m, std::string_view method,
                      std::size_t extra) {
  vial::multi_dict params;
  for (const auto& p : m.params) {
    auto text = to_text(p.value);
    if (!text) return;
    params.add(p.name, *text);
  }
  std::string_view endpoint = m.route < table().size() ? table()[m.route].endpoint : "extra";
  std::string url;
  try {
    url = r.url_for(endpoint, params);
  } catch (const vial::build_error& e) {
    fail("url_for rejects the values a match bound", e.what());
  }
  auto again = r.match(method, decoded_path(url));
  check(again.result == vial::route_match::outcome::found, "a rebuilt URL does not match", url);
  if (again.route == extra && m.route != extra) return;  // the fuzzed rule may take it first
  check(again.route == m.route, "a rebuilt URL matches another route", url);
  check(again.params.size() == m.params.size(), "a rebuilt URL binds other parameters", url);
  for (std::size_t i = 0; i < m.params.size(); ++i) {
    check(again.params[i].name == m.params[i].name && again.params[i].value == m.params[i].value,
          "a rebuilt URL binds other values", url);
  }
}

void match_line(const vial::router& r, std::string_view line, std::size_t extra) {
  auto space = line.find(' ');
  if (space == std::string_view::npos) return;
  auto method = line.substr(0, space);
  auto path = line.substr(space + 1);
  auto m = r.match(method, path);
  using outcome = vial::route_match::outcome;
  switch (m.result) {
    case outcome::not_found:
      break;
    case outcome::method_not_allowed:
      check(m.allowed.find("OPTIONS") != std::string::npos, "Allow lacks OPTIONS", m.allowed);
      break;
    case outcome::redirect: {
      auto target = decoded_path(m.location);
      check(target.size() == path.size() + 1 && target.starts_with(path) && target.back() == '/',
            "redirect is not the path with a slash", m.location);
      check(r.match(method, target).result == outcome::found,
            "redirect to a path that does not match", m.location);
      break;
    }
    case outcome::found: {
      check(m.route < r.size(), "match returned an unknown route");
      const auto rule_params = r.rule_of(m.route).params();
      check(rule_params.size() == m.params.size(), "match bound a wrong number of values");
      for (std::size_t i = 0; i < m.params.size(); ++i) {
        check(m.params[i].name == rule_params[i]->text, "match bound a value to another name");
      }
      check_round_trip(r, m, method, extra);
      break;
    }
  }
}

void url_for_line(const vial::router& r, std::string_view line, std::size_t extra) {
  auto space = line.find(' ');
  auto endpoint = line.substr(1, space == std::string_view::npos ? line.npos : space - 1);
  vial::multi_dict params;
  if (space != std::string_view::npos) {
    try {
      params = vial::parse_query(line.substr(space + 1));
    } catch (const vial::http_error&) {
      return;
    }
  }
  std::string url;
  try {
    url = r.url_for(endpoint, params);
  } catch (const vial::build_error&) {
    return;
  }
  check(url.starts_with("/"), "url_for built a relative URL", url);
  auto m = r.match("GET", decoded_path(url));
  std::size_t route = extra;
  for (std::size_t i = 0; i < table().size(); ++i) {
    if (table()[i].endpoint == endpoint) route = i;
  }
  if (m.result == vial::route_match::outcome::found && m.route != extra && route != extra) {
    // Another rule may legitimately take the same URL first (a literal beats a converter);
    // when the endpoint's own rule is the one found, its values must come back.
    if (m.route == route) {
      for (const auto& p : m.params) {
        check(params.get(p.name).has_value(), "a URL binds a parameter it was not built with", url);
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto newline = input.find('\n');
  std::string_view pattern = input.substr(0, newline);
  std::string_view rest =
      newline == std::string_view::npos ? std::string_view{} : input.substr(newline + 1);

  vial::router r;
  for (const auto& t : table()) r.add(t.pattern, t.methods, std::string(t.endpoint));

  std::size_t extra = static_cast<std::size_t>(-1);
  try {
    auto parsed = vial::rule::parse(pattern);
    check(parsed.pattern() == pattern, "a parsed rule does not keep its text");
    auto again = vial::rule::parse(parsed.pattern());
    check(again.segments().size() == parsed.segments().size(), "a rule re-parses differently");
    for (std::size_t i = 0; i < again.segments().size(); ++i) {
      const auto& a = again.segments()[i];
      const auto& b = parsed.segments()[i];
      check(a.is_param == b.is_param && a.text == b.text && a.conv == b.conv,
            "a rule re-parses differently");
    }
    extra = r.add(pattern, {"GET", "POST"}, "extra");
  } catch (const vial::setup_error&) {
  }

  while (!rest.empty()) {
    auto end = rest.find('\n');
    auto line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
    if (line.starts_with("@")) {
      url_for_line(r, line, extra);
    } else {
      match_line(r, line, extra);
    }
  }
  return 0;
}
