#include "vial/http/multi_dict.hpp"

#include <cstdint>

#include "support/catch.hpp"
#include "support/status_of.hpp"
#include "vial/http/error.hpp"

namespace {

using vial::testing::status_of;

}  // namespace

TEST_CASE("multi_dict keeps every value of a key in insertion order", "[http][multi_dict]") {
  vial::multi_dict d{{"tag", "a"}, {"x", "1"}, {"tag", "b"}};
  d.add("tag", "c");
  auto tags = d.get_all("tag");
  REQUIRE(tags.size() == 3);
  CHECK(tags[0] == "a");
  CHECK(tags[1] == "b");
  CHECK(tags[2] == "c");
  CHECK(d.get("tag") == "a");
  CHECK(d.size() == 4);
  CHECK(d.get_all("missing").empty());
}

TEST_CASE("multi_dict keys are case-sensitive", "[http][multi_dict]") {
  vial::multi_dict d{{"Name", "a"}};
  CHECK(d.contains("Name"));
  CHECK_FALSE(d.contains("name"));
  CHECK(d.get_or("name", "none") == "none");
}

TEST_CASE("multi_dict set replaces every value of a key", "[http][multi_dict]") {
  vial::multi_dict d{{"a", "1"}, {"b", "2"}, {"a", "3"}};
  d.set("a", "9");
  CHECK(d.get_all("a") == std::vector<std::string_view>{"9"});
  CHECK(d.size() == 2);
  CHECK(d.begin()->first == "a");
  d.set("c", "4");
  CHECK(d.get("c") == "4");
}

TEST_CASE("get_as converts integers, floats, booleans and strings", "[http][multi_dict]") {
  vial::multi_dict d{{"n", "42"},   {"neg", "-7"},  {"f", "2.5"},
                     {"b", "true"}, {"off", "off"}, {"s", "hi"}};
  CHECK(d.get_as<int>("n") == 42);
  CHECK(d.get_as<long long>("neg") == -7);
  CHECK(d.get_as<double>("f") == 2.5);
  CHECK(d.get_as<bool>("b") == true);
  CHECK(d.get_as<bool>("off") == false);
  CHECK(d.get_as<std::string>("s") == "hi");
  CHECK_FALSE(d.get_as<int>("missing").has_value());
}

TEST_CASE("get_as rejects non-numbers with a 400 naming the key", "[http][multi_dict]") {
  vial::multi_dict d{{"n", "abc"},    {"partial", "12x"}, {"empty", ""},
                     {"space", " 1"}, {"f", "nope"},      {"b", "maybe"}};
  CHECK_THROWS_WITH(d.get_as<int>("n"),
                    "query argument 'n' must be an integer in range, got 'abc'");
  CHECK_THROWS_WITH(d.get_as<int>("partial"),
                    "query argument 'partial' must be an integer in range, got '12x'");
  CHECK_THROWS_WITH(d.get_as<int>("empty"),
                    "query argument 'empty' must be an integer in range, got ''");
  CHECK_THROWS_WITH(d.get_as<int>("space"),
                    "query argument 'space' must be an integer in range, got ' 1'");
  CHECK_THROWS_WITH(d.get_as<double>("f"), "query argument 'f' must be a number, got 'nope'");
  CHECK_THROWS_WITH(d.get_as<bool>("b"), "query argument 'b' must be a boolean, got 'maybe'");
  vial::multi_dict special{{"nan", "nan"}, {"inf", "inf"}, {"big", "1e999"}, {"sci", "1e3"}};
  CHECK_THROWS_WITH(special.get_as<double>("nan"),
                    "query argument 'nan' must be a number, got 'nan'");
  CHECK_THROWS_WITH(special.get_as<double>("inf"),
                    "query argument 'inf' must be a number, got 'inf'");
  CHECK_THROWS_WITH(special.get_as<double>("big"),
                    "query argument 'big' must be a number, got '1e999'");
  CHECK(special.get_as<double>("sci") == 1000.0);
  CHECK(status_of([&] { (void)d.get_as<int>("n"); }) == 400);
}

TEST_CASE("get_as treats out-of-range integers as a 400, not a wrap-around", "[http][multi_dict]") {
  vial::multi_dict d{{"big", "2147483648"}, {"huge", "99999999999999999999"}, {"neg", "-1"}};
  CHECK_THROWS_WITH(d.get_as<int>("big"),
                    "query argument 'big' must be an integer in range, got '2147483648'");
  CHECK(d.get_as<std::int64_t>("big") == 2147483648LL);
  CHECK_THROWS_WITH(d.get_as<std::int64_t>("huge"),
                    "query argument 'huge' must be an integer in range, got "
                    "'99999999999999999999'");
  CHECK_THROWS_WITH(d.get_as<unsigned>("neg"),
                    "query argument 'neg' must be an integer in range, got '-1'");
  CHECK_THROWS_WITH(d.get_as<std::uint8_t>("big"),
                    "query argument 'big' must be an integer in range, got '2147483648'");
}

TEST_CASE("get_as errors name the dict's noun and cut long values short", "[http][multi_dict]") {
  vial::multi_dict d{{"age", "old"}, {"n", std::string(100, '9') + "x"}};
  d.set_noun("form field");
  CHECK(d.noun() == "form field");
  CHECK_THROWS_WITH(d.get_as<int>("age"),
                    "form field 'age' must be an integer in range, got 'old'");
  CHECK_THROWS_WITH(d.get_as<int>("n"), "form field 'n' must be an integer in range, got '" +
                                            std::string(64, '9') + "...'");
}

TEST_CASE("throw_bad_argument does not split a UTF-8 sequence when truncating",
          "[http][multi_dict]") {
  // 63 ASCII bytes then a two-byte character straddling the 64-byte cut.
  std::string value = std::string(63, 'a') + "\xC3\xA9" + "tail";
  CHECK_THROWS_WITH(vial::detail::throw_bad_argument("k", value, "a number"),
                    "query argument 'k' must be a number, got '" + std::string(63, 'a') + "...'");
}
