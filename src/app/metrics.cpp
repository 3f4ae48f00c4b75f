// The app's Prometheus metrics: per-rule request counters and latency histograms recorded by
// dispatch, the scrape route, and the samples of the app's blocking pool and background work.

#include "vial/app/metrics.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <limits>
#include <mutex>
#include <string>
#include <unordered_map>

#include "vial/app/app.hpp"
#include "vial/async/bridge.hpp"
#include "vial/routing/error.hpp"

namespace vial {

namespace {

/// Distinct (method, status) pairs one rule keeps apart; more fall into status "other".
constexpr std::size_t pairs_per_rule = 32;
constexpr std::uint32_t overflow_key = 0xffffffffu;
constexpr std::size_t method_count = static_cast<std::size_t>(method::other) + 1;

/// The counters of one route rule, allocated before serving.
struct rule_slot {
  explicit rule_slot(std::string r, std::size_t buckets)
      : rule(std::move(r)), histogram(std::make_unique<std::atomic<std::uint64_t>[]>(buckets)) {}

  std::string rule;
  // A small open-addressed table: a key (method << 16 | status) + 1 claimed once by CAS, then
  // only its count moves. Zero is an empty entry.
  std::array<std::atomic<std::uint32_t>, pairs_per_rule> keys{};
  std::array<std::atomic<std::uint64_t>, pairs_per_rule> counts{};
  std::atomic<std::uint64_t> overflow{0};
  std::unique_ptr<std::atomic<std::uint64_t>[]> histogram;  // bounds + 1, non-cumulative
  std::atomic<std::uint64_t> sum_ns{0};

  void count(method m, int status) noexcept {
    const auto key =
        ((static_cast<std::uint32_t>(m) << 16) | static_cast<std::uint32_t>(status & 0xffff)) + 1;
    std::size_t i = (key * 2654435761u) % pairs_per_rule;
    for (std::size_t probes = 0; probes < pairs_per_rule; ++probes) {
      std::uint32_t seen = keys[i].load(std::memory_order_relaxed);
      if (seen == 0 && keys[i].compare_exchange_strong(seen, key, std::memory_order_relaxed)) {
        seen = key;
      }
      if (seen == key) {
        counts[i].fetch_add(1, std::memory_order_relaxed);
        return;
      }
      i = (i + 1) % pairs_per_rule;
    }
    overflow.fetch_add(1, std::memory_order_relaxed);
  }
};

}  // namespace

struct metrics_registry::impl {
  std::vector<double> bounds;
  // The same bounds in nanoseconds: a request's bucket is found with integer compares.
  std::vector<std::uint64_t> bounds_ns;
  std::vector<std::unique_ptr<rule_slot>> slots;  // the last one: "<unmatched>"
  std::vector<rule_slot*> slot_of_route;
  // In flight is begun - abandoned - answered (each answer adds one histogram count), so an
  // answer writes no registry-wide counter, only its rule's.
  std::atomic<std::uint64_t> begun{0};
  std::atomic<std::uint64_t> abandoned{0};

  mutable std::mutex mutex;  // guards collectors
  std::vector<std::weak_ptr<std::function<void(metrics_writer&)>>> collectors;

