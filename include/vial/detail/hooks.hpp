#pragma once

#include <exception>
#include <optional>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "vial/app/to_response.hpp"
#include "vial/async/task.hpp"
#include "vial/detail/slot.hpp"
#include "vial/http/error.hpp"
#include "vial/http/request.hpp"
#include "vial/http/response.hpp"

// Hooks and error handlers, erased. Each slot holds a plain function or a coroutine, decided at
// compile time from what the user's callable returns; dispatch awaits or calls accordingly.
// Each kind of slot below says how its callables are called and what their results become;
// `detail::make_slot<Kind>` (vial/detail/slot.hpp) does the rest.

namespace vial::detail {

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

/// Calls `f(req, rest...)` when it takes the request, else `f(rest...)`.
template <class F, class... Rest>
decltype(auto) call_with_request(F& f, request& req, Rest&&... rest) {
  if constexpr (std::is_invocable_v<F&, request&, Rest...>) {
    return f(req, std::forward<Rest>(rest)...);
  } else {
    static_assert(std::is_invocable_v<F&, Rest...>,
                  "this callable does not take the arguments of its slot (see the docs of the "
                  "registering function)");
    return f(std::forward<Rest>(rest)...);
  }
}

/// True when `call_with_request(f, req, rest...)` is well-formed. Each kind checks it first, in
/// a static_assert that names the slot's signatures, and instantiates nothing else when it
/// fails: the compiler's first error is then that sentence, not a page of std::function.
template <class F, class... Rest>
inline constexpr bool takes_slot_args_v =
    std::is_invocable_v<F&, request&, Rest...> || std::is_invocable_v<F&, Rest...>;

/// What a slot kind accepts as a result by default: anything (conversion checks the rest).
struct any_result {
  template <class F>
  static constexpr bool returns = true;
  template <class F>
  static void refuse_result() {}
};

// --- before_request: (request&) -> void | optional<X>; a value short-circuits the request.

template <class V>
std::optional<response> before_result(V&& v) {
  using D = std::remove_cvref_t<V>;
  if constexpr (is_optional<D>::value) {
    if (!v) return std::nullopt;
    return make_response(std::move(*v));
  } else {
    static_assert(is_optional<D>::value,
                  "a before_request hook returns void or std::optional<...> (a value "
                  "short-circuits the request)");
    return std::nullopt;
  }
}

using before_slot = slot<std::optional<response>, request&>;

struct before_kind : any_result {
  using slot_type = before_slot;
  template <class F>
  static constexpr bool fits = takes_slot_args_v<F>;
  template <class F>
  static void refuse() {
    static_assert(fits<F>,
                  "this callable does not take the arguments of its slot: a before_request hook "
                  "is called as f(vial::request&) or f() and returns void, std::optional<X> or "
                  "vial::task<> of one");
  }
  template <class F>
  static decltype(auto) invoke(F& f, request& req) {
    return call_with_request(f, req);
  }
  static std::optional<response> done(request&) { return std::nullopt; }
  template <class V>
  static std::optional<response> done(V&& v, request&) {
    return before_result(std::forward<V>(v));
  }
};

// --- after_request: (request&, response&) -> void modifies in place; -> X replaces.

using after_slot = slot<response, request&, response&>;

struct after_kind : any_result {
  using slot_type = after_slot;
  template <class F>
  static constexpr bool fits = takes_slot_args_v<F, response&>;
  template <class F>
  static void refuse() {
    static_assert(fits<F>,
                  "this callable does not take the arguments of its slot: an after_request hook "
                  "is called as f(vial::request&, vial::response&) or f(vial::response&) and "
                  "returns void (the response is modified in place), a response value, or "
                  "vial::task<> of one");
  }
  template <class F>
  static decltype(auto) invoke(F& f, request& req, response& res) {
    return call_with_request(f, req, res);
  }
  static response done(request&, response& res) { return std::move(res); }
  template <class V>
  static response done(V&& v, request&, response&) {
    return make_response(std::forward<V>(v));
  }
};

// --- teardown_request: (request&, std::exception_ptr) or (request&); always runs.

using teardown_slot = slot<void, request&, std::exception_ptr>;

template <class F>
decltype(auto) call_teardown(F& f, request& req, std::exception_ptr e) {
  if constexpr (std::is_invocable_v<F&, request&, std::exception_ptr>) {
    return f(req, e);
  } else if constexpr (std::is_invocable_v<F&, std::exception_ptr>) {
    return f(e);
  } else {
    return call_with_request(f, req);
  }
}

struct teardown_kind {
  using slot_type = teardown_slot;
  template <class F>
  static constexpr bool fits = std::is_invocable_v<F&, request&, std::exception_ptr> ||
                               std::is_invocable_v<F&, std::exception_ptr> || takes_slot_args_v<F>;
  template <class F>
  static void refuse() {
    static_assert(fits<F>,
                  "this callable does not take the arguments of its slot: a teardown_request "
                  "hook is called as f(vial::request&, std::exception_ptr), "
                  "f(std::exception_ptr), f(vial::request&) or f() and returns void or "
                  "vial::task<void>");
  }
  template <class F>
  using result = decltype(call_teardown(std::declval<F&>(), std::declval<request&>(),
                                        std::declval<std::exception_ptr>()));
  template <class F>
  static constexpr bool returns =
      std::is_void_v<result<F>> || std::is_same_v<result<F>, task<void>>;
  template <class F>
  static void refuse_result() {
    static_assert(returns<F>,
                  "a teardown_request hook returns void or vial::task<void>: nothing would "
                  "read what this one returns");
  }
  template <class F>
  static decltype(auto) invoke(F& f, request& req, std::exception_ptr e) {
    return call_teardown(f, req, std::move(e));
  }
  static void done(request&, std::exception_ptr) {}
};

// --- error handlers: (request&, const E&) or (const E&) -> X. The slot receives the exception
// already known to be an E.

using error_slot = slot<response, request&, std::exception_ptr>;

template <class E>
struct error_kind : any_result {
  using slot_type = error_slot;
  template <class F>
  static constexpr bool fits = takes_slot_args_v<F, const E&>;
  template <class F>
  static void refuse() {
    static_assert(fits<F>,
                  "this callable does not take the arguments of its slot: an errorhandler<E> is "
                  "called as f(vial::request&, const E&) or f(const E&) and returns a response "
                  "value or vial::task<> of one");
  }
  // A coroutine handler's frame refers to the exception object, which lives as long as the
  // exception_ptr the slot was given (the async slot's frame keeps a copy).
  template <class F>
  static decltype(auto) invoke(F& f, request& req, std::exception_ptr e) {
    try {
      std::rethrow_exception(e);
    } catch (const E& ex) {
      return call_with_request(f, req, ex);
    }
  }
  template <class V>
  static response done(V&& v, request&, const std::exception_ptr&) {
    return make_response(std::forward<V>(v));
  }
};

/// A handler for a status code: sees the `http_error` (raised, or made for a routing miss).
using status_slot = slot<response, request&, const http_error&>;

struct status_kind : any_result {
  using slot_type = status_slot;
  template <class F>
  static constexpr bool fits = takes_slot_args_v<F, const http_error&>;
  template <class F>
  static void refuse() {
    static_assert(fits<F>,
                  "this callable does not take the arguments of its slot: an errorhandler(status, "
                  "f) is called as f(vial::request&, const vial::http_error&) or "
                  "f(const vial::http_error&) and returns a response value or vial::task<> of "
                  "one");
  }
  template <class F>
  static decltype(auto) invoke(F& f, request& req, const http_error& e) {
    return call_with_request(f, req, e);
  }
  template <class V>
  static response done(V&& v, request&, const http_error&) {
    return make_response(std::forward<V>(v));
  }
};

/// An error handler registered for an exception type, with what ordering needs.
struct type_error_handler {
  const std::type_info* type;
  bool (*catches)(const std::exception_ptr&);
  void (*throw_pointer)();              // throws a null `E*`
  bool (*catches_pointer)(void (*)());  // does `catch (const E*)` take that throw?
  error_slot handler;
};

template <class E>
type_error_handler make_type_error_handler(error_slot s) {
  type_error_handler h;
  h.type = &typeid(E);
  h.catches = [](const std::exception_ptr& e) {
    try {
      std::rethrow_exception(e);
    } catch (const E&) {
      return true;
    } catch (...) {
      return false;
    }
  };
  h.throw_pointer = [] { throw static_cast<E*>(nullptr); };
  h.catches_pointer = [](void (*thrower)()) {
    try {
      thrower();
    } catch (const E*) {
      return true;
    } catch (...) {
      return false;
    }
    return false;
  };
  h.handler = std::move(s);
  return h;
}

// --- startup / shutdown: () -> void or task<void>.

using lifecycle_slot = slot<void>;

struct lifecycle_kind {
  using slot_type = lifecycle_slot;
  template <class F>
  static constexpr bool fits = std::is_invocable_v<F&>;
  template <class F>
  static void refuse() {
    static_assert(fits<F>,
                  "this callable does not take the arguments of its slot: a startup or shutdown "
                  "hook is called as f() and returns void or vial::task<void>");
  }
  template <class F>
  static constexpr bool returns = std::is_void_v<std::invoke_result_t<F&>> ||
                                  std::is_same_v<std::invoke_result_t<F&>, task<void>>;
  template <class F>
  static void refuse_result() {
    static_assert(returns<F>,
                  "a startup or shutdown hook returns void or vial::task<void>: nothing would "
                  "read what this one returns");
  }
  template <class F>
  static decltype(auto) invoke(F& f) {
    return f();
  }
  static void done() {}
};

}  // namespace vial::detail
