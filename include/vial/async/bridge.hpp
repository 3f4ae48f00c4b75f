#pragma once

#include <exception>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/cancellation_state.hpp>

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
  const boost::asio::any_io_executor& executor() const noexcept { return *executor_; }
  /// Runs ready handlers, waiting when there are none, until `done` is set.
  void run_until(const bool& done);

 private:
  boost::asio::io_context* context_;
  const boost::asio::any_io_executor* executor_;
  bridge_options options_;
  blocking_pool* previous_pool_;
};

/// Where a bridge run's root coroutine leaves its outcome.
template <class T>
struct bridge_outcome {
  bool done = false;
  std::exception_ptr error;
  std::optional<T> value;

  T take() {
    if (error) std::rethrow_exception(error);
    return std::move(*value);
  }
};

template <>
struct bridge_outcome<void> {
  bool done = false;
  std::exception_ptr error;

  void take() {
    if (error) std::rethrow_exception(error);
  }
};

using root_frame =
    boost::asio::awaitable<boost::asio::detail::awaitable_thread_entry_point,
                           boost::asio::any_io_executor>;

/// The bottom frame of a bridge run: creates the task, awaits it and records the outcome.
/// It takes the place of `co_spawn`'s entry point, which first dispatches to the context,
/// posts again before completing so the handler never runs inline, and keeps two work
/// guards: here the caller waits on `done` in the same thread, so none of that is needed,
/// and a task that never suspends completes inside `launch` without touching the scheduler.
template <class T, class F>
root_frame bridge_root(F& make_task, bridge_outcome<T>& out) {
  try {
    auto t = make_task();
    if constexpr (std::is_void_v<T>) {
      co_await std::move(t);
    } else {
      T v = co_await std::move(t);
      out.value.emplace(std::move(v));
    }
  } catch (...) {
    out.error = std::current_exception();
  }
  out.done = true;
}

/// `async_to_sync(make_task())`, but `make_task` is called inside the run, so the coroutine
/// frames it creates come from Asio's per-thread recycling allocator instead of the heap.
template <class F>
auto bridge_call(F&& make_task, const bridge_options& options)
    -> task_value_t<std::invoke_result_t<F&>> {
  using T = task_value_t<std::invoke_result_t<F&>>;
  bridge_run run(options);
  bridge_outcome<T> outcome;
  // Runs the task inline until it first suspends; its pending operations then own it.
  boost::asio::detail::awaitable_thread<boost::asio::any_io_executor>(
      bridge_root<T>(make_task, outcome), run.executor(),
      boost::asio::cancellation_slot(), boost::asio::cancellation_state())
      .launch();
  if (!outcome.done) run.run_until(outcome.done);
  return outcome.take();
}

}  // namespace detail

template <class T>
T async_to_sync(task<T> t, const bridge_options& options) {
  return detail::bridge_call([&t]() -> task<T> { return std::move(t); }, options);
}

}  // namespace vial
