// Fuzz target `json`: request bodies read with request::json(), and JSON responses.
//
// Input: a request body, sent as application/json and as a `+json` type.
//
// Invariants: json() throws only http_error 400 with a valid UTF-8 description; what it
// accepts is nested no deeper than request::max_json_depth and survives dump and parse, and
// response::json of it is a body that parses back to the same value; both content types give
// the same answer.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "vial/http/error.hpp"
#include "vial/http/json.hpp"
#include "vial/http/url.hpp"
#include "vial/log.hpp"

namespace {

using vial::json;
using vial::fuzz::check;
using vial::fuzz::fail;

// Without recursion, so that a value deeper than the limit cannot overflow the check itself.
std::size_t depth_of(const json& root) {
  std::size_t deepest = 0;
  std::vector<std::pair<const json*, std::size_t>> todo{{&root, 0}};
  while (!todo.empty()) {
    auto [v, d] = todo.back();
    todo.pop_back();
    if (!v->is_structured()) continue;
    deepest = std::max(deepest, d + 1);
    for (const auto& child : *v) todo.emplace_back(&child, d + 1);
  }
  return deepest;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string body(reinterpret_cast<const char*>(data), size);
  vial::request plain("POST", "/api", {{"Content-Type", "application/json"}}, body);
  vial::request vendor("POST", "/api",
                       {{"Content-Type", "Application/Problem+JSON; charset=utf-8"}}, body);

  const json* value = nullptr;
  std::string error;
  try {
    value = &plain.json().raw();
  } catch (const vial::http_error& e) {
    check(e.status() == 400, "json() failed with a status other than 400");
    check(vial::is_valid_utf8(e.description()), "json() error is not valid UTF-8", e.description());
    error = e.description();
  } catch (...) {
    fail("json() threw something other than http_error",
         vial::describe_exception(std::current_exception()));
  }
  try {
    const json& other = vendor.json();
    check(value != nullptr && other == *value, "+json and application/json disagree");
  } catch (const vial::http_error& e) {
    check(value == nullptr && e.description() == error, "+json and application/json disagree");
  }
  if (!value) return 0;

  check(depth_of(*value) <= vial::request::max_json_depth,
        "json() accepted a body nested too deep");
  std::string dumped;
  try {
    dumped = value->dump();
  } catch (const json::exception& e) {
    fail("an accepted body does not dump", e.what());
  }
  check(json::parse(dumped) == *value, "an accepted body does not survive dump and parse");
  auto res = vial::response::json(*value);
  check(json::parse(res.body()) == *value, "response::json does not parse back to its value");
  return 0;
}
