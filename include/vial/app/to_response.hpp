#pragma once

#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include <nlohmann/json_fwd.hpp>

#include "vial/http/response.hpp"
#include "vial/http/status.hpp"

namespace vial {

// Forward-declared, like nlohmann::json: returning either from a handler means the handler's
// file already includes vial/http/json.hpp, so the headers of users who never touch JSON stay
// free of nlohmann's definitions.
class json_view;

namespace detail {
/// Deliberately undefined: the compiler's error names the type with no conversion.
template <class T>
struct no_response_conversion_for;

template <class T>
concept has_adl_to_response = requires(const T& v) {
  { to_response(v) } -> std::same_as<response>;
};
}  // namespace detail

/// Converts what a handler returned into a response. The one conversion used by dispatch,
/// error handlers and hooks:
///
/// | returned                                   | becomes                                     |
/// |--------------------------------------------|---------------------------------------------|
/// | `response`                                 | itself                                      |
/// | `std::string`, `string_view`, `const char*` | 200 `text/html; charset=utf-8` (Flask's) |
/// | `nlohmann::json`, `json_view`              | 200 `application/json`                      |
/// | `vial::status`                             | that status, empty body                     |
/// | `tuple<B, status>` / `<B, int>`            | B converted, then the status set            |
/// | `tuple<B, status, headers>` / `<B, headers>` | the same, headers merged (replacing)      |
/// | a type with ADL `to_response(const T&) -> response` | the user's conversion             |
///
/// Anything else fails to compile, naming the type.
template <class T>
response make_response(T&& value);

namespace detail {

template <class T>
struct is_tuple : std::false_type {};
template <class... A>
struct is_tuple<std::tuple<A...>> : std::true_type {};

inline void apply_status(response& r, int code) { r.set_status(code); }
inline void apply_status(response& r, vial::status s) { r.set_status(s); }
inline void merge_headers(response& r, const vial::headers& h) {
  for (const auto& [name, value] : h) r.set_header(name, value);
}

}  // namespace detail

template <class T>
response make_response(T&& value) {
  using V = std::remove_cvref_t<T>;
  if constexpr (std::is_same_v<V, response>) {
    return std::forward<T>(value);
  } else if constexpr (std::is_same_v<V, std::string>) {
    return response(std::forward<T>(value));
  } else if constexpr (std::is_same_v<V, std::string_view> ||
                       std::is_convertible_v<V, const char*>) {
    return response(std::string(std::string_view(value)));
  } else if constexpr (std::is_same_v<V, nlohmann::json>) {
    return response::json(value);
  } else if constexpr (std::is_same_v<V, json_view>) {
    return response::json(value.raw());
  } else if constexpr (std::is_same_v<V, vial::status>) {
    return response(std::string(), static_cast<int>(value), {});
  } else if constexpr (detail::is_tuple<V>::value) {
    constexpr std::size_t n = std::tuple_size_v<V>;
    static_assert(n == 2 || n == 3,
                  "a handler may return (body, status), (body, headers) or "
                  "(body, status, headers)");
    response r = make_response(std::get<0>(std::forward<T>(value)));
    using Second = std::remove_cvref_t<std::tuple_element_t<1, V>>;
    if constexpr (std::is_same_v<Second, vial::headers>) {
      static_assert(n == 2,
                    "(body, headers, ...) is not a handler result; use (body, status, headers)");
      detail::merge_headers(r, std::get<1>(value));
    } else {
      static_assert(std::is_same_v<Second, int> || std::is_same_v<Second, vial::status>,
                    "the second element of a handler's tuple is a status (int or vial::status) "
                    "or vial::headers");
      detail::apply_status(r, std::get<1>(value));
      if constexpr (n == 3) {
        static_assert(
            std::is_same_v<std::remove_cvref_t<std::tuple_element_t<2, V>>, vial::headers>,
            "the third element of a handler's tuple is vial::headers");
        detail::merge_headers(r, std::get<2>(value));
      }
    }
    return r;
  } else if constexpr (detail::has_adl_to_response<V>) {
    return to_response(value);
  } else {
    return detail::no_response_conversion_for<V>{};
  }
}

/// Satisfied by types `make_response` accepts.
template <class T>
concept response_convertible = std::is_same_v<std::remove_cvref_t<T>, response> ||
                               std::is_same_v<std::remove_cvref_t<T>, std::string> ||
                               std::is_same_v<std::remove_cvref_t<T>, std::string_view> ||
                               std::is_convertible_v<std::remove_cvref_t<T>, const char*> ||
                               std::is_same_v<std::remove_cvref_t<T>, nlohmann::json> ||
                               std::is_same_v<std::remove_cvref_t<T>, json_view> ||
                               std::is_same_v<std::remove_cvref_t<T>, vial::status> ||
                               detail::is_tuple<std::remove_cvref_t<T>>::value ||
                               detail::has_adl_to_response<std::remove_cvref_t<T>>;

}  // namespace vial
