#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "vial/http/headers.hpp"
#include "vial/http/multi_dict.hpp"

namespace vial {

/// How an `http_client` connects, pools and limits. Set with designated initializers:
/// `vial::http_client client({.pool_size_per_host = 256, .request_timeout = 5s});`
struct client_options {
  /// Connections kept open (idle or busy) per (scheme, host, port). Callers beyond this wait
  /// for a free connection, up to their request deadline; they never fail for lack of one.
  std::size_t pool_size_per_host = 100;
  /// An idle pooled connection is closed after this long.
  std::chrono::milliseconds idle_timeout{30'000};
  /// Resolving and connecting (and the TLS handshake) must finish within this.
  std::chrono::milliseconds connect_timeout{10'000};
  /// The longest silence while sending the request or reading the response.
  std::chrono::milliseconds read_timeout{30'000};
  /// The whole call, including waiting for a pooled connection and every redirect.
  std::chrono::milliseconds request_timeout{60'000};
  /// Larger response bodies fail with `client_errc::too_large`.
  std::size_t max_response_bytes = 64 * 1024 * 1024;
  /// More redirects than this fail with `client_errc::too_many_redirects`.
  int max_redirects = 10;
  /// Verify the server's certificate chain and host name (on unless you know why not).
  bool verify_tls = true;
  /// A PEM file of CAs to trust instead of the system store; empty: the system store.
  std::string ca_file{};
  /// Sent as User-Agent unless the request sets its own.
  std::string user_agent = "vial-client/0.1";
};

/// Per-call settings. Unset optionals fall back to the client's `client_options`.
struct request_options {
  /// Extra request headers (a request's own Host, User-Agent or Content-Type win).
  vial::headers headers{};
  /// Appended to the URL's query string, percent-encoded.
  multi_dict query{};
  /// A raw body (Content-Type from `headers`, else application/octet-stream).
  std::optional<std::string> body{};
  /// A JSON body (Content-Type: application/json); used when `body` is unset.
  std::optional<nlohmann::json> json{};
  /// Overrides `client_options::request_timeout` for this call.
  std::optional<std::chrono::milliseconds> timeout{};
  /// Overrides `client_options::max_response_bytes` for this call.
  std::optional<std::size_t> max_response_bytes{};
  /// Follow 301/302/303/307/308 (default true).
  bool follow_redirects = true;
};

}  // namespace vial
