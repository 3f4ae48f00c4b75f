#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "vial/app/app.hpp"

namespace vial {

/// Which cross-origin requests the app allows (the Fetch standard's CORS protocol).
struct cors_options {
  /// Allowed origins, compared exactly ("https://app.example"), or "*" for any.
  std::vector<std::string> origins{"*"};
  /// Methods a preflight may ask for.
  std::vector<std::string> methods{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"};
  /// Request headers a preflight may ask for; empty allows whatever it asks for.
  std::vector<std::string> allow_headers{};
  /// Response headers scripts may read (Access-Control-Expose-Headers).
  std::vector<std::string> expose_headers{};
  /// Sends Access-Control-Allow-Credentials: true; the origin is then echoed, never "*".
  bool allow_credentials = false;
  /// How long a browser may cache a preflight answer.
  std::optional<std::chrono::seconds> max_age = std::chrono::seconds(600);
};

/// Opts the whole app into CORS: a preflight (OPTIONS with Origin and
/// Access-Control-Request-Method) from an allowed origin asking for an allowed method is
/// answered 204 with the Access-Control-Allow-* headers before any route runs; other requests
/// from an allowed origin get Access-Control-Allow-Origin (and Vary: Origin) on their response,
/// errors included. Requests from other origins are served without CORS headers, so the
/// browser keeps the response from the page. An Origin holding control characters is never
/// allowed.
void enable_cors(app& a, cors_options options = {});

}  // namespace vial
