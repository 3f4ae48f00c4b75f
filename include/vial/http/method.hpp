#pragma once

#include <cstdint>
#include <string_view>

namespace vial {

/// An HTTP request method. `other` stands for any token vial has no enumerator for; the request
/// keeps its text (`request::method_name()`).
enum class method : std::uint8_t {
  get,
  head,
  post,
  put,
  delete_,
  options,
  patch,
  connect,
  trace,
  other
};

/// The method's canonical upper-case token ("GET", "DELETE"...); "OTHER" for `method::other`.
std::string_view to_string(method m) noexcept;

/// Parses an upper-case method token; `method::other` when vial has no enumerator for it.
method parse_method(std::string_view token) noexcept;

}  // namespace vial
