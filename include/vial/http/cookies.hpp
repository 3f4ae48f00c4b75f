#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "vial/http/multi_dict.hpp"

namespace vial {

/// Attributes of a Set-Cookie header. Defaults give a session cookie for the whole site.
struct cookie_options {
  std::optional<std::chrono::seconds> max_age{};
  std::optional<std::chrono::system_clock::time_point> expires{};
  std::string path = "/";
  std::string domain{};
  bool secure = false;
  bool http_only = false;
  /// "Strict", "Lax", "None" or empty (attribute omitted). "None" requires `secure`.
  std::string same_site{};
};

/// Parses a Cookie request header ("a=1; b=2"). Malformed pairs are skipped, as browsers do;
/// quoted values are unquoted.
multi_dict parse_cookie_header(std::string_view header);

/// Formats a Set-Cookie header value. Throws `std::invalid_argument` when the name is not a
/// token or the value or an attribute holds a byte that would break the header (CR, LF, ';',
/// ','...): a cookie can never be used to inject headers.
std::string format_set_cookie(std::string_view name, std::string_view value,
                              const cookie_options& options = {});

/// An HTTP-date (RFC 9110, IMF-fixdate): "Sun, 06 Nov 1994 08:49:37 GMT".
std::string format_http_date(std::chrono::system_clock::time_point t);
/// Parses an IMF-fixdate; nullopt when malformed or outside what `system_clock` can represent
/// (about the years 1678 to 2262).
std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view s);

}  // namespace vial
