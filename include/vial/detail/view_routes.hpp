#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <typeinfo>
#include <utility>
#include <vector>

#include "vial/detail/handler.hpp"
#include "vial/detail/hooks.hpp"
#include "vial/detail/scope.hpp"

// A class-based view (vial/app/view.hpp) erased into the handlers of its methods and the
// scope of its `before`/`after` members.

namespace vial::detail {

/// Calls member `M` of a shared view with exactly the member's parameters, so that the handler
/// machinery sees (and checks) the member's signature.
template <class V, auto M, class R, class Args>
struct view_call;
template <class V, auto M, class R, class... A>
struct view_call<V, M, R, std::tuple<A...>> {
  std::shared_ptr<V> view;
  R operator()(A... a) const { return std::invoke(M, *view, std::forward<A>(a)...); }
};
template <class V, auto M>
using view_call_for = view_call<V, M, typename callable_traits<decltype(M)>::result,
                                typename callable_traits<decltype(M)>::args>;

/// A view's methods and its scoped hooks, erased.
struct view_routes {
  std::vector<std::pair<std::string, route_handler>> methods;  // "GET" -> handler
  std::shared_ptr<scope> hooks;  // null when the view has neither `before` nor `after`
  std::string name;              // for messages
};

/// One handler answering every method of the view (params are checked to agree).
/// Throws `setup_error` when the view has no method or its methods disagree on parameters.
route_handler combine_view_methods(const view_routes& v, std::string_view rule);
std::vector<std::string> view_method_names(const view_routes& v);

template <class V>
view_routes make_view_routes(std::shared_ptr<V> v) {
  view_routes r;
  r.name = typeid(V).name();
  if constexpr (requires { &V::get; }) {
    r.methods.emplace_back("GET", make_route_handler(view_call_for<V, &V::get>{v}));
  }
  if constexpr (requires { &V::post; }) {
    r.methods.emplace_back("POST", make_route_handler(view_call_for<V, &V::post>{v}));
  }
  if constexpr (requires { &V::put; }) {
    r.methods.emplace_back("PUT", make_route_handler(view_call_for<V, &V::put>{v}));
  }
  if constexpr (requires { &V::patch; }) {
    r.methods.emplace_back("PATCH", make_route_handler(view_call_for<V, &V::patch>{v}));
  }
  if constexpr (requires { &V::delete_; }) {
    r.methods.emplace_back("DELETE", make_route_handler(view_call_for<V, &V::delete_>{v}));
  }
  static_assert(
      requires { &V::get; } || requires { &V::post; } || requires { &V::put; } ||
          requires { &V::patch; } || requires { &V::delete_; },
      "a view needs at least one of the members get, post, put, patch, delete_");
  constexpr bool has_before = requires(V& x, request& q) { x.before(q); };
  constexpr bool has_after = requires(V& x, request& q, response& s) { x.after(q, s); };
  if constexpr (has_before || has_after) {
    r.hooks = std::make_shared<scope>();
    if constexpr (has_before) {
      r.hooks->before.push_back(make_slot<before_kind>([v](request& q) { return v->before(q); }));
    }
    if constexpr (has_after) {
      r.hooks->after.push_back(
          make_slot<after_kind>([v](request& q, response& s) { return v->after(q, s); }));
    }
  }
  return r;
}

}  // namespace vial::detail
