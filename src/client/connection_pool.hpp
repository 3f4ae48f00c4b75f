#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <string>

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
  connection_pool(boost::asio::io_context& ioc, std::size_t per_host,
                  std::chrono::milliseconds idle_timeout);
  ~connection_pool();

  /// A slot for `key`, waiting (cancellably) while the host's pool is full.
  task<lease> acquire(const std::string& key);
  /// Closes idle connections older than the idle timeout.
  void sweep();
  /// Closes every idle connection and fails every waiter with operation_aborted.
  void shutdown();
  std::size_t idle_count() const noexcept { return idle_count_.load(); }

 private:
  friend class lease;
  void release(host_pool& pool, std::unique_ptr<connection> conn, bool reusable);

  boost::asio::io_context& ioc_;
  std::size_t per_host_;
  std::chrono::milliseconds idle_timeout_;
  std::map<std::string, std::unique_ptr<host_pool>> pools_;
  std::atomic<std::size_t> idle_count_{0};
  bool shut_down_ = false;
};

}  // namespace vial::detail
