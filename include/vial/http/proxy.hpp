#pragma once

#include <cstddef>

namespace vial {

class request;

/// How many proxies in front of the app are trusted to set each forwarding header (Werkzeug's
/// ProxyFix). 0, the default for all, ignores the header. With `x_for = 1` (one nginx), the
/// last address of X-Forwarded-For, the one nginx appended, becomes the client's: what a client
/// sends itself stays to the left of it and is never read, so a client cannot spoof its address
/// through a chain longer than the trusted hops. A header with fewer values than trusted hops,
/// or a malformed value, is ignored and the request keeps what the connection said.
/// Set these only when every request reaches the app through that many proxies: a client that
/// can reach the app directly can send any header.
struct proxy_options {
  std::size_t x_for = 0;    ///< X-Forwarded-For: `remote_address()` ("203.0.113.7")
  std::size_t x_proto = 0;  ///< X-Forwarded-Proto: `scheme()` ("http" or "https" only)
  std::size_t x_host = 0;   ///< X-Forwarded-Host: `host()` ("example.com:8443")
  /// X-Forwarded-Port: the port part of `host()` (after X-Forwarded-Host), so external URLs
  /// name the port the client connected to; the scheme's default port (443 for https, 80 for
  /// http) is left out of the host.
  std::size_t x_port = 0;
  std::size_t x_prefix = 0;  ///< X-Forwarded-Prefix: `script_root()` ("/api")
  /// RFC 7239 Forwarded: its `for`, `proto` and `host` parameters, from the element this many
  /// from the end. Where both are trusted, Forwarded wins over the X-Forwarded-* headers.
  std::size_t forwarded = 0;
  /// Trusted `X-Request-Id` (`request::id()`): taken from the client when true, generated
  /// otherwise. Trust it when the proxy sets or scrubs it.
  bool x_request_id = false;

  /// True when any header is trusted.
  bool any() const noexcept {
    return x_for || x_proto || x_host || x_port || x_prefix || forwarded;
  }
};

/// Sets `req`'s remote address, scheme, host and script root from the forwarding headers
/// `trust` allows (app::dispatch calls it with `app_options::proxy`). Values that are not an
/// IP address, a scheme of http or https, a valid host, or a path prefix are ignored.
void apply_proxy_headers(request& req, const proxy_options& trust);

}  // namespace vial
