#pragma once

#include <string>
#include <string_view>

#include "vial/http/url.hpp"

namespace vial::detail {

// RFC 3986 pchar minus the unreserved set (which percent_encode always keeps): what may stay
// literal inside one path segment. Werkzeug keeps the same set when building URLs.
inline constexpr std::string_view segment_safe = "!$&'()*+,;=:@";
inline constexpr std::string_view path_safe = "!$&'()*+,;=:@/";

inline std::string encode_path_segment(std::string_view text) {
  return percent_encode(text, segment_safe);
}

inline std::string encode_path(std::string_view text) { return percent_encode(text, path_safe); }

}  // namespace vial::detail
