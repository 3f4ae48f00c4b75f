#pragma once

#include <map>
#include <vector>

#include "vial/detail/hooks.hpp"

namespace vial::detail {

/// The hooks and error handlers of one app or blueprint. A route carries the scopes that apply
/// to it, innermost blueprint first and the app last.
struct scope {
  std::vector<before_slot> before;
  std::vector<after_slot> after;
  std::vector<teardown_slot> teardown;
  std::map<int, status_slot> by_status;
  /// Most derived types first, so the first that catches is the most specific.
  std::vector<type_error_handler> by_type;

  bool has_async() const noexcept;
  /// Inserts `h` before the first handler whose type is a base of `h`'s.
  void add_type_handler(type_error_handler h);
};

}  // namespace vial::detail
