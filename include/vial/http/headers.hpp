#pragma once

#include <string_view>

#include "vial/detail/ordered_multimap.hpp"

namespace vial {

/// True when `a` and `b` are equal ignoring ASCII case (header names, tokens).
bool iequals(std::string_view a, std::string_view b) noexcept;

/// HTTP header fields: ordered, multi-valued, names compared case-insensitively.
/// Insertion order is kept, so fields go on the wire as they were added.
/// `get`, `get_or`, `get_all`, `contains`, `count`, `set` (replaces every field of a name),
/// `add` (appends one: Set-Cookie, Vary...), `erase` and iteration over (name, value) pairs.
/// Distinct objects: safe. Shared objects: unsafe.
class headers : public detail::ordered_multimap<detail::ascii_iequal> {
 public:
  using field = value_type;
  using ordered_multimap::ordered_multimap;
};

}  // namespace vial
