#pragma once

#include <charconv>
#include <cmath>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "vial/detail/ordered_multimap.hpp"

namespace vial {

/// An ordered multi-map of strings: query arguments, form fields, cookies. Keys are
/// case-sensitive. `get`, `get_or`, `get_all`, `contains`, `count`, `add` (appends a value),
/// `set` (replaces every value of a key with one), `erase` and iteration over (key, value)
/// pairs, as `headers` has. Distinct objects: safe. Shared objects: unsafe.
class multi_dict : public detail::ordered_multimap<detail::exact_equal> {
 public:
  using item = value_type;
  using ordered_multimap::ordered_multimap;

  /// The first value for `key` converted to `T` (an arithmetic type or std::string).
  /// Absent: `std::nullopt`. Present but not a valid `T` (or out of range): throws
  /// `vial::http_error` 400 naming the key, so a bad query argument is the client's error.
  template <class T>
  std::optional<T> get_as(std::string_view key) const;

  /// What the keys are called in `get_as` errors: "query argument" (the default), "form field"
  /// or "cookie", so the client is told which input was wrong.
  std::string_view noun() const noexcept { return noun_; }
  void set_noun(std::string noun) { noun_ = std::move(noun); }

 private:
  std::string noun_ = "query argument";
};

namespace detail {
/// Throws `http_error` 400: "<noun> '<key>' must be <expected>, got '<value>'".
[[noreturn]] void throw_bad_argument(std::string_view noun, std::string_view key,
                                     std::string_view value, std::string_view expected);
/// As above with the noun "query argument".
[[noreturn]] void throw_bad_argument(std::string_view key, std::string_view value,
                                     std::string_view expected);
}  // namespace detail

template <class T>
std::optional<T> multi_dict::get_as(std::string_view key) const {
  auto v = get(key);
  if (!v) return std::nullopt;
  if constexpr (std::is_same_v<T, std::string>) {
    return std::string(*v);
  } else if constexpr (std::is_same_v<T, bool>) {
    if (*v == "1" || *v == "true" || *v == "yes" || *v == "on") return true;
    if (*v == "0" || *v == "false" || *v == "no" || *v == "off") return false;
    detail::throw_bad_argument(noun_, key, *v, "a boolean");
  } else {
    static_assert(std::is_arithmetic_v<T>, "get_as<T> takes an arithmetic type or std::string");
    T out{};
    const char* first = v->data();
    const char* last = first + v->size();
    auto [ptr, ec] = std::from_chars(first, last, out);
    bool finite = true;
    if constexpr (std::is_floating_point_v<T>) finite = std::isfinite(out);  // no "nan", "inf"
    if (ec != std::errc{} || ptr != last || v->empty() || !finite) {
      detail::throw_bad_argument(noun_, key, *v,
                                 std::is_integral_v<T> ? "an integer in range" : "a number");
      ;
    }
    return out;
  }
}

}  // namespace vial
