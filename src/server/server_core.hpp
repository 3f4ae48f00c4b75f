#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <unordered_set>

#include <boost/asio/io_context.hpp>

#include "dispatch_gate.hpp"
#include "vial/server/options.hpp"

namespace vial {
class app;
}

namespace vial::server_detail {

class connection;

/// What every connection of one server shares: the app, the options, the I/O context, the
/// dispatch gate and the registry of live connections (for graceful stop).
struct server_core {
  server_core(vial::app& a, server_options o, int thread_count)
      : app(a),
        options(std::move(o)),
        gate(ioc, options.worker_threads, options.max_queued_requests),
        ioc(thread_count) {}
  ~server_core() { gate.clear(); }

  void add(connection* c) {
    std::lock_guard lock(mutex);
    connections.insert(c);
  }
  void remove(connection* c) {
    {
      std::lock_guard lock(mutex);
      connections.erase(c);
      closing.erase(c);
      if (connections.empty()) drained.notify_all();
    }
    wake_acceptor();
  }
  /// A connection asked to close to make room received a request first and stays open.
  void kept(connection* c) {
    {
      std::lock_guard lock(mutex);
      closing.erase(c);
    }
    wake_acceptor();
  }

  /// True, and the acceptor waits for `wake_acceptor`, when `max_connections` are open.
  bool full() {
    std::lock_guard lock(mutex);
    if (connections.size() < std::max<std::size_t>(1, options.max_connections)) return false;
    waiting_for_room = true;
    return true;
  }
  /// A connection closed or went idle: a waiting acceptor tries again (from any thread).
  void wake_acceptor() {
    if (waiting_for_room.load() && waiting_for_room.exchange(false) && !stopping.load() &&
        room_available) {
      room_available();
    }
  }

  vial::app& app;
  const server_options options;
  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> loop_requests{0};  // in flight on the event loop
  // Refused with 503 before reaching the app, for metrics.
  std::atomic<std::uint64_t> queue_full_refusals{0};       // the dispatch queue was full
  std::atomic<std::uint64_t> event_loop_full_refusals{0};  // max_event_loop_requests reached
  std::atomic<bool> waiting_for_room{false};
  std::function<void()> room_available;  // set before the first accept; resumes accepting
  std::mutex mutex;
  std::condition_variable drained;
  std::unordered_set<connection*> connections;
  // Asked to close to make room and not gone yet: until they are, no more are asked, or every
  // wake-up while they close would close another one.
  std::unordered_set<connection*> closing;
  // Destroyed before the members above, in this order: queued jobs first, then the context
  // (whose pending handlers own connections that unregister themselves above).
  dispatch_gate gate;
  boost::asio::io_context ioc;
};

}  // namespace vial::server_detail
