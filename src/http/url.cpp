#include "vial/http/url.hpp"

#include "text.hpp"
#include "urlencoded.hpp"
#include "vial/http/error.hpp"

namespace vial {

namespace {

bool is_unreserved(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

[[noreturn]] void throw_bad_field(std::string_view what, std::string_view noun,
                                  std::string_view field) {
  std::string message(what);
  message += " in ";
  message.append(noun);
  message += " '";
  // The field name itself may be the broken part: show it raw, unless that would put invalid
  // UTF-8 into the error description.
  message += is_valid_utf8(field) ? std::string(field) : percent_encode(field);
  message += "'";
  throw http_error(400, std::move(message));
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view in, bool plus_as_space) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (in.size() - i < 3) return std::nullopt;
      int hi = detail::hex_value(in[i + 1]);
      int lo = detail::hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_as_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string percent_encode(std::string_view in, std::string_view safe) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(in.size());
  for (char c : in) {
    if (is_unreserved(c) || (c != '\0' && safe.find(c) != std::string_view::npos)) {
      out.push_back(c);
    } else {
      auto b = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(digits[b >> 4]);
      out.push_back(digits[b & 0x0F]);
    }
  }
  return out;
}

bool is_valid_utf8(std::string_view in) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  const auto* end = p + in.size();
  while (p < end) {
    unsigned char b = *p;
    if (b < 0x80) {
      ++p;
      continue;
    }
    std::size_t len;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte (RFC 3629 table)
    if (b >= 0xC2 && b <= 0xDF) {
      len = 2;
    } else if (b == 0xE0) {
      len = 3, lo = 0xA0;
    } else if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) {
      len = 3;
    } else if (b == 0xED) {
      len = 3, hi = 0x9F;  // no UTF-16 surrogates
    } else if (b == 0xF0) {
      len = 4, lo = 0x90;
    } else if (b >= 0xF1 && b <= 0xF3) {
      len = 4;
    } else if (b == 0xF4) {
      len = 4, hi = 0x8F;  // nothing past U+10FFFF
    } else {
      return false;  // continuation byte, overlong lead (C0, C1) or F5..FF
    }
    if (static_cast<std::size_t>(end - p) < len) return false;
    if (p[1] < lo || p[1] > hi) return false;
    for (std::size_t i = 2; i < len; ++i) {
      if (p[i] < 0x80 || p[i] > 0xBF) return false;
    }
    p += len;
  }
  return true;
}

namespace detail {

multi_dict parse_urlencoded(std::string_view query, std::string_view noun) {
  multi_dict out;
  out.set_noun(std::string(noun));
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;  // "a=1&&b=2"
    auto eq = pair.find('=');
    std::string_view raw_key = pair.substr(0, eq);
    std::string_view raw_value =
        eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);

    auto key = percent_decode(raw_key, true);
    if (!key) throw_bad_field("malformed percent-encoding", noun, raw_key);
    if (!is_valid_utf8(*key)) throw_bad_field("invalid UTF-8", noun, raw_key);
    auto value = percent_decode(raw_value, true);
    if (!value) throw_bad_field("malformed percent-encoding", noun, *key);
    if (!is_valid_utf8(*value)) throw_bad_field("invalid UTF-8", noun, *key);
    out.add(std::move(*key), std::move(*value));
  }
  return out;
}

}  // namespace detail

multi_dict parse_query(std::string_view query) {
  return detail::parse_urlencoded(query, "query argument");
}

std::string encode_query(const multi_dict& args) {
  std::string out;
  for (const auto& [key, value] : args) {
    if (!out.empty()) out.push_back('&');
    out += percent_encode(key);
    out.push_back('=');
    out += percent_encode(value);
  }
  return out;
}

}  // namespace vial
