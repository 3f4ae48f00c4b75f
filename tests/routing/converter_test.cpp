#include "vial/routing/converter.hpp"

#include <cstdint>
#include <string>

#include "support/catch.hpp"

namespace {

vial::converter make(vial::converter_kind kind, std::vector<std::string> choices = {}) {
  vial::converter c;
  c.kind = kind;
  c.choices = std::move(choices);
  return c;
}

}  // namespace

TEST_CASE("int converter accepts ASCII digits within int64", "[routing][converter]") {
  auto c = make(vial::converter_kind::int_);
  CHECK(std::get<std::int64_t>(*c.convert("0")) == 0);
  CHECK(std::get<std::int64_t>(*c.convert("42")) == 42);
  CHECK(std::get<std::int64_t>(*c.convert("007")) == 7);
  CHECK(std::get<std::int64_t>(*c.convert("9223372036854775807")) == INT64_MAX);
}

TEST_CASE("int converter treats int64 overflow as no match", "[routing][converter]") {
  auto c = make(vial::converter_kind::int_);
  CHECK_FALSE(c.convert("9223372036854775808"));
  CHECK_FALSE(c.convert("99999999999999999999999999"));
  CHECK_FALSE(c.accepts("9223372036854775808"));
}

TEST_CASE("int converter rejects signs, spaces and non-digits", "[routing][converter]") {
  auto c = make(vial::converter_kind::int_);
  auto text = GENERATE(as<std::string>{}, "", "-1", "+1", " 1", "1 ", "1a", "0x10", "1.0",
                       "\xd9\xa3");  // ARABIC-INDIC DIGIT THREE
  CAPTURE(text);
  CHECK_FALSE(c.convert(text));
  CHECK_FALSE(c.accepts(text));
  CHECK_FALSE(c.to_url(text));
}

TEST_CASE("float converter accepts digits.digits only", "[routing][converter]") {
  auto c = make(vial::converter_kind::float_);
  CHECK(std::get<double>(*c.convert("1.5")) == 1.5);
  CHECK(std::get<double>(*c.convert("0.25")) == 0.25);
  auto text = GENERATE(as<std::string>{}, "1", "1.", ".5", "-1.5", "+1.5", "1e5", "1.5e3", "inf",
                       "nan", "1..5", "");
  CAPTURE(text);
  CHECK_FALSE(c.convert(text));
}

TEST_CASE("string converter takes one non-empty segment", "[routing][converter]") {
  auto c = make(vial::converter_kind::string);
  CHECK(std::get<std::string>(*c.convert("hello world")) == "hello world");
  CHECK(std::get<std::string>(*c.convert("caf\xc3\xa9")) == "caf\xc3\xa9");
  CHECK_FALSE(c.convert(""));
  CHECK_FALSE(c.convert("a/b"));
}

TEST_CASE("path converter takes non-empty segments joined by slashes", "[routing][converter]") {
  auto c = make(vial::converter_kind::path);
  CHECK(std::get<std::string>(*c.convert("a")) == "a");
  CHECK(std::get<std::string>(*c.convert("a/b/c.txt")) == "a/b/c.txt");
  auto text = GENERATE(as<std::string>{}, "", "/a", "a/", "a//b", "/");
  CAPTURE(text);
  CHECK_FALSE(c.convert(text));
}

TEST_CASE("uuid converter takes the 8-4-4-4-12 hex form in either case", "[routing][converter]") {
  auto c = make(vial::converter_kind::uuid);
  auto v = c.convert("123E4567-e89b-12d3-a456-426614174000");
  REQUIRE(v);
  CHECK(std::get<vial::uuid>(*v).to_string() == "123e4567-e89b-12d3-a456-426614174000");
  auto text =
      GENERATE(as<std::string>{}, "", "123e4567e89b12d3a456426614174000",
               "123e4567-e89b-12d3-a456-42661417400", "123e4567-e89b-12d3-a456-4266141740000",
               "g23e4567-e89b-12d3-a456-426614174000", "{123e4567-e89b-12d3-a456-426614174000}");
  CAPTURE(text);
  CHECK_FALSE(c.convert(text));
}

TEST_CASE("any converter takes exactly one of its choices", "[routing][converter]") {
  auto c = make(vial::converter_kind::any, {"about", "help"});
  CHECK(std::get<std::string>(*c.convert("help")) == "help");
  CHECK_FALSE(c.convert("HELP"));
  CHECK_FALSE(c.convert("hel"));
  CHECK_FALSE(c.convert("helpme"));
  CHECK_FALSE(c.convert(""));
}

TEST_CASE("to_url renders values canonically and percent-encoded", "[routing][converter]") {
  CHECK(*make(vial::converter_kind::int_).to_url("007") == "7");
  CHECK(*make(vial::converter_kind::float_).to_url("2.50") == "2.50");
  CHECK(*make(vial::converter_kind::uuid).to_url("123E4567-E89B-12D3-A456-426614174000") ==
        "123e4567-e89b-12d3-a456-426614174000");
  CHECK(*make(vial::converter_kind::string).to_url("a b?#%") == "a%20b%3F%23%25");
  CHECK(*make(vial::converter_kind::string).to_url("caf\xc3\xa9") == "caf%C3%A9");
  CHECK(*make(vial::converter_kind::path).to_url("dir/a b.txt") == "dir/a%20b.txt");
  CHECK(*make(vial::converter_kind::any, {"x y"}).to_url("x y") == "x%20y");
}

TEST_CASE("to_url refuses values the converter would not match back", "[routing][converter]") {
  CHECK_FALSE(make(vial::converter_kind::int_).to_url("-1"));
  CHECK_FALSE(make(vial::converter_kind::int_).to_url("9223372036854775808"));
  CHECK_FALSE(make(vial::converter_kind::float_).to_url("1"));
  CHECK_FALSE(make(vial::converter_kind::string).to_url("a/b"));
  CHECK_FALSE(make(vial::converter_kind::string).to_url(""));
  CHECK_FALSE(make(vial::converter_kind::path).to_url("a//b"));
  CHECK_FALSE(make(vial::converter_kind::uuid).to_url("nope"));
  CHECK_FALSE(make(vial::converter_kind::any, {"a"}).to_url("b"));
}

TEST_CASE("converter names are the words used in rules", "[routing][converter]") {
  using k = vial::converter_kind;
  CHECK(make(k::string).name() == "string");
  CHECK(make(k::int_).name() == "int");
  CHECK(make(k::float_).name() == "float");
  CHECK(make(k::path).name() == "path");
  CHECK(make(k::uuid).name() == "uuid");
  CHECK(make(k::any).name() == "any");
}
