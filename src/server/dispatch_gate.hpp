#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>

#include <boost/asio/io_context.hpp>

namespace vial::server_detail {

/// Admission control for blocking work (app.dispatch, sync stream chunks) on the I/O threads.
///
/// The thread that completes a request runs dispatch inline when fewer than `slots` requests are
/// being dispatched, so the common case crosses no thread. Otherwise the work waits in a bounded
/// queue; a thread releasing its slot posts a drain that runs the next queued job. Jobs run while
/// holding a slot and must call `release()` when their blocking part is over.
/// Distinct objects: safe. Shared objects: safe.
class dispatch_gate {
 public:
  dispatch_gate(boost::asio::io_context& ioc, std::size_t slots, std::size_t max_queued);

  /// Takes a slot when one is free. The caller runs its work, then calls `release()`.
  bool try_acquire() noexcept;
  /// Gives a slot back and wakes a queued job if any.
  void release();
  /// Queues `job` to run when a slot frees (the job holds that slot and releases it).
  /// Returns false, without queueing, when `bounded` and the queue is full.
  bool enqueue(std::function<void()> job, bool bounded);
  /// Drops queued jobs (server stop).
  void clear();

  std::size_t queued() const noexcept { return queued_.load(); }
  /// Slots taken now (a snapshot: a failed `try_acquire` may count for an instant).
  std::size_t busy() const noexcept { return std::min(busy_.load(), slots_); }
  std::size_t slots() const noexcept { return slots_; }

 private:
  void drain();

  boost::asio::io_context& ioc_;
  const std::size_t slots_;
  const std::size_t max_queued_;
  std::atomic<std::size_t> busy_{0};
  std::atomic<std::size_t> queued_{0};
  std::mutex mutex_;
  std::deque<std::function<void()>> jobs_;
};

}  // namespace vial::server_detail
