#pragma once

#include <string>
#include <system_error>
#include <type_traits>

#include "vial/http/error.hpp"

namespace vial {

/// What went wrong in an outbound call. Timeouts are not here: they throw `vial::timeout_error`.
enum class client_errc {
  invalid_url = 1,     ///< the URL could not be parsed, or its scheme is not http/https
  resolve,             ///< the host name did not resolve
  connect,             ///< no connection could be made (refused, unreachable)
  tls,                 ///< TLS handshake or certificate verification failed
  too_large,           ///< the response exceeded the size limit
  malformed_response,  ///< the upstream did not speak HTTP/1.x
  closed,              ///< the upstream closed the connection before the response was complete
  too_many_redirects,  ///< more redirects than `max_redirects`
  invalid_json,        ///< `client_response::json()` on a body that is not JSON
  bad_status,          ///< `client_response::raise_for_status()` on a 4xx or 5xx response
  pool_exhausted,      ///< no pooled connection to the host freed within `pool_wait_timeout`
};

/// The "vial.client" error category.
const std::error_category& client_category() noexcept;
std::error_code make_error_code(client_errc e) noexcept;

/// An outbound HTTP call failed. `code()` is the `client_errc`; `what()` names the URL and the
/// cause ("cannot connect to http://127.0.0.1:9/: Connection refused"). Unhandled in a request,
/// it becomes 502 Bad Gateway, or 503 for `pool_exhausted` (this server is overloaded; the
/// upstream did nothing wrong).
class client_error : public std::system_error, public error_status {
 public:
  /// `cause` is the underlying I/O error, if any.
  client_error(client_errc kind, std::string message, std::error_code cause = {});

  client_errc kind() const noexcept { return static_cast<client_errc>(code().value()); }
  /// The underlying I/O or TLS error; empty when there was none.
  std::error_code cause() const noexcept { return cause_; }
  const char* what() const noexcept override { return message_.c_str(); }
  /// 502 Bad Gateway; 503 Service Unavailable for `pool_exhausted`.
  int http_status() const noexcept override {
    return kind() == client_errc::pool_exhausted ? 503 : 502;
  }
  /// The kind of fault, for the client of the server: "The upstream sent a malformed
  /// response." Never the URL or the I/O message, which `what()` carries for the log.
  std::string http_description() const override;

 private:
  std::string message_;
  std::error_code cause_;
};

}  // namespace vial

template <>
struct std::is_error_code_enum<vial::client_errc> : std::true_type {};
