#pragma once

#include <chrono>
#include <string>
#include <type_traits>
#include <utility>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>

#include "vial/async/error.hpp"
#include "vial/async/task.hpp"

namespace vial {

/// Suspends the calling coroutine for `d` without blocking its thread.
task<void> sleep_for(std::chrono::steady_clock::duration d);

/// Runs `t` with a deadline. If `d` passes first, `t` is cancelled (its pending operation
/// ends with `operation_aborted` and every later `co_await` in it throws, so nothing it
/// scheduled after the deadline runs) and `timeout_error` is thrown once it has stopped.
/// Unhandled in a request, `timeout_error` becomes 504.
template <class T>
task<T> with_timeout(task<T> t, std::chrono::steady_clock::duration d) {
  using namespace boost::asio::experimental::awaitable_operators;
  boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, d);
  auto race = std::move(t) || timer.async_wait(boost::asio::use_awaitable);
  auto result = co_await std::move(race);
  if (result.index() == 1) {
    throw timeout_error("operation timed out after " +
                        std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) +
                        " ms");
  }
  if constexpr (!std::is_void_v<T>) co_return std::move(std::get<0>(result));
}

}  // namespace vial
