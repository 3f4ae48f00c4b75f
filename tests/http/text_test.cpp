#include "text.hpp"

#include <string>

#include "support/catch.hpp"

using vial::detail::byte_set;
using vial::detail::has_line_break;

TEST_CASE("byte_set tells its bytes apart from the other 256", "[http][text]") {
  constexpr byte_set vowels{
      [](unsigned char c) { return std::string_view("aeiou").find(c) != std::string_view::npos; }};
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    CAPTURE(b);
    CHECK(vowels.contains(c) == (std::string_view("aeiou").find(c) != std::string_view::npos));
  }
  CHECK(vowels.find_in("xyzoa") == 3);
  CHECK(vowels.find_in("xyz") == std::string_view::npos);
  CHECK(vowels.holds_all("aei"));
  CHECK(vowels.holds_all(""));
  CHECK_FALSE(vowels.holds_all("aex"));
}

TEST_CASE("token_chars are RFC 9110's tchar, bytes past ASCII excluded", "[http][text]") {
  const std::string_view tchar =
      "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    CAPTURE(b);
    CHECK(vial::detail::is_token_char(c) == (tchar.find(c) != std::string_view::npos));
  }
}

TEST_CASE("has_line_break finds CR, LF and NUL at every offset of a word", "[http][text]") {
  // Every position in and around the eight-byte words it reads at once, and lengths that leave
  // a tail of every size.
  for (std::size_t size = 0; size <= 24; ++size) {
    const std::string clean(size, 'a');
    CAPTURE(size);
    CHECK_FALSE(has_line_break(clean));
    CHECK_FALSE(has_line_break(clean, true));
    for (std::size_t at = 0; at < size; ++at) {
      CAPTURE(at);
      for (char bad : {'\r', '\n'}) {
        std::string s = clean;
        s[at] = bad;
        CHECK(has_line_break(s));
        CHECK(has_line_break(s, true));
      }
      std::string nul = clean;
      nul[at] = '\0';
      CHECK_FALSE(has_line_break(nul));
      CHECK(has_line_break(nul, true));
    }
  }
  // Bytes one away from CR and LF, and bytes with the high bit set, are not line breaks.
  CHECK_FALSE(has_line_break("\x0b\x0c\x0e\x09\x8a\x8d\x80\xff\x01\x0b\x0c\x0e\x09\x8a\x8d"));
}
