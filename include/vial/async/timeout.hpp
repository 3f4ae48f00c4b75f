#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/steady_timer.hpp>

#include "vial/async/error.hpp"
#include "vial/async/gather.hpp"
#include "vial/async/task.hpp"

namespace vial {

/// Suspends the calling coroutine for `d` without blocking its thread.
task<void> sleep_for(std::chrono::steady_clock::duration d);

namespace detail {

/// `with_timeout`, whose error says "<what> timed out after N ms". `what` must outlive the
/// task (a literal, or a local of the awaiting coroutine).
template <class T>
task<T> with_deadline(task<T> t, std::chrono::steady_clock::duration d, std::string_view what) {
  namespace asio = boost::asio;
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer timer(ex, d);
  // wait_for_one: whichever finishes first, success or failure, cancels the other. (Asio's
  // `||` waits for the first success, so a fast failure would hide behind the deadline.)
  auto race = asio::experimental::make_parallel_group(
                  asio::co_spawn(ex, detail::as_valued(std::move(t)), asio::deferred),
                  timer.async_wait(asio::deferred))
                  .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
  auto [order, error, value, timer_ec] = co_await std::move(race);
  (void)timer_ec;
  if (order[0] == 0) {
    if (error) std::rethrow_exception(error);
    if constexpr (std::is_void_v<T>) {
      co_return;
    } else {
      co_return std::move(value);
    }
  }
  throw timeout_error(
      std::string(what) + " timed out after " +
      std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + " ms");
}

}  // namespace detail

/// Runs `t` with a deadline. If `d` passes first, `t` is cancelled (its pending operation
/// ends with `operation_aborted` and every later `co_await` in it throws, so nothing it
/// scheduled after the deadline runs) and `timeout_error` is thrown once it has stopped.
/// Unhandled in a request, `timeout_error` becomes 504.
template <class T>
task<T> with_timeout(task<T> t, std::chrono::steady_clock::duration d) {
  return detail::with_deadline(std::move(t), d, "operation");
}

}  // namespace vial
