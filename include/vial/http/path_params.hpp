#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace vial {

/// A UUID as 16 bytes; what the `uuid` route converter yields.
struct uuid {
  std::array<std::uint8_t, 16> bytes{};

  /// Parses the canonical 8-4-4-4-12 hex form (either case); nullopt otherwise.
  static std::optional<uuid> parse(std::string_view text) noexcept;
  /// Lower-case canonical form.
  std::string to_string() const;
  friend bool operator==(const uuid&, const uuid&) = default;
};

/// A converted path parameter: `int` gives int64 (never negative), `float` double,
/// `uuid` uuid, and `string`, `path` and `any` the percent-decoded text.
using param_value = std::variant<std::int64_t, double, std::string, uuid>;

/// One named parameter bound from the matched rule, in rule order.
struct path_param {
  std::string name;
  param_value value;
};

using path_params = std::vector<path_param>;

}  // namespace vial
