#pragma once

#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

#include "vial/async/task.hpp"

namespace vial::detail {

/// A hook, error handler or lifecycle callable, erased: exactly one of `sync` and `async` is
/// set, decided at compile time from what the user's callable returns. The request pipeline
/// calls `sync` or awaits `async`.
template <class R, class... A>
struct slot {
  std::function<R(A...)> sync;
  std::function<task<R>(A...)> async;
  bool is_async() const noexcept { return static_cast<bool>(async); }
};

// One factory makes every kind of slot. A `Kind` (vial/detail/hooks.hpp) says how its callables
// are called and what their results become:
//   slot_type                 the slot<R, A...> it makes
//   fits<F>, refuse<F>()      whether F takes the slot's arguments; refuse holds a static_assert
//                             naming the slot's signatures, instantiated only when F does not
//                             fit, so that it is the compiler's first error and nothing follows
//   returns<F>, refuse_result<F>()   the same for what F returns
//   invoke(f, a...)           calls f with the slot's arguments (or those f takes)
//   done(a...)                the slot's result after f returned void (or task<void>)
//   done(value, a...)         the slot's result from the value f returned (or co_returned)

template <class Kind, class F, class R, class... A>
task<R> run_slot_async(std::shared_ptr<F> f, A... a) {
  auto op = Kind::invoke(*f, a...);
  if constexpr (std::is_void_v<task_value_t<decltype(op)>>) {
    co_await std::move(op);
    co_return Kind::done(a...);
  } else {
    auto value = co_await std::move(op);
    co_return Kind::done(std::move(value), a...);
  }
}

template <class Kind, class F, class R, class... A>
slot<R, A...> bind_slot(std::shared_ptr<F> f, std::type_identity<slot<R, A...>>) {
  using result = decltype(Kind::invoke(std::declval<F&>(), std::declval<A>()...));
  slot<R, A...> s;
  if constexpr (is_task_v<result>) {
    s.async = [f](A... a) { return run_slot_async<Kind, F, R, A...>(f, a...); };
  } else if constexpr (std::is_void_v<result>) {
    s.sync = [f](A... a) -> R {
      Kind::invoke(*f, a...);
      return Kind::done(a...);
    };
  } else {
    s.sync = [f](A... a) -> R { return Kind::done(Kind::invoke(*f, a...), a...); };
  }
  return s;
}

/// Erases `f` into a slot of `Kind`, checking first that it fits (see above).
template <class Kind, class F>
typename Kind::slot_type make_slot(F&& f) {
  using D = std::remove_cvref_t<F>;
  if constexpr (!Kind::template fits<D>) {
    Kind::template refuse<D>();
    return {};
  } else if constexpr (!Kind::template returns<D>) {
    Kind::template refuse_result<D>();
    return {};
  } else {
    return bind_slot<Kind>(std::make_shared<D>(std::forward<F>(f)),
                           std::type_identity<typename Kind::slot_type>{});
  }
}

}  // namespace vial::detail
