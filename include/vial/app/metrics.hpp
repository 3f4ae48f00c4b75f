#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "vial/http/method.hpp"
#include "vial/metrics.hpp"

namespace vial {

class app;

/// Where the metrics route lives and what it reports besides the app's own families.
struct metrics_options {
  /// The route (GET and HEAD) answering the scrape.
  std::string path = "/metrics";
  /// Upper bounds, in seconds, of the request-duration histogram's buckets (ascending). The
  /// default spans a cached answer (1 ms) to a slow upstream call (10 s).
  std::vector<double> buckets{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                              0.25,  0.5,    1,     2.5,  5,     10};
  /// More samples for each scrape, called on the scraping worker: an HTTP client's pool
  /// (`[&client](metrics_writer& out) { client.write_metrics(out); }`), your own counters.
  /// What they refer to must outlive the app.
  std::vector<std::function<void(metrics_writer&)>> collect{};
};

/// The app's metrics: request counts and latencies recorded by `dispatch`, and the collectors
/// that add the rest at scrape time (each server adds its queue and workers; the app its
/// blocking pool and background work). Recording a request takes a few relaxed atomic
/// increments on counters allocated before serving: no lock, no allocation.
/// Distinct objects: safe. Shared objects: safe.
class metrics_registry {
 public:
  explicit metrics_registry(std::vector<double> buckets);
  ~metrics_registry();
  metrics_registry(const metrics_registry&) = delete;
  metrics_registry& operator=(const metrics_registry&) = delete;

  /// Adds `collect` to every scrape until the returned handle is destroyed (a server adds
  /// itself while it runs). Safe from any thread.
  [[nodiscard]] std::shared_ptr<void> add_collector(std::function<void(metrics_writer&)> collect);
  /// Writes every family: the requests', then each collector's.
  void write(metrics_writer& out) const;

  // For the app: one slot per route rule, made before serving, and the per-request calls.
  using clock = std::chrono::steady_clock;
  /// `rules[i]` is the rule of route `i`; routes sharing a rule share its series.
  void bind_routes(const std::vector<std::string_view>& rules);
  /// A request entered `dispatch`: counted in flight; returns its start time.
  clock::time_point begin() noexcept;
  /// It produced a response with `status`. `route` is its index, or past the last for a
  /// request no route took (404, 405...), which all share the label `route="<unmatched>"`.
  void end(std::size_t route, method m, int status, clock::time_point started) noexcept;
  /// It ended without a response (a cancelled event-loop request): no longer in flight.
  void abandon() noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Mounts the Prometheus scrape route at `options.path` (GET and HEAD, `text/plain;
/// version=0.0.4`, `Cache-Control: no-store`, endpoint "metrics") and turns recording on: every
/// request the app dispatches from then on is counted by route rule, method and status. The
/// families are listed in docs/operations.md. Call it before serving, at most once; throws
/// `setup_error` like any route registration.
void add_metrics_route(app& a, metrics_options options = {});

}  // namespace vial
