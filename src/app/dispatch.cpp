// app::match and app::dispatch: route a request once, then run the request pipeline
// (pipeline.hpp) with one of its two drivers. A request takes the coroutine driver only when a
// hook or error handler of its route is a coroutine, and then the whole chain runs in a single
// async_to_sync run; otherwise a plain loop calls every slot, with no coroutine frame.

#include <exception>
#include <string>
#include <utility>

#include <boost/asio/this_coro.hpp>

#include "http/internal_error.hpp"
#include "http/request_id.hpp"
#include "pipeline.hpp"
#include "vial/app/app.hpp"
#include "vial/app/metrics.hpp"
#include "vial/async/bridge.hpp"
#include "vial/async/error.hpp"
#include "vial/detail/request_access.hpp"
#include "vial/log.hpp"

namespace vial {

namespace {

using step = detail::pipeline::step;

/// The plain driver: calls each slot of an all-sync chain. A coroutine handler in it is bridged
/// on its own, the same single bridge run without turning the hooks into coroutine frames.
response run_plain(detail::pipeline& p, const bridge_options& bridge) {
  request& req = p.req();
  for (;;) {
    try {
      switch (p.next()) {
        case step::before:
          p.returned(p.before_hook().sync(req));
          break;
        case step::handler: {
          const auto& h = p.handler();
          if (!h.is_async()) {
            p.returned(h.sync(req));
          } else if (h.bridged) {
            p.returned(h.bridged(req, bridge));
          } else {
            p.returned(detail::bridge_call([&] { return h.async(req); }, bridge));
          }
          break;
        }
        case step::error_by_type:
          p.returned(p.type_handler().sync(req, p.exception()));
          break;
        case step::error_by_status:
          p.returned(p.status_handler().sync(req, p.error()));
          break;
        case step::after:
          p.returned(p.after_hook().sync(req, p.result()));
          break;
        case step::teardown:
          p.teardown_hook().sync(req, p.unhandled());
          p.returned();
          break;
        case step::finished:
          return p.take_response();
      }
    } catch (...) {
      p.failed(std::current_exception());
    }
  }
}

}  // namespace

matched_route app::match(request& req) const {
  if (!is_frozen()) freeze();
  prepare_context(req);
  matched_route out;
  out.app_ = this;
  req.set_max_json_bytes(options_.max_json_bytes);
  // A refused request whose path could not be parsed (empty) matches nothing.
  if (req.path().empty()) return out;
  out.match_ = router_.match(req.method_name(), req.path());
  if (out.match_.result == route_match::outcome::found) {
    const route_entry& route = routes_[out.match_.route];
    out.entry_ = out.match_.route;
    out.body_limit_ = route.max_body_bytes;
    req.set_max_json_bytes(route.max_json_bytes);
    detail::request_access::set_params(req, std::move(out.match_.params));
    detail::request_access::set_endpoint(req, route.endpoint);
  } else {
    out.entry_ = options_route(out.match_, req);
  }
  return out;
}

std::size_t app::options_route(const route_match& m, const request& req) const {
  if (m.result != route_match::outcome::method_not_allowed || req.method() != method::options) {
    return matched_route::none;
  }
  // Automatic OPTIONS answers for the routes at this path: their hooks (a blueprint's auth
  // check) run as they would for the routes themselves, as in Flask. "GET, HEAD, OPTIONS": any
  // method but OPTIONS finds a route at this path.
  std::string_view allowed = m.allowed;
  while (!allowed.empty()) {
    auto comma = allowed.find(',');
    std::string_view token = allowed.substr(0, comma);
    while (token.starts_with(' ')) token.remove_prefix(1);
    if (token != "OPTIONS") {
      auto found = router_.match(token, req.path());
      if (found.result == route_match::outcome::found) return found.route;
    }
    if (comma == std::string_view::npos) break;
    allowed.remove_prefix(comma + 1);
  }
  return matched_route::none;
}

detail::pipeline app::start_pipeline(request& req, const matched_route& route) const {
  const route_entry* entry = route.entry_ == matched_route::none ? nullptr : &routes_[route.entry_];
  const bool found = route.match_.result == route_match::outcome::found;
  return detail::pipeline(req, entry ? std::span(entry->scopes) : std::span(miss_scopes_),
                          found ? &entry->handler : nullptr, route.match_,
                          found ? std::string_view(entry->label) : std::string_view(), logger_);
}

response app::dispatch(request& req) const { return dispatch(req, match(req)); }

response app::dispatch_request(request& req, const matched_route& route) const {
  if (route.app_ != this) return dispatch_request(req, match(req));
  const route_entry* entry = route.entry_ == matched_route::none ? nullptr : &routes_[route.entry_];
  const bool found = route.match_.result == route_match::outcome::found;
  if (!(entry ? entry->chain_async : miss_chain_async_)) {
    detail::pipeline p = start_pipeline(req, route);
    return run_plain(p, found ? entry->bridge : bridge_options{});
  }
  // A routing miss (automatic OPTIONS included) is named "METHOD path" in the bridge's logs.
  const std::string miss_label =
      found ? std::string() : std::string(req.method_name()) + " " + std::string(req.path());
  const std::string_view label = found ? std::string_view(entry->label) : miss_label;
  try {
    // The factory form creates the chain's coroutine frames inside the bridge's run, where
    // Asio recycles their memory.
    const bridge_options options = found ? entry->bridge : bridge_options_for(label);
    return detail::bridge_call([this, &req, &route] { return dispatch_async(req, route); },
                               options);
  } catch (const bridge_error& e) {
    logger_.error(std::string(label) + ": " + e.what());
    return detail::internal_error_response();
  }
}

namespace {

/// Counts an event-loop request in flight until it answered, or until its frame is destroyed
/// unanswered (the client left, the server stopped).
struct loop_request_metrics {
  metrics_registry* metrics;
  metrics_registry::clock::time_point started =
      metrics ? metrics->begin() : metrics_registry::clock::time_point();
  bool ended = false;
  ~loop_request_metrics() {
    if (metrics && !ended) metrics->abandon();
  }
};

}  // namespace

// The chain on the awaiting executor, the request's scope: no bridge run, and no coroutine
// frame around the pipeline's (the pipeline sets the request id header and counts the request
// in the metrics), so a held request keeps one frame (about 330 bytes).
task<response> app::dispatch_on_loop(request& req, const matched_route& route) const {
  return dispatch_async(req, route, metrics_.get());
}

namespace {

// The coroutine driver's steps that do not await, in plain functions: what they hold (a sync
// slot's response, the task being started) lives on the stack for the call, not in the
// coroutine's frame for the whole request (GCC 12 gives each local of a coroutine its own slot
// there, whether or not it lives across a suspension).

/// Calls the chain's sync slots in order and stops at a coroutine slot, at the end, or at the
/// first slot that throws (left in `failed`, for the driver to tell a cancellation apart).
step run_until_async(detail::pipeline& p, std::exception_ptr& failed) {
  request& req = p.req();
  try {
    for (;;) {
      switch (const step s = p.next()) {
        case step::before:
          if (p.before_hook().is_async()) return s;
          p.returned(p.before_hook().sync(req));
          break;
        case step::handler:
          if (p.handler().is_async()) return s;
          p.returned(p.handler().sync(req));
          break;
        case step::error_by_type:
          if (p.type_handler().is_async()) return s;
          p.returned(p.type_handler().sync(req, p.exception()));
          break;
        case step::error_by_status:
          if (p.status_handler().is_async()) return s;
          p.returned(p.status_handler().sync(req, p.error()));
          break;
        case step::after:
          if (p.after_hook().is_async()) return s;
          p.returned(p.after_hook().sync(req, p.result()));
          break;
        case step::teardown:
          if (p.teardown_hook().is_async()) return s;
          p.teardown_hook().sync(req, p.unhandled());
          p.returned();
          break;
        case step::finished:
          return s;
      }
    }
  } catch (...) {
    failed = std::current_exception();
    return step::finished;
  }
}

/// The task of a coroutine slot that answers with a response: the handler (the user's own
/// task when it returns task<response>), an error handler or an after_request hook.
task<response> start_response_slot(detail::pipeline& p, step s) {
  request& req = p.req();
  switch (s) {
    case step::handler:
      return p.handler().async(req);
    case step::error_by_type:
      return p.type_handler().async(req, p.exception());
    case step::error_by_status:
      return p.status_handler().async(req, p.error());
    default:
      return p.after_hook().async(req, p.result());
  }
}

response finish(detail::pipeline& p) {
  detail::set_request_id_header(p.result(), p.req());  // as `dispatch` sets it
  return p.take_response();
}

}  // namespace

task<response> app::dispatch_async(request& req, const matched_route& route,
                                   metrics_registry* metrics) const {
  loop_request_metrics counted{metrics};
  detail::pipeline p = start_pipeline(req, route);
  // The plain driver's loop, awaiting coroutine slots: three awaits, one per kind of result. A
  // co_await may not appear in a catch block, so the exception is taken out first; awaited
  // values are named before use (GCC 12, docs/design.md "Coroutine temporaries").
  bool cancelled = false;
  for (;;) {
    std::exception_ptr failed;
    try {
      switch (const step s = run_until_async(p, failed)) {
        case step::finished:
          if (failed) break;
          if (counted.metrics) {
            counted.ended = true;
            counted.metrics->end(metrics_route(route), req.method(), p.result().status(),
                                 counted.started);
          }
          co_return finish(p);
        case step::before: {
          auto op = p.before_hook().async(req);
          auto early = co_await std::move(op);
          p.returned(std::move(early));
          break;
        }
        case step::teardown: {
          auto op = p.teardown_hook().async(req, p.unhandled());
          co_await std::move(op);
          p.returned();
          break;
        }
        default: {
          auto op = start_response_slot(p, s);
          auto r = co_await std::move(op);
          p.returned(std::move(r));
          break;
        }
      }
    } catch (...) {
      failed = std::current_exception();
    }
    if (!failed) continue;
    if (!cancelled) {
      // Cancelled as a whole (on the event loop: the client left, or the server stopped), the
      // chain throws at its next co_await. The request is abandoned, not failed: no error is
      // logged, and with the state reset the error handler, after and teardown hooks run to
      // the end instead of each failing at its first co_await (teardown releases resources).
      auto state = co_await boost::asio::this_coro::cancellation_state;
      if (state.cancelled() != boost::asio::cancellation_type::none) {
        cancelled = true;
        p.cancelled();
        co_await boost::asio::this_coro::reset_cancellation_state();
      }
    }
    p.failed(std::move(failed));
  }
}

}  // namespace vial
