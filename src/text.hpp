#pragma once

// ASCII helpers shared by vial's parsers and builders (internal). HTTP's grammar is ASCII:
// these never consult the locale.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace vial::detail {

/// Without optional whitespace (spaces and tabs, RFC 9110 OWS) at either end.
inline std::string_view trim_ows(std::string_view s) noexcept {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

/// `s` with A-Z lowered; other bytes unchanged.
inline std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

/// A set of bytes as a 256-entry table, built at compile time from a predicate: one load per
/// byte. A string of candidates (`find_first_of`, or `find(c)` on a list) calls memchr for
/// every byte it examines, which made such checks a tenth of the CPU of a /hello request
/// (docs/design.md, "CPU per request").
class byte_set {
 public:
  template <class Predicate>
  consteval explicit byte_set(Predicate in_set) {
    for (int b = 0; b < 256; ++b) bits_[b] = in_set(static_cast<unsigned char>(b));
  }
  constexpr bool contains(char c) const noexcept { return bits_[static_cast<unsigned char>(c)]; }
  /// The index of the first byte of `s` in the set, or npos.
  constexpr std::size_t find_in(std::string_view s) const noexcept {
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (contains(s[i])) return i;
    }
    return std::string_view::npos;
  }
  /// True when every byte of `s` is in the set (and when `s` is empty).
  constexpr bool holds_all(std::string_view s) const noexcept {
    for (char c : s) {
      if (!contains(c)) return false;
    }
    return true;
  }

 private:
  bool bits_[256]{};
};

constexpr bool is_alnum_byte(unsigned char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/// RFC 9110 tchar: the bytes of a token (method, header name, cookie name).
inline constexpr byte_set token_chars{[](unsigned char c) {
  return is_alnum_byte(c) ||
         std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}};

/// RFC 9110 tchar: a byte allowed in a token (method, header name, cookie name).
constexpr bool is_token_char(char c) noexcept { return token_chars.contains(c); }

/// True when `s` holds a CR or an LF byte or, with `or_nul`, a NUL: eight bytes at a time (a
/// word holds one of them when `word ^ repeated(byte)` has a zero byte).
inline bool has_line_break(std::string_view s, bool or_nul = false) noexcept {
  constexpr std::uint64_t ones = 0x0101010101010101ULL;
  constexpr std::uint64_t highs = 0x8080808080808080ULL;
  auto zero_byte = [](std::uint64_t w) { return (w - ones) & ~w & highs; };
  std::size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    std::uint64_t hit = zero_byte(w ^ (ones * '\r')) | zero_byte(w ^ (ones * '\n'));
    if (or_nul) hit |= zero_byte(w);
    if (hit != 0) return true;
  }
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '\r' || c == '\n' || (or_nul && c == '\0')) return true;
  }
  return false;
}

/// The value of a hex digit, or -1.
inline int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace vial::detail
