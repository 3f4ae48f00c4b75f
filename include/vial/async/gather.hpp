#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <exception>
#include <memory>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>

#include "vial/async/task.hpp"

namespace vial {

/// One task's outcome in `gather_settled`: its value or its exception (asyncio's
/// `return_exceptions=True`). `void` tasks settle to `std::monostate`.
template <class T>
class settled {
 public:
  explicit settled(T value) : state_(std::move(value)) {}
  explicit settled(std::exception_ptr error) : state_(std::move(error)) {}

  bool has_value() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }
  /// The value; rethrows the task's exception if it failed.
  T& value() {
    if (!has_value()) std::rethrow_exception(std::get<1>(state_));
    return std::get<0>(state_);
  }
  /// The exception, or null when the task succeeded.
  std::exception_ptr error() const noexcept { return has_value() ? nullptr : std::get<1>(state_); }

 private:
  std::variant<T, std::exception_ptr> state_;
};

namespace detail {

template <class T>
using value_or_monostate = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

/// Gives every task a (exception_ptr, value) completion so they can share one parallel group.
template <class T>
task<value_or_monostate<T>> as_valued(task<T> t) {
  if constexpr (std::is_void_v<T>) {
    co_await std::move(t);
    co_return std::monostate{};
  } else {
    co_return co_await std::move(t);
  }
}

template <class Tuple, std::size_t... I>
auto gather_values(Tuple& results, std::index_sequence<I...>) {
  // results = (order, e0, v0, e1, v1, ...): rethrow the first failure in completion order.
  const auto& order = std::get<0>(results);
  std::array<std::exception_ptr, sizeof...(I)> errors{std::get<1 + 2 * I>(results)...};
  for (std::size_t index : order) {
    if (errors[index]) std::rethrow_exception(errors[index]);
  }
  return std::make_tuple(std::move(std::get<2 + 2 * I>(results))...);
}

template <class Tuple, std::size_t... I>
auto settle_values(Tuple& results, std::index_sequence<I...>) {
  auto one = [](std::exception_ptr e, auto& v) {
    using V = std::decay_t<decltype(v)>;
    return e ? settled<V>(std::move(e)) : settled<V>(std::move(v));
  };
  return std::make_tuple(one(std::get<1 + 2 * I>(results), std::get<2 + 2 * I>(results))...);
}

/// The tuple forms' group: every task spawned on `ex` with a (exception_ptr, value)
/// completion, awaited under `condition`.
template <class Condition, class... T>
auto wait_valued(const boost::asio::any_io_executor& ex, Condition condition, task<T>... tasks) {
  namespace asio = boost::asio;
  return asio::experimental::make_parallel_group(
             asio::co_spawn(ex, as_valued(std::move(tasks)), asio::deferred)...)
      .async_wait(condition, asio::use_awaitable);
}

}  // namespace detail

/// Runs the tasks concurrently and returns their values in argument order (asyncio.gather).
/// The first exception cancels the other tasks, then is rethrown once they have stopped.
/// `void` tasks give `std::monostate`.
template <class... T>
task<std::tuple<detail::value_or_monostate<T>...>> gather(task<T>... tasks) {
  namespace asio = boost::asio;
  auto ex = co_await asio::this_coro::executor;
  auto wait =
      detail::wait_valued(ex, asio::experimental::wait_for_one_error(), std::move(tasks)...);
  auto results = co_await std::move(wait);
  co_return detail::gather_values(results, std::index_sequence_for<T...>{});
}

/// Like `gather`, but every task runs to the end and each outcome is returned.
template <class... T>
task<std::tuple<settled<detail::value_or_monostate<T>>...>> gather_settled(task<T>... tasks) {
  namespace asio = boost::asio;
  auto ex = co_await asio::this_coro::executor;
  auto wait = detail::wait_valued(ex, asio::experimental::wait_for_all(), std::move(tasks)...);
  auto results = co_await std::move(wait);
  co_return detail::settle_values(results, std::index_sequence_for<T...>{});
}

namespace detail {

/// The vector forms' lanes: runs `step(i)` for every i below `n`, at most `limit` at a time
/// (0: all at once), each lane taking the next index when its step is done. Returns the
/// parallel group's completion order and the lanes' errors (empty when `n` is 0).
using lanes_result = std::pair<std::vector<std::size_t>, std::vector<std::exception_ptr>>;

template <class Step, class Condition>
task<lanes_result> run_in_lanes(std::size_t n, std::size_t limit, Step& step, Condition condition) {
  namespace asio = boost::asio;
  std::size_t next = 0;  // lanes share one executor: no data race
  auto lane = [&]() -> task<void> {
    for (std::size_t i = next++; i < n; i = next++) {
      auto one = step(i);
      co_await std::move(one);
    }
  };
  const std::size_t lanes = (limit == 0 || limit > n) ? n : limit;
  auto ex = co_await asio::this_coro::executor;
  using op_type = decltype(asio::co_spawn(ex, lane(), asio::deferred));
  std::vector<op_type> ops;
  ops.reserve(lanes);
  for (std::size_t i = 0; i < lanes; ++i) ops.push_back(asio::co_spawn(ex, lane(), asio::deferred));
  if (ops.empty()) co_return lanes_result{};
  auto wait = asio::experimental::make_parallel_group(std::move(ops))
                  .async_wait(condition, asio::use_awaitable);
  auto [order, errors] = co_await std::move(wait);
  co_return lanes_result{std::move(order), std::move(errors)};
}

}  // namespace detail

/// Runs a range of tasks, at most `limit` at a time (0: all at once), and returns their values
/// in order. The first exception cancels the rest and is rethrown.
template <class T>
task<std::vector<detail::value_or_monostate<T>>> gather(std::vector<task<T>> tasks,
                                                        std::size_t limit = 0) {
  using V = detail::value_or_monostate<T>;
  std::vector<std::optional<V>> slots(tasks.size());
  auto step = [&](std::size_t i) -> task<void> {
    auto one = detail::as_valued(std::move(tasks[i]));
    slots[i].emplace(co_await std::move(one));
  };
  auto run = detail::run_in_lanes(tasks.size(), limit, step,
                                  boost::asio::experimental::wait_for_one_error());
  auto [order, errors] = co_await std::move(run);
  for (std::size_t index : order) {
    if (errors[index]) std::rethrow_exception(errors[index]);
  }
  std::vector<V> out;
  out.reserve(slots.size());
  for (auto& s : slots) out.push_back(std::move(*s));
  co_return out;
}

/// Runs a range of tasks, at most `limit` at a time (0: all at once); every task runs to the
/// end and each outcome is returned in order.
template <class T>
task<std::vector<settled<detail::value_or_monostate<T>>>> gather_settled(std::vector<task<T>> tasks,
                                                                         std::size_t limit = 0) {
  using V = detail::value_or_monostate<T>;
  std::vector<std::optional<settled<V>>> slots(tasks.size());
  auto step = [&](std::size_t i) -> task<void> {
    try {
      auto one = detail::as_valued(std::move(tasks[i]));
      slots[i].emplace(co_await std::move(one));
    } catch (...) {
      slots[i].emplace(std::current_exception());
    }
  };
  auto run =
      detail::run_in_lanes(tasks.size(), limit, step, boost::asio::experimental::wait_for_all());
  co_await std::move(run);
  std::vector<settled<V>> out;
  out.reserve(slots.size());
  for (auto& s : slots) out.push_back(std::move(*s));
  co_return out;
}

}  // namespace vial
