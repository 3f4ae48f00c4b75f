#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "vial/http/cookies.hpp"
#include "vial/http/headers.hpp"
#include "vial/http/status.hpp"
#include "vial/http/stream.hpp"

namespace vial {

/// An HTTP response: status, headers and either a body string or a stream.
/// Distinct objects: safe. Shared objects: unsafe.
class response {
 public:
  /// 200 with an empty body and no Content-Type.
  response() = default;
  /// `body` with `status`, as `content_type` (Flask's default: HTML).
  explicit response(std::string body, int status = 200,
                    std::string_view content_type = "text/html; charset=utf-8");

  /// `text/plain; charset=utf-8`.
  static response text(std::string body, int status = 200);
  /// `text/html; charset=utf-8`.
  static response html(std::string body, int status = 200);
  /// `application/json`, the value serialized compactly.
  static response json(const nlohmann::json& value, int status = 200);
  /// A chunked streaming response; `content_type` defaults to text/plain.
  static response from_stream(std::shared_ptr<body_stream> stream,
                              std::string_view content_type = "text/plain; charset=utf-8",
                              int status = 200);

  int status() const noexcept { return status_; }
  response& set_status(int code) noexcept {
    status_ = code;
    return *this;
  }
  response& set_status(vial::status s) noexcept {
    status_ = static_cast<int>(s);
    return *this;
  }

  vial::headers& headers() noexcept { return headers_; }
  const vial::headers& headers() const noexcept { return headers_; }
  /// Replaces header `name`.
  response& set_header(std::string_view name, std::string_view value);
  /// Appends header `name`, keeping earlier ones.
  response& add_header(std::string_view name, std::string_view value);

  std::string_view content_type() const noexcept { return headers_.get_or("Content-Type", {}); }
  response& set_content_type(std::string_view type) { return set_header("Content-Type", type); }

  const std::string& body() const noexcept { return body_; }
  std::string& body() noexcept { return body_; }
  response& set_body(std::string body) {
    body_ = std::move(body);
    return *this;
  }

  /// Streaming body, or null for an ordinary one.
  const std::shared_ptr<body_stream>& stream() const noexcept { return stream_; }
  bool is_stream() const noexcept { return stream_ != nullptr; }

  /// Adds a Set-Cookie header. Throws `std::invalid_argument` for a name or value that would
  /// break the header (see `format_set_cookie`).
  response& set_cookie(std::string_view name, std::string_view value,
                       const cookie_options& options = {});
  /// Expires cookie `name` in the browser (Max-Age=0 and an Expires in the past).
  response& delete_cookie(std::string_view name, std::string_view path = "/",
                          std::string_view domain = {});

 private:
  int status_ = 200;
  vial::headers headers_;
  std::string body_;
  std::shared_ptr<body_stream> stream_;
};

/// A redirect to `location` (302 by default; 301, 303, 307 and 308 are the others that make
/// sense). The Location value is checked for CR/LF (throws `std::invalid_argument`).
response redirect(std::string_view location, int code = 302);

}  // namespace vial