  rule_slot& slot(std::size_t route) noexcept {
    return route < slot_of_route.size() ? *slot_of_route[route] : *slots.back();
  }
};

metrics_registry::metrics_registry(std::vector<double> buckets) : impl_(std::make_unique<impl>()) {
  for (std::size_t i = 0; i < buckets.size(); ++i) {
    if (!(buckets[i] > 0) || (i > 0 && !(buckets[i] > buckets[i - 1]))) {
      throw setup_error("metrics buckets must be positive and ascending");
    }
  }
  impl_->bounds = std::move(buckets);
  for (const double bound : impl_->bounds) {
    // A duration of n ns is in the bucket when n <= bound_ns; past 2^64 ns nothing is above.
    const double ns = std::round(bound * 1e9);
    impl_->bounds_ns.push_back(ns < 0x1p64 ? static_cast<std::uint64_t>(ns)
                                           : std::numeric_limits<std::uint64_t>::max());
  }
  impl_->slots.push_back(std::make_unique<rule_slot>("<unmatched>", impl_->bounds.size() + 1));
}

metrics_registry::~metrics_registry() = default;

std::shared_ptr<void> metrics_registry::add_collector(
    std::function<void(metrics_writer&)> collect) {
  auto owned = std::make_shared<std::function<void(metrics_writer&)>>(std::move(collect));
  std::lock_guard lock(impl_->mutex);
  std::erase_if(impl_->collectors, [](const auto& c) { return c.expired(); });
  impl_->collectors.push_back(owned);
  return owned;
}

void metrics_registry::bind_routes(const std::vector<std::string_view>& rules) {
  auto unmatched = std::move(impl_->slots.back());
  impl_->slots.clear();
  std::unordered_map<std::string_view, std::size_t> by_rule;
  impl_->slot_of_route.clear();
  for (std::string_view rule : rules) {
    auto [it, added] = by_rule.try_emplace(rule, impl_->slots.size());
    if (added) {
      impl_->slots.push_back(
          std::make_unique<rule_slot>(std::string(rule), impl_->bounds.size() + 1));
      it = by_rule.find(impl_->slots.back()->rule);  // keyed by the slot's own string
    }
    impl_->slot_of_route.push_back(impl_->slots[it->second].get());
  }
  impl_->slots.push_back(std::move(unmatched));
}

metrics_registry::clock::time_point metrics_registry::begin() noexcept {
  impl_->begun.fetch_add(1, std::memory_order_relaxed);
  return clock::now();
}

void metrics_registry::abandon() noexcept {
  impl_->abandoned.fetch_add(1, std::memory_order_relaxed);
}

void metrics_registry::end(std::size_t route, method m, int status,
                           clock::time_point started) noexcept {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now() - started);
  const auto elapsed = static_cast<std::uint64_t>(std::max<std::int64_t>(ns.count(), 0));
  rule_slot& s = impl_->slot(route);
  s.count(m, status);
  const std::vector<std::uint64_t>& bounds = impl_->bounds_ns;
  std::size_t bucket = 0;
  while (bucket < bounds.size() && elapsed > bounds[bucket]) ++bucket;
  s.histogram[bucket].fetch_add(1, std::memory_order_relaxed);
  s.sum_ns.fetch_add(elapsed, std::memory_order_relaxed);
}

void metrics_registry::write(metrics_writer& out) const {
  static constexpr std::string_view requests_help =
      "Requests answered by the app, by route rule, method and status.";
  static constexpr std::string_view duration_help =
      "Time from dispatch to the response, by route rule.";
  const std::size_t bucket_count = impl_->bounds.size() + 1;
  std::vector<std::uint64_t> buckets(bucket_count);
  std::uint64_t answered = 0;
  for (const auto& s : impl_->slots) {
    for (std::size_t i = 0; i < pairs_per_rule; ++i) {
      const std::uint32_t key = s->keys[i].load(std::memory_order_relaxed);
      const std::uint64_t n = s->counts[i].load(std::memory_order_relaxed);
      if (key == 0 || n == 0) continue;
      const auto m = static_cast<std::size_t>((key - 1) >> 16);
      const std::string status = std::to_string((key - 1) & 0xffff);
      const std::string_view method_name =
          m < method_count ? to_string(static_cast<method>(m)) : std::string_view("OTHER");
      out.counter("vial_http_requests_total", requests_help, n,
                  {{"route", s->rule}, {"method", method_name}, {"status", status}});
    }
    if (const auto n = s->overflow.load(std::memory_order_relaxed); n != 0) {
      out.counter("vial_http_requests_total", requests_help, n,
                  {{"route", s->rule}, {"method", "OTHER"}, {"status", "other"}});
    }
  }
  for (const auto& s : impl_->slots) {
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < bucket_count; ++i) {
      buckets[i] = s->histogram[i].load(std::memory_order_relaxed);
      total += buckets[i];
    }
    answered += total;
    if (total == 0) continue;
    const double sum = static_cast<double>(s->sum_ns.load(std::memory_order_relaxed)) / 1e9;
    out.histogram("vial_http_request_duration_seconds", duration_help, impl_->bounds, buckets, sum,
                  {{"route", s->rule}});
  }
  // Read after the answers, so it holds the begin of every answer counted above (but that
  // relaxed loads may see an answer before its begin: hence the clamp).
  const std::uint64_t begun = impl_->begun.load(std::memory_order_relaxed);
  const std::uint64_t ended = answered + impl_->abandoned.load(std::memory_order_relaxed);
  out.gauge("vial_http_requests_in_flight", "Requests inside the app's dispatch now.",
            begun > ended ? static_cast<double>(begun - ended) : 0.0);

  std::vector<std::shared_ptr<std::function<void(metrics_writer&)>>> live;
  {
    std::lock_guard lock(impl_->mutex);
    for (const auto& c : impl_->collectors) {
      if (auto p = c.lock()) live.push_back(std::move(p));
    }
  }
  for (const auto& c : live) (*c)(out);
}

