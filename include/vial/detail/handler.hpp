#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "vial/app/to_response.hpp"
#include "vial/async/bridge.hpp"
#include "vial/async/task.hpp"
#include "vial/http/error.hpp"
#include "vial/http/path_params.hpp"
#include "vial/http/request.hpp"
#include "vial/http/response.hpp"
#include "vial/routing/rule.hpp"

// How a route's callable is bound to the request and erased into one stored type.
// Users never name these; they write plain functions, lambdas or coroutines.

namespace vial::detail {

/// Argument and result types of a non-generic callable.
template <class F>
struct callable_traits : callable_traits<decltype(&F::operator())> {};
template <class R, class... A>
struct callable_traits<R(A...)> {
  using result = R;
  using args = std::tuple<A...>;
};
template <class R, class... A>
struct callable_traits<R (*)(A...)> : callable_traits<R(A...)> {};
template <class R, class... A>
struct callable_traits<R (*)(A...) noexcept> : callable_traits<R(A...)> {};
template <class C, class R, class... A>
struct callable_traits<R (C::*)(A...)> : callable_traits<R(A...)> {};
template <class C, class R, class... A>
struct callable_traits<R (C::*)(A...) const> : callable_traits<R(A...)> {};
template <class C, class R, class... A>
struct callable_traits<R (C::*)(A...) noexcept> : callable_traits<R(A...)> {};
template <class C, class R, class... A>
struct callable_traits<R (C::*)(A...) const noexcept> : callable_traits<R(A...)> {};

template <class T>
inline constexpr bool is_request_ref =
    std::is_lvalue_reference_v<T> && std::is_same_v<std::remove_cvref_t<T>, request>;

/// What a handler parameter can be bound from.
enum class param_kind { integer, floating, text, uuid };

template <class P>
constexpr param_kind kind_of_param() {
  using D = std::remove_cvref_t<P>;
  if constexpr (std::is_integral_v<D> && !std::is_same_v<D, bool>) {
    return param_kind::integer;
  } else if constexpr (std::is_floating_point_v<D>) {
    return param_kind::floating;
  } else if constexpr (std::is_same_v<D, std::string> || std::is_same_v<D, std::string_view>) {
    return param_kind::text;
  } else if constexpr (std::is_same_v<D, vial::uuid>) {
    return param_kind::uuid;
  } else {
    static_assert(sizeof(D) == 0,
                  "a route parameter must be an integer, a floating-point type, std::string, "
                  "std::string_view or vial::uuid");
  }
}

/// True when a handler parameter of kind `k` can take what converter `c` yields.
constexpr bool param_fits(param_kind k, converter_kind c) noexcept {
  switch (c) {
    case converter_kind::int_:
      return k == param_kind::integer;
    case converter_kind::float_:
      return k == param_kind::floating;
    case converter_kind::uuid:
      return k == param_kind::uuid;
    case converter_kind::string:
    case converter_kind::path:
    case converter_kind::any:
      return k == param_kind::text;
  }
  return false;
}

/// Throws `setup_error` unless each parameter kind fits the rule's converter at its position.
void check_params_fit(const rule& r, const std::vector<param_kind>& kinds);

[[noreturn]] void throw_param_out_of_range();

template <class P>
decltype(auto) bind_param(const param_value& v) {
  using D = std::remove_cvref_t<P>;
  if constexpr (std::is_integral_v<D>) {
    const auto n = std::get<std::int64_t>(v);
    // Wider than the parameter's type: the URL names no resource this handler can take.
    if (!std::in_range<D>(n)) throw_param_out_of_range();
    return static_cast<D>(n);
  } else if constexpr (std::is_floating_point_v<D>) {
    return static_cast<D>(std::get<double>(v));
  } else if constexpr (std::is_same_v<D, vial::uuid>) {
    return std::get<vial::uuid>(v);
  } else if constexpr (std::is_same_v<D, std::string_view>) {
    return std::string_view(std::get<std::string>(v));
  } else {
    return std::get<std::string>(v);
  }
}

template <class Args>
struct first_is_request : std::false_type {};
template <class First, class... Rest>
struct first_is_request<std::tuple<First, Rest...>> : std::bool_constant<is_request_ref<First>> {};

/// The parameter types of `F` after an optional leading `request&`.
template <class F>
struct handler_signature {
  using traits = callable_traits<std::remove_cvref_t<F>>;
  using args = typename traits::args;
  static constexpr bool takes_request = first_is_request<args>::value;
  static constexpr std::size_t param_count = std::tuple_size_v<args> - (takes_request ? 1 : 0);
  using result = typename traits::result;
  static constexpr bool is_coroutine = is_task_v<result>;

