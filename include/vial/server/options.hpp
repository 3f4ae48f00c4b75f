#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "vial/detail/sync_callback.hpp"

namespace vial {

/// One line of the access log.
struct access_record {
  std::string remote;  ///< "127.0.0.1:53122", or the client's behind trusted proxies
  std::string method;
  std::string target;
  int status = 0;
  std::size_t bytes = 0;  ///< body bytes sent
  std::chrono::microseconds duration{0};
  std::string request_id;  ///< `request::id()`; empty when refused before dispatch
  std::string referer;     ///< the Referer header, or empty
  std::string user_agent;  ///< the User-Agent header, or empty
  int version = 11;        ///< HTTP version as major*10+minor
};

/// Server settings, set with designated initializers: `{.port = 0, .worker_threads = 4}`.
/// Defaults suit a small service behind nginx; docs/server.md explains each.
struct server_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  ///< 0 picks an ephemeral port; `server::port()` reports it
  /// Threads that run the event loop: accept, reads, writes, timers, and the handlers, inline.
  /// One serves a 2-core machine at nginx's rate; more only scale with more cores.
  std::size_t io_threads = 1;
  /// How many requests may be inside `app.dispatch` at once (a bridged coroutine counts), and
  /// how many standby threads replace event-loop threads blocked in a handler. Standby threads
  /// sleep outside the event loop, so a large value costs no throughput while handlers are
  /// quick (docs/server.md, "How requests are handled"). Size it for blocking handlers.
  std::size_t worker_threads = 8;
  std::size_t max_header_bytes = 16 * 1024;      ///< request line + headers; 431 past it
  std::size_t max_body_bytes = 8 * 1024 * 1024;  ///< 413 past it (routes may override)
  std::size_t max_uri_bytes = 8 * 1024;          ///< 414 past it
  std::size_t max_queued_requests = 1024;        ///< 503 + Retry-After past it
  /// Coroutine requests in flight on the event loop at once (`coroutine_mode::event_loop`);
  /// 503 + Retry-After past it. They hold no thread, so memory is their limit: each costs its
  /// connection and its coroutine frames, a few KiB (docs/server.md).
  std::size_t max_event_loop_requests = 16'384;
  /// Open connections. At the cap the oldest idle keep-alive connections are closed to make
  /// room; when none is idle, accepting pauses until one closes (the listen backlog holds the
  /// rest). An idle connection costs about 3 KiB, a stream in flight about 6.5 KiB
  /// (docs/server.md).
  std::size_t max_connections = 10'000;
  std::chrono::milliseconds header_timeout{10'000};  ///< whole header section; 408 past it
  std::chrono::milliseconds body_timeout{30'000};
  std::chrono::milliseconds keep_alive_timeout{5'000};  ///< idle between requests
  std::chrono::milliseconds write_timeout{30'000};
  std::chrono::milliseconds shutdown_timeout{10'000};  ///< in-flight requests and streams
  /// Connections the kernel completes and queues before the server accepts them. A burst of
  /// clients connecting at once outruns the accepting loop thread, and each SYN dropped by a
  /// full queue costs its client a 1 s retransmission: 4096 holds a burst of 10,000 on one
  /// loop thread (docs/server.md, "Connections"). Linux caps it at net.core.somaxconn.
  int backlog = 4096;
  bool reuse_port = false;  ///< SO_REUSEPORT: several processes share the port
  /// A listening TCP socket the process inherited, used instead of binding `host:port`:
  /// `vial::systemd_listen_fd()` under systemd socket activation; -1 binds. The server owns
  /// the descriptor from `start` on and closes it on stop without draining its queue, so the
  /// service manager, which holds the socket too, keeps the connections that arrive while the
  /// process restarts: none is refused (docs/server.md, "systemd").
  int listen_fd = -1;
  bool handle_signals = true;  ///< `vial::run` stops gracefully on SIGINT/SIGTERM
  /// Free memory the allocator may gain before the server hands it back to the system (with
  /// glibc: `malloc_trim` from a thread of its own, checked every second), and a quarter of it
  /// once the memory has been quiet for 5 s, after a burst; 0 disables. docs/server.md
  /// ("Memory").
  std::size_t memory_trim_threshold = 16 * 1024 * 1024;
  /// With glibc, `start()` fixes malloc's mmap threshold (process-wide) at this size, so blocks
  /// this large (request bodies) go back to the system when freed instead of staying in
  /// per-thread arenas; 0 leaves the allocator's setting alone. docs/server.md ("Memory").
  std::size_t malloc_mmap_threshold = 1024 * 1024;
  /// Receives one record per request, on an I/O thread; null disables the access log. A plain
  /// function returning void (a coroutine would never run, so it does not compile).
  detail::sync_callback<const access_record&> access_log{};
};

}  // namespace vial