namespace {

void write_app_samples(metrics_writer& out, app& a) {
  const blocking_pool& pool = a.blocking();
  out.gauge("vial_blocking_pool_threads", "Threads of the app's to_thread pool.",
            static_cast<double>(pool.size()));
  out.gauge("vial_blocking_pool_busy_threads", "to_thread pool threads running work now.",
            static_cast<double>(pool.busy()));
  out.gauge("vial_blocking_pool_queue_depth", "to_thread work waiting for a thread now.",
            static_cast<double>(pool.queued()));
  out.counter("vial_blocking_pool_overloads_total",
              "to_thread calls refused because the pool's queue was full (503).", pool.overloads());
  const background_counts jobs = a.background_executor().counts();
  static constexpr std::string_view jobs_help = "Background work now queued or running.";
  out.gauge("vial_background_jobs", jobs_help, static_cast<double>(jobs.queued),
            {{"state", "queued"}});
  out.gauge("vial_background_jobs", jobs_help, static_cast<double>(jobs.running),
            {{"state", "running"}});
  static constexpr std::string_view finished_help = "Background work finished, by outcome.";
  out.counter("vial_background_jobs_finished_total", finished_help, jobs.done, {{"state", "done"}});
  out.counter("vial_background_jobs_finished_total", finished_help, jobs.failed,
              {{"state", "failed"}});
  out.counter("vial_background_jobs_finished_total", finished_help, jobs.abandoned,
              {{"state", "abandoned"}});
  out.counter("vial_bridge_leftovers_cancelled_total",
              "Coroutine runs (bridge or event loop) that left work pending, which was cancelled "
              "(process-wide).",
              cancelled_leftovers());
}

response scrape(const metrics_registry& registry) {
  metrics_writer out;
  registry.write(out);
  response r(out.str(), 200);
  r.set_header("Content-Type", std::string(metrics_writer::content_type));
  r.set_header("Cache-Control", "no-store");
  return r;
}

}  // namespace

void add_metrics_route(app& a, metrics_options options) {
  if (a.metrics_) throw setup_error("add_metrics_route: the app already has a metrics route");
  auto registry = std::make_unique<metrics_registry>(std::move(options.buckets));
  const metrics_registry* reader = registry.get();
  a.get(runtime_rule(options.path), [reader] { return scrape(*reader); }, {.endpoint = "metrics"});
  // The app's own samples and the user's: registered for the registry's lifetime.
  a.metrics_collectors_.push_back(registry->add_collector(
      [owner = &a](metrics_writer& out) { write_app_samples(out, *owner); }));
  for (auto& collect : options.collect) {
    a.metrics_collectors_.push_back(registry->add_collector(std::move(collect)));
  }
  a.metrics_ = std::move(registry);
}

}  // namespace vial
