// What the app derives from a request's header besides its route (the client as it is behind
// trusted proxies, the request id), and the id around the pipeline: on this thread for the
// duration, and in the response.

#include "http/request_id.hpp"
#include "vial/app/app.hpp"
#include "vial/app/metrics.hpp"
#include "vial/http/proxy.hpp"

namespace vial {

namespace detail {

void set_request_id_header(response& res, const request& req) {
  // Appended: none is there, so set_header's search for fields to replace would find nothing.
  if (!res.headers().contains("X-Request-Id")) res.add_header("X-Request-Id", req.id());
}

}  // namespace detail

void app::prepare_context(request& req) const {
  apply_proxy_headers(req, options_.proxy);
  if (req.id().empty()) {
    auto sent = options_.proxy.x_request_id ? req.header("X-Request-Id") : std::nullopt;
    req.set_id(sent && detail::is_valid_request_id(*sent) ? std::string(*sent)
                                                          : detail::generate_request_id());
  }
}

response app::dispatch(request& req, const matched_route& route) const {
  metrics_registry* metrics = metrics_.get();
  const auto started = metrics ? metrics->begin() : metrics_registry::clock::time_point();
  response res;
  {
    detail::request_id_scope scope(req.id());
    res = dispatch_request(req, route);
  }
  detail::set_request_id_header(res, req);
  if (metrics) metrics->end(metrics_route(route), req.method(), res.status(), started);
  return res;
}

std::size_t app::metrics_route(const matched_route& route) const noexcept {
  // Only a route that took the request names the series; every miss shares "<unmatched>".
  if (route.app_ != this || route.match_.result != route_match::outcome::found) {
    return matched_route::none;
  }
  return route.entry_;
}

}  // namespace vial
