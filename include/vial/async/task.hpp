#pragma once

#include <type_traits>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace vial {

/// A coroutine returning `T`: any Asio operation, timer or vial helper can be awaited inside.
/// Write handlers as `vial::task<std::string> f(vial::request& req) { co_return "hi"; }`.
template <class T = void>
using task = boost::asio::awaitable<T>;

/// True for `task<T>`.
template <class T>
inline constexpr bool is_task_v = false;
template <class T, class Executor>
inline constexpr bool is_task_v<boost::asio::awaitable<T, Executor>> = true;

/// The value type of a task (`T` for `task<T>`).
template <class T>
struct task_value;
template <class T, class Executor>
struct task_value<boost::asio::awaitable<T, Executor>> {
  using type = T;
};
template <class T>
using task_value_t = typename task_value<T>::type;

/// Satisfied by callables that are coroutines, i.e. return a `task<...>` for these arguments.
template <class F, class... Args>
concept coroutine_callable =
    std::is_invocable_v<F, Args...> && is_task_v<std::invoke_result_t<F, Args...>>;

}  // namespace vial
