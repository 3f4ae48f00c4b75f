#include "vial/http/headers.hpp"

#include "support/catch.hpp"

TEST_CASE("iequals compares ASCII case-insensitively", "[http][headers]") {
  CHECK(vial::iequals("Content-Type", "content-type"));
  CHECK(vial::iequals("", ""));
  CHECK_FALSE(vial::iequals("Content-Type", "Content-Typ"));
  CHECK_FALSE(vial::iequals("a", "b"));
  // Only ASCII letters fold: '@' (0x40) and '`' (0x60) differ by the case bit but are not letters.
  CHECK_FALSE(vial::iequals("@", "`"));
  CHECK_FALSE(vial::iequals("\xC3\x84", "\xC3\xA4"));
}

TEST_CASE("headers look names up case-insensitively", "[http][headers]") {
  vial::headers h{{"Content-Type", "text/plain"}, {"X-Id", "7"}};
  CHECK(h.get("content-type") == "text/plain");
  CHECK(h.get("CONTENT-TYPE") == "text/plain");
  CHECK(h.contains("x-id"));
  CHECK_FALSE(h.contains("X-Missing"));
  CHECK_FALSE(h.get("X-Missing").has_value());
  CHECK(h.get_or("x-missing", "fallback") == "fallback");
  CHECK(h.get_or("X-ID", "fallback") == "7");
}

TEST_CASE("headers keep every value of a repeated field in order", "[http][headers]") {
  vial::headers h;
  h.add("Set-Cookie", "a=1");
  h.add("X-Other", "x");
  h.add("set-cookie", "b=2");
  CHECK(h.count("SET-COOKIE") == 2);
  auto all = h.get_all("Set-Cookie");
  REQUIRE(all.size() == 2);
  CHECK(all[0] == "a=1");
  CHECK(all[1] == "b=2");
  CHECK(h.get("set-cookie") == "a=1");
  CHECK(h.size() == 3);
}

TEST_CASE("headers set replaces every field of that name in place", "[http][headers]") {
  vial::headers h{{"A", "1"}, {"Vary", "x"}, {"B", "2"}, {"vary", "y"}};
  h.set("VARY", "z");
  REQUIRE(h.size() == 3);
  std::vector<std::pair<std::string, std::string>> fields(h.begin(), h.end());
  CHECK(fields[0] == std::pair<std::string, std::string>{"A", "1"});
  CHECK(fields[1] == std::pair<std::string, std::string>{"VARY", "z"});
  CHECK(fields[2] == std::pair<std::string, std::string>{"B", "2"});

  h.set("New", "n");
  CHECK(h.size() == 4);
  CHECK(h.get("new") == "n");
}

TEST_CASE("headers erase removes every field of that name and counts them", "[http][headers]") {
  vial::headers h{{"A", "1"}, {"a", "2"}, {"B", "3"}};
  CHECK(h.erase("A") == 2);
  CHECK(h.size() == 1);
  CHECK(h.erase("A") == 0);
  CHECK(h.get("b") == "3");
  CHECK_FALSE(h.empty());
  h.erase("b");
  CHECK(h.empty());
}

TEST_CASE("headers iterate in insertion order", "[http][headers]") {
  vial::headers h;
  h.add("Z", "1");
  h.add("A", "2");
  h.add("M", "3");
  std::string order;
  for (const auto& [name, value] : h) order += name + value;
  CHECK(order == "Z1A2M3");
}
