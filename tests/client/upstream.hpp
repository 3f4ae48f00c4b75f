#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

namespace vial::test {

/// A small HTTP/1.1 server on 127.0.0.1 (ephemeral port) with scripted misbehaviour, for client
/// tests. Paths: /hello /json /not-json /echo /delay/<ms> /chunked /big /redirect/<n>
/// /see-other /temporary /loop /hang /garbage /cut /drop /idle-close/<ms> /silent-close, and the
/// faulty answers
/// /not-http /half-head /bad-chunk /cut-chunk /huge-header. Runs on its own thread.
class upstream {
 public:
  /// Plain HTTP.
  upstream();
  /// HTTPS with the given PEM certificate chain and key.
  upstream(const std::string& cert_file, const std::string& key_file);
  ~upstream();

  std::uint16_t port() const noexcept { return port_; }
  /// "http://127.0.0.1:<port>" (or https).
  std::string url(const std::string& path = "") const;

  std::size_t accepted() const;
  std::size_t disconnected() const;
  /// Waits until at least `n` client connections have ended; false after `timeout`.
  bool wait_for_disconnects(std::size_t n, std::chrono::milliseconds timeout) const;

  struct impl;

 private:
  void start();
  std::unique_ptr<impl> impl_;
  std::uint16_t port_ = 0;
  bool tls_ = false;
};

/// A throw-away directory with a CA, a leaf for 127.0.0.1/localhost signed by it, a leaf for
/// "other.example" signed by it, and an unrelated CA, all made by the openssl CLI.
struct test_certificates {
  test_certificates();
  ~test_certificates();
  std::string dir;
  std::string ca, leaf_cert, leaf_key, other_host_cert, other_host_key, wrong_ca;
};

}  // namespace vial::test
