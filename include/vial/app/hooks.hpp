#pragma once

#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "vial/app/handler.hpp"
#include "vial/app/to_response.hpp"
#include "vial/async/task.hpp"
#include "vial/http/error.hpp"
#include "vial/http/request.hpp"
#include "vial/http/response.hpp"

// Hooks and error handlers, erased. Each slot holds a plain function or a coroutine, decided at
// compile time from what the user's callable returns; dispatch awaits or calls accordingly.

namespace vial::detail {

template <class R, class... A>
struct slot {
  std::function<R(A...)> sync;
  std::function<task<R>(A...)> async;
  bool is_async() const noexcept { return static_cast<bool>(async); }
  /// Calls either form from inside a coroutine.
  task<R> call(A... a) const {
    if (async) {
      auto op = async(a...);
      co_return co_await std::move(op);
    }
    if constexpr (std::is_void_v<R>) {
      sync(a...);
    } else {
      co_return sync(a...);
    }
  }
};

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

/// True when `call_with_request(f, req, rest...)` is well-formed. Each `make_*_slot` checks it
/// first, in a static_assert that names the slot's signatures, and instantiates nothing else when
/// it fails: the compiler's first error is then that sentence, not a page of std::function.
template <class F, class... Rest>
inline constexpr bool takes_slot_args_v =
    std::is_invocable_v<F&, request&, Rest...> || std::is_invocable_v<F&, Rest...>;

template <class F, class... Rest>
using result_with_request_t = decltype(call_with_request(
    std::declval<F&>(), std::declval<request&>(), std::declval<Rest>()...));

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

template <class F>
task<std::optional<response>> run_before_async(std::shared_ptr<F> f, request& req) {
  using T = task_value_t<result_with_request_t<F>>;
  auto op = call_with_request(*f, req);
  if constexpr (std::is_void_v<T>) {
    co_await std::move(op);
    co_return std::nullopt;
  } else {
    co_return before_result(co_await std::move(op));
  }
}

template <class F>
before_slot make_before_slot(F&& f) {
  using D = std::remove_cvref_t<F>;
  if constexpr (!takes_slot_args_v<D>) {
    static_assert(takes_slot_args_v<D>,
                  "this callable does not take the arguments of its slot: a before_request hook "
                  "is called as f(vial::request&) or f() and returns void, std::optional<X> or "
                  "vial::task<> of one");
    return {};
  } else {
    auto shared = std::make_shared<D>(std::forward<F>(f));
    using R = result_with_request_t<D>;
    before_slot s;
    if constexpr (is_task_v<R>) {
      s.async = [shared](request& req) { return run_before_async(shared, req); };
    } else if constexpr (std::is_void_v<R>) {
      s.sync = [shared](request& req) -> std::optional<response> {
        call_with_request(*shared, req);
        return std::nullopt;
      };
    } else {
      s.sync = [shared](request& req) { return before_result(call_with_request(*shared, req)); };
    }
    return s;
  }
}

// --- after_request: (request&, response&) -> void modifies in place; -> X replaces.

using after_slot = slot<response, request&, response&>;

template <class F>
task<response> run_after_async(std::shared_ptr<F> f, request& req, response& res) {
  using T = task_value_t<result_with_request_t<F, response&>>;
  auto op = call_with_request(*f, req, res);
  if constexpr (std::is_void_v<T>) {
    co_await std::move(op);
    co_return std::move(res);
  } else {
    co_return make_response(co_await std::move(op));
  }
}

template <class F>
after_slot make_after_slot(F&& f) {
  using D = std::remove_cvref_t<F>;
  if constexpr (!takes_slot_args_v<D, response&>) {
    static_assert(takes_slot_args_v<D, response&>,
                  "this callable does not take the arguments of its slot: an after_request hook "
                  "is called as f(vial::request&, vial::response&) or f(vial::response&) and "
                  "returns void (the response is modified in place), a response value, or "
                  "vial::task<> of one");
    return {};
  } else {
    auto shared = std::make_shared<D>(std::forward<F>(f));
    using R = result_with_request_t<D, response&>;
    after_slot s;
    if constexpr (is_task_v<R>) {
      s.async = [shared](request& req, response& res) { return run_after_async(shared, req, res); };
    } else if constexpr (std::is_void_v<R>) {
      s.sync = [shared](request& req, response& res) {
        call_with_request(*shared, req, res);
        return std::move(res);
      };
    } else {
      s.sync = [shared](request& req, response& res) {
        return make_response(call_with_request(*shared, req, res));
      };
    }
    return s;
  }
}

// --- teardown_request: (request&, std::exception_ptr) or (request&); always runs.

using teardown_slot = slot<void, request&, std::exception_ptr>;

template <class F>
inline constexpr bool takes_teardown_args_v =
    std::is_invocable_v<F&, request&, std::exception_ptr> ||
    std::is_invocable_v<F&, std::exception_ptr> || takes_slot_args_v<F>;

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

template <class F>
task<void> run_teardown_async(std::shared_ptr<F> f, request& req, std::exception_ptr e) {
  auto op = call_teardown(*f, req, e);
  co_await std::move(op);
}

template <class F>
teardown_slot make_teardown_slot(F&& f) {
  using D = std::remove_cvref_t<F>;
  if constexpr (!takes_teardown_args_v<D>) {
    static_assert(takes_teardown_args_v<D>,
                  "this callable does not take the arguments of its slot: a teardown_request "
                  "hook is called as f(vial::request&, std::exception_ptr), "
                  "f(std::exception_ptr), f(vial::request&) or f() and returns void or "
                  "vial::task<void>");
    return {};
  } else {
    using R = decltype(call_teardown(std::declval<D&>(), std::declval<request&>(),
                                     std::declval<std::exception_ptr>()));
    if constexpr (!std::is_void_v<R> && !std::is_same_v<R, task<void>>) {
      static_assert(std::is_void_v<R> || std::is_same_v<R, task<void>>,
                    "a teardown_request hook returns void or vial::task<void>: nothing would "
                    "read what this one returns");
      return {};
    } else {
      auto shared = std::make_shared<D>(std::forward<F>(f));
      teardown_slot s;
      if constexpr (is_task_v<R>) {
        s.async = [shared](request& req, std::exception_ptr e) {
          return run_teardown_async(shared, req, e);
        };
      } else {
        s.sync = [shared](request& req, std::exception_ptr e) { call_teardown(*shared, req, e); };
      }
      return s;
    }
  }
}

// --- error handlers: (request&, const E&) or (const E&) -> X. The slot receives the exception
// already known to be an E.

using error_slot = slot<response, request&, std::exception_ptr>;

template <class E, class F>
decltype(auto) call_error(F& f, request& req, std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const E& ex) {
    return call_with_request(f, req, ex);
  }
}

