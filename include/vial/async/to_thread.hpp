#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include "vial/async/error.hpp"
#include "vial/async/task.hpp"

namespace vial {

/// A fixed set of threads for blocking work (SQLite, file I/O, sync libraries), so coroutines
/// can wait for it without blocking their own thread. Work beyond the thread count waits in a
/// queue of at most `max_queued` entries. Past that `try_submit` refuses work, and `to_thread`
/// fails at once with `overload_error` (503 in a request) rather than letting waiting requests
/// pile up, each holding a server worker, until the whole server stops answering.
/// Distinct objects: safe. Shared objects: safe.
class blocking_pool {
 public:
  static constexpr std::size_t unbounded = std::numeric_limits<std::size_t>::max();

  explicit blocking_pool(std::size_t threads, std::size_t max_queued = unbounded);
  /// Waits for queued and running work to finish, then joins the threads.
  ~blocking_pool();
  blocking_pool(const blocking_pool&) = delete;
  blocking_pool& operator=(const blocking_pool&) = delete;

  /// Queues `work` to run on one of the pool's threads, however long the queue. `work` must not
  /// throw.
  void submit(std::function<void()> work);
  /// Queues `work` unless it would wait behind `max_queued()` others; false (and `work`
  /// dropped) then. `work` must not throw.
  bool try_submit(std::function<void()> work);
  std::size_t size() const noexcept;
  std::size_t max_queued() const noexcept;
  /// Work waiting for a thread now (a snapshot: for metrics and tests).
  std::size_t queued() const;
  /// Threads running work, or about to (a snapshot).
  std::size_t busy() const;
  /// `try_submit` calls refused because the queue was full, since construction.
  std::uint64_t overloads() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// The pool `to_thread` uses on this thread: the one the current bridge run was given, else a
/// process-wide pool of max(4, hardware threads) created on first use.
blocking_pool& current_blocking_pool();

namespace detail {
/// Keeps the calling bridge run's context alive while work on another thread (the blocking
/// pool, the HTTP client's thread) may still post back to it: a post signals the context after
/// releasing its lock, so the context must outlive the poster, not just the completion.
/// Null outside a bridge run.
std::shared_ptr<void> retain_bridge_context();
/// "blocking pool saturated: 8 of 8 threads busy, 256 queued (limit 256)".
std::string saturated_message(const blocking_pool& pool);
}  // namespace detail

namespace detail {

// GCC 12 destroys a temporary that owns memory twice when it is created inside a co_await
// expression (docs/design.md, "Coroutine temporaries"), and a callee cannot tell whether its
// argument was such a temporary. With that compiler `to_thread` therefore takes a callable that
// owns memory only by name.
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
inline constexpr bool temporaries_destroyed_twice = true;
#else
inline constexpr bool temporaries_destroyed_twice = false;
#endif

template <class F>
inline constexpr bool safe_callable_argument_v =
    !temporaries_destroyed_twice || std::is_lvalue_reference_v<F> ||
    std::is_trivially_destructible_v<std::remove_cvref_t<F>>;

template <class F>
auto to_thread_on(blocking_pool& pool, F fn) -> task<std::invoke_result_t<F&>> {
  using R = std::invoke_result_t<F&>;
  using value_type = std::conditional_t<std::is_void_v<R>, std::monostate, R>;
  auto keep_alive = detail::retain_bridge_context();
  // Named, not a temporary inside the co_await expression: GCC 12 destroys such temporaries
  // twice (see docs/design.md, "Coroutine temporaries").
  auto initiation = [&pool, &fn, keep_alive](auto handler) mutable {
    using handler_type = decltype(handler);
    auto ex = boost::asio::get_associated_executor(handler);
    using work_type = decltype(boost::asio::make_work_guard(ex));
    // Whoever completes first (the work, or a cancellation) owns the handler and the work
    // guard, and releases both on the awaiting coroutine's own thread, so the bridge never
    // sees work still counted after the coroutine resumed.
    struct state {
      std::atomic<bool> completed{false};
      std::optional<handler_type> handler;
      std::optional<work_type> work;
    };
    auto st = std::make_shared<state>();
    st->work.emplace(boost::asio::make_work_guard(ex));
    st->handler.emplace(std::move(handler));
    auto complete = [](std::shared_ptr<state> s, std::exception_ptr error, value_type value) {
      auto h = std::move(*s->handler);
      s->handler.reset();
      auto w = std::move(*s->work);
      s->work.reset();
      std::move(h)(error, std::move(value));
    };
    auto slot = boost::asio::get_associated_cancellation_slot(*st->handler);
    if (slot.is_connected()) {
      slot.assign([st, ex, complete](boost::asio::cancellation_type) mutable {
        if (st->completed.exchange(true)) return;
        boost::asio::post(ex, [st, complete] {
          complete(st,
                   std::make_exception_ptr(
                       boost::system::system_error(boost::asio::error::operation_aborted)),
                   value_type{});
        });
      });
    }
    auto job = [keep_alive, st, ex, complete, fn = std::move(fn)]() mutable {
      // Cancelled while queued: the caller has moved on (a 504 went out), so doing the work
      // now would be a write nobody is told about.
      if (st->completed.load()) return;
      std::exception_ptr error;
      value_type value{};
      try {
        if constexpr (std::is_void_v<R>) {
          fn();
        } else {
          value = fn();
        }
      } catch (...) {
        error = std::current_exception();
      }
      if (st->completed.exchange(true)) return;  // cancelled: the result is discarded
      // The exception is moved, not copied, so its last reference is dropped on the caller's
      // thread after it was read there (ThreadSanitizer cannot see libstdc++'s refcount).
      boost::asio::post(
          ex, [st, complete, error = std::move(error), value = std::move(value)]() mutable {
            complete(st, std::move(error), std::move(value));
          });
    };
    if (!pool.try_submit(std::move(job))) {
      if (st->completed.exchange(true)) return;
      boost::asio::post(ex, [st, complete, message = detail::saturated_message(pool)] {
        complete(st, std::make_exception_ptr(overload_error(message)), value_type{});
      });
    }
  };
  auto op = boost::asio::async_initiate<decltype(boost::asio::use_awaitable),
                                        void(std::exception_ptr, value_type)>(
      std::move(initiation), boost::asio::use_awaitable);
  auto result = co_await std::move(op);
  if constexpr (!std::is_void_v<R>) co_return std::move(result);
}

}  // namespace detail

/// Runs `fn()` on `pool` and resumes the awaiting coroutine with its result (or exception):
/// asgiref's sync_to_async. If the awaiting coroutine is cancelled (a timeout), it resumes at
/// once with `operation_aborted`: `fn` is then skipped if it had not started yet, and otherwise
/// runs to the end (it cannot be interrupted) with its result discarded. `fn` is copied (or
/// moved) before anything runs.
/// With GCC 12, a callable that owns memory (a lambda capturing a `std::string` by value) must
/// be passed by name: `auto work = [s] { ... }; co_await vial::to_thread(work);`.
/// @throws overload_error when the pool's queue is full; `fn` is not run.
template <class F>
auto to_thread(blocking_pool& pool, F&& fn) -> task<std::invoke_result_t<std::decay_t<F>&>> {
  // Run on a pool thread, a coroutine would only be created there and handed back unstarted.
  static_assert(!is_task_v<std::invoke_result_t<std::decay_t<F>&>>,
                "to_thread runs blocking code, and this callable is a coroutine: co_await the "
                "task it returns instead");
  static_assert(detail::safe_callable_argument_v<F>,
                "with GCC 12, pass a callable that owns memory to to_thread by name: GCC 12 "
                "destroys such a temporary twice inside co_await. Write `auto work = [...] "
                "{ ... }; co_await vial::to_thread(work);`");
  return detail::to_thread_on(pool, std::decay_t<F>(std::forward<F>(fn)));
}

/// `to_thread` on `current_blocking_pool()`.
template <class F>
auto to_thread(F&& fn) -> task<std::invoke_result_t<std::decay_t<F>&>> {
  return to_thread(current_blocking_pool(), std::forward<F>(fn));
}

}  // namespace vial
