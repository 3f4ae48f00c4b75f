// What app::dispatch does around the pipeline: the request as the client sent it (through
// trusted proxies), its id, and the id in the response and on this thread for the duration.

#include "vial/app/app.hpp"
#include "vial/http/proxy.hpp"
#include "http/request_id.hpp"

namespace vial {

response app::dispatch(request& req, const matched_route& route) const {
  apply_proxy_headers(req, options_.proxy);
  if (req.id().empty()) {
    auto sent = options_.proxy.x_request_id ? req.header("X-Request-Id") : std::nullopt;
    req.set_id(sent && detail::is_valid_request_id(*sent) ? std::string(*sent)
                                                           : detail::generate_request_id());
  }
  response res;
  {
    detail::request_id_scope scope(req.id());
    res = dispatch_request(req, route);
  }
  if (!res.headers().contains("X-Request-Id")) res.set_header("X-Request-Id", req.id());
  return res;
}

}  // namespace vial
