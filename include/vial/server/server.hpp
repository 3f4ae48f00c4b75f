#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

#include "vial/server/options.hpp"

namespace vial {

class app;

/// An HTTP/1.1 server for one `app`: accepts on `options.host:options.port`, reads and parses
/// requests on I/O threads, and answers each complete request with `app.dispatch`. At most
/// `options.worker_threads` requests are inside `dispatch` at once; an idle keep-alive
/// connection holds no thread. docs/server.md describes the options and the limits.
///
/// Lifetime: the app must outlive the server. The destructor stops a running server.
/// Thread-safety: `start`, `stop` and `wait` may be called from any thread, but not from inside
/// a request handler (stop waits for in-flight requests). `port` and `running` are safe
/// anywhere.
class server {
 public:
  server(vial::app& app, server_options options = {});
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Binds and listens, runs `app.startup()`, then starts the threads. Returns once the socket
  /// accepts connections.
  /// @throws std::system_error when the address cannot be bound; `std::logic_error` when the
  /// server was already started; whatever a startup hook throws.
  void start();
  /// The bound port (the ephemeral one when `options.port` was 0); 0 before `start`.
  std::uint16_t port() const noexcept;
  /// Graceful stop: stops accepting, closes idle connections, lets in-flight requests and
  /// streams finish for up to `options.shutdown_timeout` (then closes them), stops the threads
  /// and runs `app.shutdown()`. Idempotent; returns when everything is done.
  void stop();
  /// Blocks until the server has stopped (by `stop` from another thread).
  void wait();
  /// What a serving `main` does: starts, calls `on_started` (to print the port, say), serves
  /// until SIGINT or SIGTERM, then stops gracefully. The signal handlers are installed before
  /// `start`, so a supervisor that signals as soon as it reads the port never kills the
  /// process mid-start. `vial::run` is this with a server it owns.
  /// @returns the signal received.
  /// @throws what `start` throws; what `on_started` throws, after stopping the server.
  int run_until_signal(const std::function<void(const server&)>& on_started = {});
  /// The same with any callable returning void (a coroutine would never run: it does not
  /// compile).
  template <class F>
    requires(!std::is_same_v<std::remove_cvref_t<F>, std::function<void(const server&)>>)
  int run_until_signal(F&& on_started) {
    return run_until_signal(std::function<void(const server&)>(
        detail::sync_callback<const server&>(std::forward<F>(on_started))));
  }
  /// True between `start` and the end of `stop`.
  bool running() const noexcept;
  const server_options& options() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Serves `app` until SIGINT/SIGTERM (or a server stop), then shuts down gracefully: stops
/// accepting, finishes in-flight requests, drains background work, runs shutdown hooks. Runs
/// the startup hooks first. Flask's `app.run()`; it lives here so that the app module does not
/// depend on the server: `vial::run(app, {.port = 8080})`.
/// @throws what `server::start` throws.
void run(app& app, const server_options& options = {});

/// The listening socket systemd passed to this process (socket activation, sd_listen_fds(3)):
/// 3 when `LISTEN_PID` names this process and `LISTEN_FDS` is at least 1, else -1. Unsets
/// those variables either way, so a process started from this one does not take the socket.
/// For `server_options::listen_fd`.
int systemd_listen_fd();

}  // namespace vial
