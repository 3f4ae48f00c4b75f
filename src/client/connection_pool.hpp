#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "vial/async/task.hpp"

namespace vial::detail {

/// One open connection to an upstream, plain or TLS, with its read buffer.
struct connection {
  std::unique_ptr<boost::beast::tcp_stream> plain;
  std::unique_ptr<boost::beast::ssl_stream<boost::beast::tcp_stream>> tls;
  boost::beast::flat_buffer buffer;
  std::chrono::steady_clock::time_point idle_since;

  boost::beast::tcp_stream& lowest() noexcept {
    return tls ? boost::beast::get_lowest_layer(*tls) : *plain;
  }
  /// Closes the socket without a TLS close_notify (the peer sees a TCP close).
  void close() noexcept;
};

struct host_pool;
class connection_pool;

/// The right to use one connection slot of a host: either a pooled connection (`reused()`) or
/// permission to open a new one into `conn`. Destroying a lease without `give_back()` closes
/// the connection and frees the slot, so an exception or a cancellation never leaks one.
class lease {
 public:
  lease() = default;
  lease(connection_pool* owner, host_pool* pool, std::unique_ptr<connection> conn);
  lease(lease&& other) noexcept;
  lease& operator=(lease&&) = delete;
  ~lease();

  bool reused() const noexcept { return reused_; }
  std::unique_ptr<connection> conn;
  /// Returns the connection to the pool for reuse (it must be healthy and idle).
  void give_back();

 private:
  connection_pool* owner_ = nullptr;
  host_pool* pool_ = nullptr;
  bool reused_ = false;
};

/// Bounded keep-alive pools keyed by "scheme://host:port". Used only on the client's thread.
class connection_pool {
 public:
  /// `max_wait`: how long `acquire` waits for a full host's pool before it fails with
  /// `client_errc::pool_exhausted`.
  connection_pool(boost::asio::io_context& ioc, std::size_t per_host,
                  std::chrono::milliseconds idle_timeout, std::chrono::milliseconds max_wait);
  ~connection_pool();

  /// A slot for `key`, waiting (cancellably, in arrival order) while the host's pool is full.
  /// @throws client_error (`pool_exhausted`) when none frees within `max_wait`.
  task<lease> acquire(const std::string& key);
  /// Closes idle connections older than the idle timeout.
  void sweep();
  /// Closes every idle connection and fails every waiter with operation_aborted.
  void shutdown();
  std::size_t idle_count() const noexcept { return idle_count_.load(); }
  /// Slots leased now (a connection in use, or being opened), for metrics.
  std::size_t in_use_count() const noexcept { return in_use_count_.load(); }

 private:
  friend class lease;
  void release(host_pool& pool, std::unique_ptr<connection> conn, bool reusable);

  boost::asio::io_context& ioc_;
  std::size_t per_host_;
  std::chrono::milliseconds idle_timeout_;
  std::chrono::milliseconds max_wait_;
  std::map<std::string, std::unique_ptr<host_pool>> pools_;
  std::atomic<std::size_t> idle_count_{0};
  std::atomic<std::size_t> in_use_count_{0};  // the sum of the host pools' in_use
  bool shut_down_ = false;
};

struct caller_state;

/// Bounds the calls one caller (the awaiting coroutine's execution context: one request) has in
/// flight at once; its further calls wait their turn in arrival order, so one request fanning
/// out widely cannot take every pooled connection. Used only on the client's thread.
class caller_limiter {
 public:
  /// The right to run one call; destroying it lets the caller's next call in.
  class ticket {
   public:
    ticket() = default;
    ticket(caller_limiter* owner, const void* caller) : owner_(owner), caller_(caller) {}
    ticket(ticket&& other) noexcept
        : owner_(std::exchange(other.owner_, nullptr)), caller_(other.caller_) {}
    ticket& operator=(ticket&&) = delete;
    ~ticket() {
      if (owner_) owner_->release(caller_);
    }

   private:
    caller_limiter* owner_ = nullptr;
    const void* caller_ = nullptr;
  };

  /// `per_caller` 0: no bound.
  caller_limiter(boost::asio::io_context& ioc, std::size_t per_caller);
  ~caller_limiter();

  /// Waits (cancellably) while `caller` has `per_caller` calls in flight.
  task<ticket> enter(const void* caller);
  /// Fails every waiter with operation_aborted.
  void shutdown();
  /// Callers with a call in flight or waiting (for tests).
  std::size_t callers() const noexcept { return callers_.size(); }

 private:
  void release(const void* caller);

  boost::asio::io_context& ioc_;
  std::size_t per_caller_;
  std::map<const void*, std::unique_ptr<caller_state>> callers_;
  bool shut_down_ = false;
};

}  // namespace vial::detail