template <class E, class F>
task<response> run_error_async(std::shared_ptr<F> f, request& req, std::exception_ptr e) {
  // Awaiting inside a catch block is not allowed: take the object out first.
  const E* ex = nullptr;
  try {
    std::rethrow_exception(e);
  } catch (const E& caught) {
    ex = &caught;  // the exception object lives as long as `e`
  }
  auto op = call_with_request(*f, req, *ex);
  co_return make_response(co_await std::move(op));
}

template <class E, class F>
error_slot make_error_slot(F&& f) {
  using D = std::remove_cvref_t<F>;
  if constexpr (!takes_slot_args_v<D, const E&>) {
    static_assert(takes_slot_args_v<D, const E&>,
                  "this callable does not take the arguments of its slot: an errorhandler<E> is "
                  "called as f(vial::request&, const E&) or f(const E&) and returns a response "
                  "value or vial::task<> of one");
    return {};
  } else {
    auto shared = std::make_shared<D>(std::forward<F>(f));
    using R = result_with_request_t<D, const E&>;
    error_slot s;
    if constexpr (is_task_v<R>) {
      s.async = [shared](request& req, std::exception_ptr e) {
        return run_error_async<E>(shared, req, std::move(e));
      };
    } else {
      s.sync = [shared](request& req, std::exception_ptr e) {
        return make_response(call_error<E>(*shared, req, std::move(e)));
      };
    }
    return s;
  }
}

/// A handler for a status code: sees the `http_error` (raised, or made for a routing miss).
using status_slot = slot<response, request&, const http_error&>;

template <class F>
task<response> run_status_async(std::shared_ptr<F> f, request& req, const http_error& e) {
  auto op = call_with_request(*f, req, e);
  co_return make_response(co_await std::move(op));
}

template <class F>
status_slot make_status_slot(F&& f) {
  using D = std::remove_cvref_t<F>;
  if constexpr (!takes_slot_args_v<D, const http_error&>) {
    static_assert(takes_slot_args_v<D, const http_error&>,
                  "this callable does not take the arguments of its slot: an errorhandler(status, "
                  "f) is called as f(vial::request&, const vial::http_error&) or "
                  "f(const vial::http_error&) and returns a response value or vial::task<> of "
                  "one");
    return {};
  } else {
    auto shared = std::make_shared<D>(std::forward<F>(f));
    using R = result_with_request_t<D, const http_error&>;
    status_slot s;
    if constexpr (is_task_v<R>) {
      s.async = [shared](request& req, const http_error& e) {
        return run_status_async(shared, req, e);
      };
    } else {
      s.sync = [shared](request& req, const http_error& e) {
        return make_response(call_with_request(*shared, req, e));
      };
    }
    return s;
  }
}

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

template <class F>
task<void> run_lifecycle_async(std::shared_ptr<F> f) {
  auto op = (*f)();
  co_await std::move(op);
}

template <class F>
lifecycle_slot make_lifecycle_slot(F&& f) {
  using D = std::remove_cvref_t<F>;
  if constexpr (!std::is_invocable_v<D&>) {
    static_assert(std::is_invocable_v<D&>,
                  "this callable does not take the arguments of its slot: a startup or shutdown "
                  "hook is called as f() and returns void or vial::task<void>");
    return {};
  } else {
    using R = std::invoke_result_t<D&>;
    if constexpr (!std::is_void_v<R> && !std::is_same_v<R, task<void>>) {
      static_assert(std::is_void_v<R> || std::is_same_v<R, task<void>>,
                    "a startup or shutdown hook returns void or vial::task<void>: nothing would "
                    "read what this one returns");
      return {};
    } else {
      auto shared = std::make_shared<D>(std::forward<F>(f));
      lifecycle_slot s;
      if constexpr (is_task_v<R>) {
        s.async = [shared] { return run_lifecycle_async(shared); };
      } else {
        s.sync = [shared] { (*shared)(); };
      }
      return s;
    }
  }
}

}  // namespace vial::detail
