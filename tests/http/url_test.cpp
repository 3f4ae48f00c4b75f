#include "vial/http/url.hpp"

#include "support/catch.hpp"
#include "support/status_of.hpp"
#include "vial/http/error.hpp"

namespace {

using vial::testing::status_of;

}  // namespace

TEST_CASE("percent_decode decodes escapes in either hex case", "[http][url]") {
  CHECK(vial::percent_decode("a%20b") == "a b");
  CHECK(vial::percent_decode("%2f%2F") == "//");
  CHECK(vial::percent_decode("%00") == std::string(1, '\0'));
  CHECK(vial::percent_decode("") == "");
  CHECK(vial::percent_decode("%E2%82%AC") == "\xE2\x82\xAC");
}

TEST_CASE("percent_decode turns '+' into a space only when asked", "[http][url]") {
  CHECK(vial::percent_decode("a+b") == "a+b");
  CHECK(vial::percent_decode("a+b", true) == "a b");
  CHECK(vial::percent_decode("a%2Bb", true) == "a+b");
}

TEST_CASE("percent_decode rejects malformed escapes", "[http][url]") {
  auto bad = GENERATE("%", "%4", "a%4", "%zz", "%4g", "%g4", "abc%", "%%41");
  CAPTURE(bad);
  CHECK_FALSE(vial::percent_decode(bad).has_value());
}

TEST_CASE("percent_encode keeps unreserved and safe characters only", "[http][url]") {
  CHECK(vial::percent_encode("AZaz09-._~") == "AZaz09-._~");
  CHECK(vial::percent_encode("a b/c?d") == "a%20b%2Fc%3Fd");
  CHECK(vial::percent_encode("a b/c", "/") == "a%20b/c");
  CHECK(vial::percent_encode("\xE2\x82\xAC") == "%E2%82%AC");
  CHECK(vial::percent_encode(std::string_view("\0", 1)) == "%00");
  CHECK(vial::percent_encode("100%") == "100%25");
}

TEST_CASE("percent_encode and percent_decode round-trip every byte", "[http][url]") {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  CHECK(vial::percent_decode(vial::percent_encode(all)) == all);
}

TEST_CASE("is_valid_utf8 accepts well-formed text", "[http][url]") {
  CHECK(vial::is_valid_utf8(""));
  CHECK(vial::is_valid_utf8("plain ascii"));
  CHECK(vial::is_valid_utf8("\xC3\xA9"));          // é
  CHECK(vial::is_valid_utf8("\xE2\x82\xAC"));      // €
  CHECK(vial::is_valid_utf8("\xF0\x9F\x98\x80"));  // U+1F600
  CHECK(vial::is_valid_utf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF
  CHECK(vial::is_valid_utf8("\xED\x9F\xBF"));      // U+D7FF, just below the surrogates
  CHECK(vial::is_valid_utf8(std::string_view("\0", 1)));
}

TEST_CASE("is_valid_utf8 rejects overlongs, surrogates, truncation and stray bytes",
          "[http][url]") {
  auto bad = GENERATE("\xC0\xAF",          // overlong '/'
                      "\xC1\xBF",          // overlong
                      "\xE0\x80\xAF",      // overlong 3-byte
                      "\xF0\x80\x80\xAF",  // overlong 4-byte
                      "\xED\xA0\x80",      // U+D800 surrogate
                      "\xF4\x90\x80\x80",  // past U+10FFFF
                      "\xF5\x80\x80\x80",  // invalid lead
                      "\xFF",              // invalid byte
                      "\x80",              // stray continuation
                      "\xC3",              // truncated
                      "\xE2\x82",          // truncated
                      "\xC3\x28",          // bad continuation
                      "ok\xE2\x82");       // truncated at the end
  CAPTURE(bad);
  CHECK_FALSE(vial::is_valid_utf8(bad));
}

TEST_CASE("parse_query decodes pairs in order, keeping repeated keys", "[http][url]") {
  auto q = vial::parse_query("a=1&b=x+y&a=2&c=%C3%A9&flag&empty=&=v&&a=3");
  CHECK(q.get_all("a") == std::vector<std::string_view>{"1", "2", "3"});
  CHECK(q.get("b") == "x y");
  CHECK(q.get("c") == "\xC3\xA9");
  CHECK(q.get("flag") == "");
  CHECK(q.get("empty") == "");
  CHECK(q.get("") == "v");
  CHECK(q.size() == 8);
  CHECK(vial::parse_query("").empty());
}

TEST_CASE("parse_query keeps '=' inside values", "[http][url]") {
  auto q = vial::parse_query("token=a=b=c");
  CHECK(q.get("token") == "a=b=c");
}

TEST_CASE("parse_query rejects malformed escapes with a 400 naming the field", "[http][url]") {
  CHECK_THROWS_WITH(vial::parse_query("n=%4"), "malformed percent-encoding in query argument 'n'");
  CHECK_THROWS_WITH(vial::parse_query("ok=1&n=%zz"),
                    "malformed percent-encoding in query argument 'n'");
  CHECK_THROWS_WITH(vial::parse_query("a%zz=1"),
                    "malformed percent-encoding in query argument 'a%zz'");
  CHECK(status_of([] { vial::parse_query("n=%4"); }) == 400);
}

TEST_CASE("parse_query rejects invalid UTF-8 with a 400 naming the field", "[http][url]") {
  CHECK_THROWS_WITH(vial::parse_query("p=%C0%AF"), "invalid UTF-8 in query argument 'p'");
  CHECK_THROWS_WITH(vial::parse_query("%FF=1"), "invalid UTF-8 in query argument '%FF'");
  // A raw invalid byte in a name is shown percent-encoded, so the message stays UTF-8.
  CHECK_THROWS_WITH(vial::parse_query("\xFF=1"), "invalid UTF-8 in query argument '%FF'");
  CHECK(status_of([] { vial::parse_query("p=%C0%AF"); }) == 400);
}

TEST_CASE("encode_query percent-encodes keys and values", "[http][url]") {
  vial::multi_dict args{{"q", "a b&c"}, {"q", "="}, {"\xC3\xA9", "1"}};
  CHECK(vial::encode_query(args) == "q=a%20b%26c&q=%3D&%C3%A9=1");
  CHECK(vial::encode_query({}) == "");
  auto back = vial::parse_query(vial::encode_query(args));
  CHECK(back.get_all("q") == std::vector<std::string_view>{"a b&c", "="});
  CHECK(back.get("\xC3\xA9") == "1");
}
