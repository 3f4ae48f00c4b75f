#pragma once

#include <cstddef>
#include <functional>
#include <type_traits>
#include <utility>

namespace vial::detail {

/// `std::function<void(A...)>` for callbacks vial calls synchronously and whose result it does
/// not read (log sinks, the access log, `on_started`). It refuses, at compile time, a callable
/// that returns a value: `std::function<void(A...)>` would accept and discard it, and for a
/// coroutine (`vial::task`) that means a coroutine created and never run.
template <class... A>
class sync_callback : public std::function<void(A...)> {
  using base = std::function<void(A...)>;

 public:
  sync_callback() noexcept = default;
  sync_callback(std::nullptr_t) noexcept {}
  template <class F>
    requires(!std::is_same_v<std::remove_cvref_t<F>, sync_callback> &&
             std::is_invocable_v<std::decay_t<F>&, A...>)
  sync_callback(F&& f) : base(std::forward<F>(f)) {
    static_assert(std::is_void_v<std::invoke_result_t<std::decay_t<F>&, A...>>,
                  "this callback is called synchronously and returns void: a coroutine "
                  "(vial::task) would be created and never run, and any other result would be "
                  "discarded");
  }
};

}  // namespace vial::detail