  template <std::size_t... I>
  static std::vector<param_kind> kinds(std::index_sequence<I...>) {
    return {kind_of_param<std::tuple_element_t<I + (takes_request ? 1 : 0), args>>()...};
  }
  static std::vector<param_kind> kinds() { return kinds(std::make_index_sequence<param_count>{}); }
};

template <class F, std::size_t... I>
decltype(auto) call_bound(F& f, request& req, std::index_sequence<I...>) {
  using sig = handler_signature<F>;
  using args = typename sig::args;
  constexpr std::size_t offset = sig::takes_request ? 1 : 0;
  const auto& params = req.params();
  if constexpr (sig::takes_request) {
    return f(req, bind_param<std::tuple_element_t<I + offset, args>>(params[I].value)...);
  } else {
    return f(bind_param<std::tuple_element_t<I + offset, args>>(params[I].value)...);
  }
}

/// A route's callable, erased: exactly one of `sync` and `async` is set.
struct route_handler {
  std::function<response(request&)> sync;
  std::function<task<response>(request&)> async;
  /// Optional, beside `async`: drives the coroutine alone in one bridge run and converts its
  /// value afterwards, one coroutine frame fewer than bridging `async` when no hook or error
  /// handler of the route is a coroutine.
  std::function<response(request&, const bridge_options&)> bridged;
  std::vector<param_kind> params;
  bool is_async() const noexcept { return static_cast<bool>(async); }
};

// The route owns the callable (through the shared_ptr its erased functions capture) for as long
// as the app lives, so its captures outlive every request's coroutine frame.
template <class F>
task<response> run_async_handler(F* f, request& req) {
  using sig = handler_signature<F>;
  using value = task_value_t<typename sig::result>;
  static_assert(!std::is_void_v<value>, "a coroutine handler must co_return a response value");
  // Bound arguments (std::string...) are temporaries: keep them out of the co_await
  // expression, where GCC 12 destroys temporaries twice.
  auto call = call_bound(*f, req, std::make_index_sequence<sig::param_count>{});
  co_return make_response(co_await std::move(call));
}

template <class F>
route_handler make_route_handler(F&& f) {
  using D = std::remove_cvref_t<F>;
  using sig = handler_signature<D>;
  auto shared = std::make_shared<D>(std::forward<F>(f));
  route_handler h;
  h.params = sig::kinds();
  if constexpr (sig::is_coroutine) {
    if constexpr (std::is_same_v<typename sig::result, task<response>>) {
      // Already what the pipeline awaits: the user's task is awaited as it is, without a
      // converting coroutine frame around it for the whole request.
      h.async = [shared](request& req) {
        return call_bound(*shared, req, std::make_index_sequence<sig::param_count>{});
      };
    } else {
      h.async = [shared](request& req) { return run_async_handler(shared.get(), req); };
    }
    h.bridged = [shared](request& req, const bridge_options& options) {
      D& f = *shared;
      return make_response(bridge_call(
          [&] { return call_bound(f, req, std::make_index_sequence<sig::param_count>{}); },
          options));
    };
  } else {
    static_assert(!std::is_void_v<typename sig::result>,
                  "a handler must return a response value (response, string, json, status, "
                  "a tuple, or task<...> of one)");
    h.sync = [shared](request& req) {
      return make_response(call_bound(*shared, req, std::make_index_sequence<sig::param_count>{}));
    };
  }
  return h;
}

}  // namespace vial::detail
