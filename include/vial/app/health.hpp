#pragma once

#include <functional>
#include <string>

namespace vial {

class app;

/// Where the health routes live and what readiness checks besides draining.
struct health_options {
  /// Liveness: 200 "ok" while the process serves at all. A failing liveness probe makes an
  /// orchestrator restart the process, so it checks nothing else.
  std::string live_path = "/livez";
  /// Readiness: 200 "ready", or 503 "draining" from the moment a graceful stop begins
  /// (`app::is_draining()`), or 503 "not ready" while `ready` returns false. A load balancer
  /// stops sending new requests on 503 and the process drains first.
  std::string ready_path = "/readyz";
  /// Extra readiness condition (a database pool is up, a cache warmed), called on a worker for
  /// each probe: keep it quick and thread-safe. Empty: always ready unless draining.
  std::function<bool()> ready{};
};

/// Adds the liveness and readiness routes (GET and HEAD, plain text, `Cache-Control:
/// no-store`). Throws `setup_error` like any route registration (after freeze, a taken rule).
void add_health_routes(app& a, health_options options = {});

}  // namespace vial
