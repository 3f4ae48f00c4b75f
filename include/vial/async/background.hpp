#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "vial/async/task.hpp"
#include "vial/log.hpp"

namespace vial {

/// Where a piece of background work is.
enum class background_state { queued, running, done, failed, abandoned };

/// "queued", "running", "done", "failed", "abandoned".
std::string_view to_string(background_state s) noexcept;

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

  /// Stops accepting work and waits up to `deadline` for what is queued or running. Work still
  /// unfinished is cancelled, marked abandoned and logged; returns how many were abandoned.
  /// Later `spawn`/`submit` calls throw std::logic_error.
  std::size_t drain(std::chrono::milliseconds deadline);

  /// Work accepted and not yet finished.
  std::size_t pending() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace vial
