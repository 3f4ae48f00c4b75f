#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vial/http/path_params.hpp"

namespace vial {

/// The converters a rule may use: `<int:id>`, `<float:x>`, `<name>` (string), `<path:p>`,
/// `<uuid:u>`, `<any(a,b,c):kind>`.
enum class converter_kind { string, int_, float_, path, uuid, any };

/// A converter as it appears in one rule, with its arguments.
///
/// What each one accepts (text is the percent-decoded path piece):
/// - `string`: one non-empty segment (no '/'), any bytes otherwise.
/// - `int`: ASCII digits only, no sign, value within int64 (leading zeros are accepted, as in
///   Werkzeug); yields `std::int64_t`.
/// - `float`: `digits.digits`, no sign, no exponent; yields `double`.
/// - `uuid`: 8-4-4-4-12 hex digits, either case; yields `vial::uuid`.
/// - `any(a,b,c)`: exactly one of the choices; yields the text.
/// - `path`: one or more non-empty segments joined by '/': never empty, never starting or ending
///   with '/', never containing "//"; yields the text.
///
/// Distinct objects: safe. Shared objects: safe for const access.
struct converter {
  converter_kind kind = converter_kind::string;
  std::vector<std::string> choices;  ///< `any` only

  /// Converts a decoded path piece; nullopt when it does not match (an int past int64's range,
  /// a negative int, an `any` value that is not a choice...). `string`, `int`, `float`, `uuid`
  /// and `any` never match text containing '/'; `path` does, but never an empty piece.
  std::optional<param_value> convert(std::string_view text) const;
  /// True when `convert(text)` would succeed; never allocates.
  bool accepts(std::string_view text) const noexcept;
  /// Renders a value for a URL (url_for), percent-encoded ('/' kept for `path` only); nullopt
  /// when `convert` would not accept it back. Numbers and uuids come out canonical ("7" for
  /// "007", lower-case uuid).
  std::optional<std::string> to_url(std::string_view value) const;
  /// The converter's name as written in rules ("int", "any").
  std::string_view name() const noexcept;

  friend bool operator==(const converter&, const converter&) = default;
};

}  // namespace vial
