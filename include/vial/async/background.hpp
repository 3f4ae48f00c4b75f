#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "vial/async/task.hpp"
#include "vial/log.hpp"

namespace vial {

/// Where a piece of background work is.
enum class background_state { queued, running, done, failed, abandoned };

/// "queued", "running", "done", "failed", "abandoned".
std::string_view to_string(background_state s) noexcept;

/// How much background work is in each state: queued and running now; done, failed and
/// abandoned since the executor was made.
struct background_counts {
  std::size_t queued = 0;
  std::size_t running = 0;
  std::uint64_t done = 0;
  std::uint64_t failed = 0;
  std::uint64_t abandoned = 0;
};

/// Observes one piece of background work. Cheap to copy; safe from any thread.
class background_handle {
 public:
  struct shared;

  background_handle() = default;
  explicit background_handle(std::shared_ptr<shared> s) : state_(std::move(s)) {}

  /// A process-unique id ("bg-17").
  std::string id() const;
  background_state state() const noexcept;
  /// The failure's message, empty unless `state()` is failed.
  std::string error() const;
  /// Waits until the work finished (done or failed) or `timeout` passed; true when finished.
  bool wait_for(std::chrono::milliseconds timeout) const;
  bool valid() const noexcept { return state_ != nullptr; }

 private:
  std::shared_ptr<shared> state_;
};

/// Runs work that must outlive the request that started it (sending an email, warming a
/// cache) on threads of its own, never on a request's private context. Exceptions are logged
/// with the work's name, never silently dropped. `drain` is the graceful stop.
/// Distinct objects: safe. Shared objects: safe.
class background_executor {
 public:
  /// `threads` threads run the work; coroutine work interleaves on them.
  explicit background_executor(std::size_t threads = 1, const logger* log = nullptr);
  /// Drains with a zero deadline: pending work is abandoned and reported.
  ~background_executor();
  background_executor(const background_executor&) = delete;
  background_executor& operator=(const background_executor&) = delete;

  /// Starts a coroutine. `name` appears in logs.
  background_handle spawn(task<void> work, std::string name = {});
  /// Runs a plain function on one of the executor's threads.
  background_handle submit(std::function<void()> work, std::string name = {});
  /// Runs any callable taking no arguments: a plain function (`void()`) runs on one of the
  /// executor's threads; a coroutine (`task<void>()`) is started, and the executor keeps the
  /// callable, with its captures, alive until the coroutine finished. A callable returning
  /// anything else does not compile, since nothing would read its result.
  template <class F>
    requires(!is_task_v<std::remove_cvref_t<F>> &&
             !std::is_same_v<std::remove_cvref_t<F>, std::function<void()>>)
  background_handle submit(F&& work, std::string name = {});

  /// Stops accepting work and waits up to `deadline` for what is queued or running. Work still
  /// unfinished is cancelled, marked abandoned and logged; returns how many were abandoned.
  /// Later `spawn`/`submit` calls throw std::logic_error.
  std::size_t drain(std::chrono::milliseconds deadline);

  /// Work accepted and not yet finished.
  std::size_t pending() const noexcept;
  /// Work by state (a snapshot, for metrics).
  background_counts counts() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

namespace detail {

// Owns `f` in the coroutine's frame: the coroutine `f()` returns refers to `f` (its captures,
// its `this`), so `f` must outlive it.
template <class F>
task<void> run_owning(F f) {
  auto op = f();
  co_await std::move(op);
}

}  // namespace detail

template <class F>
  requires(!is_task_v<std::remove_cvref_t<F>> &&
           !std::is_same_v<std::remove_cvref_t<F>, std::function<void()>>)
background_handle background_executor::submit(F&& work, std::string name) {
  using D = std::remove_cvref_t<F>;
  if constexpr (!std::is_invocable_v<D&>) {
    static_assert(std::is_invocable_v<D&>,
                  "this callable does not take the arguments of its slot: background work is "
                  "called as f() and returns void or vial::task<void>");
    return {};
  } else {
    using R = std::invoke_result_t<D&>;
    if constexpr (std::is_same_v<R, task<void>>) {
      return spawn(detail::run_owning<D>(std::forward<F>(work)), std::move(name));
    } else if constexpr (std::is_void_v<R>) {
      // std::function needs a copyable callable; a shared one lets move-only work through.
      auto shared = std::make_shared<D>(std::forward<F>(work));
      return submit(std::function<void()>([shared] { (*shared)(); }), std::move(name));
    } else {
      static_assert(std::is_void_v<R> || std::is_same_v<R, task<void>>,
                    "background work returns void or vial::task<void>: nothing would read "
                    "what this one returns (store or log the result inside the work)");
      return {};
    }
  }
}

}  // namespace vial
