#pragma once

#include <cstddef>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include "vial/detail/handler.hpp"
#include "vial/detail/rule_check.hpp"

namespace vial {

/// A rule known only at run time (read from configuration, built by a function), passed where a
/// literal is expected: `app.get(vial::runtime_rule(path), handler)`. It is checked when the
/// route is registered, which throws `setup_error` (fmt's `fmt::runtime`).
class runtime_rule {
 public:
  explicit runtime_rule(std::string_view pattern) noexcept : pattern_(pattern) {}
  std::string_view pattern() const noexcept { return pattern_; }

 private:
  std::string_view pattern_;
};

namespace detail {

template <int Position>
struct handler_parameter {};
template <int Count>
struct handler_parameters {};

// Never defined, and not constexpr: a literal rule's check reaches one only when the rule is
// wrong, and the compiler then stops, naming the function and its template arguments (the
// reason, the handler's parameter) beside the rule it was checking.
template <rule_syntax Reason>
void malformed_rule();
template <class Position, class Param, converter_kind Converter>
void handler_parameter_does_not_fit_rule();
template <class Position, class Param>
void handler_parameter_not_in_rule();
template <class HandlerParameters>
void rule_has_more_parameters_than_the_handler();

template <int I = 1>
constexpr void report_malformed(rule_syntax e) {
  if constexpr (I <= static_cast<int>(rule_syntax::duplicate_parameter_name)) {
    if (e == static_cast<rule_syntax>(I)) {
      malformed_rule<static_cast<rule_syntax>(I)>();
    } else {
      report_malformed<I + 1>(e);
    }
  }
}

template <class Position, class Param>
constexpr void report_mismatch(converter_kind c) {
  switch (c) {
    case converter_kind::string:
      handler_parameter_does_not_fit_rule<Position, Param, converter_kind::string>();
      break;
    case converter_kind::int_:
      handler_parameter_does_not_fit_rule<Position, Param, converter_kind::int_>();
      break;
    case converter_kind::float_:
      handler_parameter_does_not_fit_rule<Position, Param, converter_kind::float_>();
      break;
    case converter_kind::path:
      handler_parameter_does_not_fit_rule<Position, Param, converter_kind::path>();
      break;
    case converter_kind::uuid:
      handler_parameter_does_not_fit_rule<Position, Param, converter_kind::uuid>();
      break;
    case converter_kind::any:
      handler_parameter_does_not_fit_rule<Position, Param, converter_kind::any>();
      break;
  }
}

/// Checks a literal `pattern` against `F`'s parameters in a constant expression (see above).
template <class F>
consteval void check_rule(std::string_view pattern) {
  using sig = handler_signature<std::remove_cvref_t<F>>;
  constexpr std::size_t offset = sig::takes_request ? 1 : 0;
  constexpr std::size_t count = sig::param_count;
  using args = typename sig::args;
  const rule_scan syntax = scan_rule(pattern, [](std::size_t, converter_kind) {});
  if (syntax.error != rule_syntax::ok) return report_malformed(syntax.error);
  if (syntax.param_count > count) {
    return rule_has_more_parameters_than_the_handler<handler_parameters<int(count)>>();
  }
  scan_rule(pattern, [](std::size_t i, converter_kind c) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (void)((i == I && !param_fits(kind_of_param<std::tuple_element_t<I + offset, args>>(), c)
                  ? (report_mismatch<handler_parameter<int(I) + 1>,
                                     std::tuple_element_t<I + offset, args>>(c),
                     true)
                  : false) ||
             ...);
    }(std::make_index_sequence<count>{});
  });
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (void)((I == syntax.param_count
                ? (handler_parameter_not_in_rule<handler_parameter<int(I) + 1>,
                                                 std::tuple_element_t<I + offset, args>>(),
                   true)
                : false) ||
           ...);
  }(std::make_index_sequence<count>{});
}

/// The rule of a route whose handler is `F`: a string literal checked at compile time against
/// the handler's parameters (fmt's `format_string`), or a `runtime_rule` checked when the route
/// is registered. A literal whose syntax is wrong, or whose converters do not fit the handler's
/// parameters in number or type, does not compile; the error names the rule, the reason and
/// the handler parameter (docs/routing.md). A rule that is not a constant expression (a
/// `std::string`, a non-constexpr variable) does not compile either ("not a constant
/// expression"): wrap it in `runtime_rule`.
template <class F>
class basic_rule {
 public:
  template <class S>
    requires std::is_convertible_v<const S&, std::string_view>
  consteval basic_rule(const S& pattern) : pattern_(pattern) {
    check_rule<F>(pattern_);
  }
  basic_rule(runtime_rule r) noexcept : pattern_(r.pattern()) {}
  std::string_view pattern() const noexcept { return pattern_; }

 private:
  std::string_view pattern_;
};

}  // namespace detail

/// `std::type_identity_t` keeps the rule out of deducing `F`, which the handler alone decides.
template <class F>
using rule_for = detail::basic_rule<std::type_identity_t<F>>;

}  // namespace vial
