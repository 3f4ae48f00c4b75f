#pragma once

#include <exception>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "vial/async/error.hpp"
#include "vial/async/task.hpp"
#include "vial/log.hpp"

namespace vial {

class blocking_pool;

/// How one `async_to_sync` run reports and where its blocking work goes.
struct bridge_options {
  /// Names the work in warnings (the app passes "GET /users/<int:id>").
  std::string_view label{};
  /// Where leftover-work warnings go; the default logger when null.
  const logger* log = nullptr;
  /// The pool `to_thread` uses inside this run; the process default when null.
  blocking_pool* pool = nullptr;
};

/// Drives `t` to completion on this thread's private io_context and returns its value or
/// rethrows its exception: Flask's async_to_sync, without a thread or an event loop per call.
///
/// Guarantees:
/// - No thread is created; the private context is reused from call to call.
/// - Work the task spawned and did not await (a detached coroutine, a pending timer) is
///   cancelled and destroyed before this returns, and a warning names `options.label`.
///   Nothing survives into the next call. Work that must outlive the call belongs on a
///   `background_executor`.
/// - Called while a bridge run is active on this thread (from inside a coroutine it drives),
///   it throws `bridge_error` at once instead of deadlocking.
template <class T>
T async_to_sync(task<T> t, const bridge_options& options = {});

/// True while an `async_to_sync` run is active on the calling thread.
bool in_bridge() noexcept;

namespace detail {

/// One bridge run on the calling thread: enters the private context (or throws bridge_error),
/// and on exit destroys whatever the run left behind.
class bridge_run {
 public:
  explicit bridge_run(const bridge_options& options);
  ~bridge_run();
  bridge_run(const bridge_run&) = delete;
  bridge_run& operator=(const bridge_run&) = delete;

  boost::asio::io_context& context() noexcept { return *context_; }
  /// Runs ready handlers, waiting when there are none, until `done` is set.
  void run_until(const bool& done);

 private:
  boost::asio::io_context* context_;
  bridge_options options_;
  blocking_pool* previous_pool_;
};

/// Where a bridge run's root task leaves its outcome; also its completion handler.
template <class T>
struct bridge_outcome {
  bool done = false;
  std::exception_ptr error;
  std::optional<T> value;

  void operator()(std::exception_ptr e, T v) {
    if (e) {
      error = std::move(e);
    } else {
      value.emplace(std::move(v));
    }
    done = true;
  }
  T take() {
    if (error) std::rethrow_exception(error);
    return std::move(*value);
  }
};

template <>
struct bridge_outcome<void> {
  bool done = false;
  std::exception_ptr error;

  void operator()(std::exception_ptr e) {
    error = std::move(e);
    done = true;
  }
  void take() {
    if (error) std::rethrow_exception(error);
  }
};

/// Completes an outcome by reference (Asio moves handlers; the outcome stays put).
template <class T>
auto complete_into(bridge_outcome<T>& out) {
  return [&out](auto&&... args) { out(std::forward<decltype(args)>(args)...); };
}

/// `async_to_sync(make_task())`, but `make_task` is called inside the run, so the coroutine
/// frames it creates come from Asio's per-thread recycling allocator instead of the heap.
template <class F>
auto bridge_call(F&& make_task, const bridge_options& options)
    -> task_value_t<std::invoke_result_t<F&>> {
  using T = task_value_t<std::invoke_result_t<F&>>;
  static_assert(std::is_void_v<T> || std::is_default_constructible_v<T>,
                "bridge_call needs a default-constructible result");
  bridge_run run(options);
  bridge_outcome<T> outcome;
  auto& ctx = run.context();
  boost::asio::post(ctx, [&] { boost::asio::co_spawn(ctx, make_task(), complete_into(outcome)); });
  run.run_until(outcome.done);
  return outcome.take();
}

}  // namespace detail

template <class T>
T async_to_sync(task<T> t, const bridge_options& options) {
  detail::bridge_run run(options);
  if constexpr (std::is_void_v<T> || std::is_default_constructible_v<T>) {
    detail::bridge_outcome<T> outcome;
    boost::asio::co_spawn(run.context(), std::move(t), detail::complete_into(outcome));
    run.run_until(outcome.done);
    return outcome.take();
  } else {
    // co_spawn hands a default-constructed T to the handler on failure; store through a
    // wrapper instead so any movable T works.
    detail::bridge_outcome<void> outcome;
    std::optional<T> value;
    auto store = [](task<T> inner, std::optional<T>& out) -> task<void> {
      out.emplace(co_await std::move(inner));
    };
    boost::asio::co_spawn(run.context(), store(std::move(t), value),
                          detail::complete_into(outcome));
    run.run_until(outcome.done);
    outcome.take();
    return std::move(*value);
  }
}

}  // namespace vial
