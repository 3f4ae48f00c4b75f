#pragma once

#include <stdexcept>
#include <string>

#include "vial/http/headers.hpp"
#include "vial/http/status.hpp"

namespace vial {

/// An HTTP outcome raised inside a request: the status, a description for the client, and any
/// extra headers the answer needs (`Allow`, `Retry-After`...). Unhandled, it becomes a response
/// with that status; error handlers registered for the status see it first.
class http_error : public std::runtime_error {
 public:
  /// `description` is sent to the client; empty means the status's reason phrase.
  explicit http_error(int status, std::string description = {}, vial::headers extra = {});
  explicit http_error(vial::status s, std::string description = {}, vial::headers extra = {})
      : http_error(static_cast<int>(s), std::move(description), std::move(extra)) {}

  int status() const noexcept { return status_; }
  /// What the client is told; the reason phrase when none was given.
  const std::string& description() const noexcept { return description_; }
  const vial::headers& headers() const noexcept { return headers_; }

 private:
  int status_;
  std::string description_;
  vial::headers headers_;
};

/// Throws `http_error(status, message)`: Flask's `abort`.
[[noreturn]] void abort(int status, std::string message = {});
[[noreturn]] inline void abort(status s, std::string message = {}) {
  abort(static_cast<int>(s), std::move(message));
}

/// Implemented by exceptions that know which HTTP status they mean when nobody handles them
/// (an upstream failure is 502). `http_error` does not need it; the app checks both.
class error_status {
 public:
  virtual ~error_status() = default;
  virtual int http_status() const noexcept = 0;
  /// What the client is told when nobody handles the exception: the description of the
  /// `http_error` that status error handlers and the default answer see. Empty: the reason
  /// phrase. It leaves the server, so it names the fault without internals (no URL, address or
  /// lower-level message: those go to the log).
  virtual std::string http_description() const { return {}; }
};

}  // namespace vial
