#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "vial/log.hpp"

namespace vial::server_detail {

/// The server's threads: `io_threads` run the event loop, the others stand by.
///
/// Handlers run inline on the loop thread that completed the request, so the usual request
/// crosses no thread. Standby threads sleep on a condition variable of their own, outside
/// Asio's scheduler: idle workers cost the event loop nothing (threads waiting in the scheduler
/// are woken for work another thread would have run, and slow every request down).
///
/// A monitor thread (like Go's sysmon) looks at every thread's slot once per `tick`. A thread
/// found inside the same handler as at the previous look and asleep in the kernel (not merely
/// preempted: on a busy machine a loop thread is often descheduled mid-handler) has blocked:
/// a standby thread joins the loop in its place, so `io_threads` threads stay free for I/O
/// while handlers block. A handler that computes for `cpu_ticks` ticks is replaced as well.
/// When there are more free loop threads than `io_threads` again, the monitor posts "park"
/// handlers to the loop; the thread that runs one goes back to standby inside it (a plain
/// posted handler, never a connection's strand, so nothing waits behind it).
///
/// The monitor sleeps when nothing happened for a while; the next handler wakes it.
/// Distinct objects: safe. Shared objects: `handler_scope` from any thread; the rest from the
/// owner.
class server_threads {
 public:
  server_threads(boost::asio::io_context& ioc, std::size_t io_threads, std::size_t standby,
                 const logger& log, std::chrono::microseconds tick = std::chrono::milliseconds(1));
  ~server_threads();
  server_threads(const server_threads&) = delete;
  server_threads& operator=(const server_threads&) = delete;

  void start();
  /// Stops the context, wakes every standby thread and joins all threads (a thread of this
  /// pool calling it is detached instead).
  void stop();

  /// Marks the calling thread as inside a handler that may block, for its lifetime. Two
  /// stores to the thread's own slot; nothing on a thread that is not one of a pool's.
  class handler_scope {
   public:
    handler_scope() noexcept;
    ~handler_scope();
    handler_scope(const handler_scope&) = delete;
    handler_scope& operator=(const handler_scope&) = delete;
  };

  /// Threads in the loop (blocked or not), and threads in standby.
  struct counts {
    std::size_t running = 0;
    std::size_t standby = 0;
  };
  counts snapshot() const;

 private:
  struct alignas(64) slot {
    std::atomic<std::uint64_t> state{0};  // handlers entered + left: odd while inside one
    std::uint64_t seen = 0;               // the monitor's previous look
    std::size_t same = 0;                 // looks that found it in the same handler
    bool blocked = false;                 // counted blocked until it leaves that handler
    std::atomic<int> tid{0};              // the kernel's id of the thread, to read its state
    server_threads* owner = nullptr;
  };

  void thread_main(std::size_t index);
  bool wait_for_turn(std::unique_lock<std::mutex>& lock);
  void park();
  void monitor();
  void wake_monitor();

  boost::asio::io_context& ioc_;
  const std::size_t io_threads_;
  const std::size_t total_;
  const logger& log_;
  const std::chrono::microseconds tick_;
  std::unique_ptr<slot[]> slots_;
  std::vector<std::thread> threads_;
  std::thread monitor_;

  mutable std::mutex mutex_;
  std::condition_variable standby_cv_;
  std::condition_variable monitor_cv_;
  std::size_t running_ = 0;  // in the loop, including threads blocked in a handler
  std::size_t standby_ = 0;  // waiting for a turn
  std::size_t turns_ = 0;    // wake-ups granted, not yet taken
  std::size_t parks_ = 0;    // park handlers posted, not yet run
  bool stopping_ = false;
  std::atomic<bool> monitor_asleep_{false};
};

}  // namespace vial::server_detail
