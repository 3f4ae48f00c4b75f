#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "vial/http/multi_dict.hpp"

namespace vial {

/// Decodes %XX escapes (and '+' as space when `plus_as_space`, for query strings and forms).
/// Returns nullopt on a malformed escape ("%4", "%zz"). Decoded bytes are not checked as UTF-8.
std::optional<std::string> percent_decode(std::string_view in, bool plus_as_space = false);

/// Percent-encodes every byte outside RFC 3986's unreserved set and `safe`.
std::string percent_encode(std::string_view in, std::string_view safe = {});

/// True when `in` is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
bool is_valid_utf8(std::string_view in) noexcept;

/// Parses `a=1&b=2&a=3` (application/x-www-form-urlencoded rules: '+' is a space).
/// Throws `http_error` 400 naming the field on a malformed escape or invalid UTF-8.
multi_dict parse_query(std::string_view query);

/// Builds `a=1&b=2` from pairs, percent-encoding keys and values.
std::string encode_query(const multi_dict& args);

}  // namespace vial
