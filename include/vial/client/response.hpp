#pragma once

#include <string>
#include <utility>

#include <nlohmann/json_fwd.hpp>

#include "vial/http/headers.hpp"

namespace vial {

/// A complete response from an upstream: status, headers, the whole body, and the URL it
/// finally came from (after redirects). Distinct objects: safe. Shared objects: unsafe.
class client_response {
 public:
  client_response() = default;
  client_response(int status, vial::headers headers, std::string body, std::string url)
      : status_(status),
        headers_(std::move(headers)),
        body_(std::move(body)),
        url_(std::move(url)) {}

  int status() const noexcept { return status_; }
  /// True for 2xx.
  bool ok() const noexcept { return status_ >= 200 && status_ < 300; }
  const vial::headers& headers() const noexcept { return headers_; }
  /// The body as received (no decoding of Content-Encoding or charset).
  const std::string& text() const noexcept { return body_; }
  /// The body parsed as JSON.
  /// @throws client_error (`client_errc::invalid_json`) naming the URL and the parse error.
  nlohmann::json json() const;
  /// The URL the response came from, after redirects.
  const std::string& url() const noexcept { return url_; }
  /// Throws `client_error` (`client_errc::bad_status`, so 502 when unhandled) unless 1xx-3xx.
  void raise_for_status() const;

 private:
  int status_ = 0;
  vial::headers headers_;
  std::string body_;
  std::string url_;
};

}  // namespace vial
