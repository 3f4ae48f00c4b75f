#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace vial::detail {

/// A parsed absolute http(s) URL, split the way a client needs it.
struct target_url {
  bool tls = false;
  std::string host;  ///< lower-cased; an IPv6 literal without brackets
  std::uint16_t port = 0;
  std::string target;  ///< origin-form: "/path?query" (never empty)

  bool ipv6() const noexcept { return host.find(':') != std::string::npos; }
  std::string scheme() const { return tls ? "https" : "http"; }
  bool default_port() const noexcept { return port == (tls ? 443 : 80); }
  /// "host", "host:8080", "[::1]:8080": the Host header.
  std::string authority() const;
  /// "https://host:8443"
  std::string origin() const;
  /// The whole URL.
  std::string str() const { return origin() + target; }
};

/// Parses `url`; throws client_error(invalid_url) naming it when it is not an http(s) URL.
target_url parse_target_url(std::string_view url);

/// Resolves a Location header against the URL it came from (absolute, "//host/x", "/x", "x",
/// "?q").
std::string resolve_location(const target_url& base, std::string_view location);

}  // namespace vial::detail
