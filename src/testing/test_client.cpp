#include "vial/testing/test_client.hpp"

#include <algorithm>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "http/internal_error.hpp"
#include "http/refusal.hpp"
#include "vial/detail/request_executor.hpp"
#include "vial/http/error.hpp"
#include "vial/http/url.hpp"
#include "vial/log.hpp"

namespace vial {

test_response::test_response(response r) : response_(std::move(r)) {
  if (response_.is_stream()) {
    // Drain it here, as a client on the wire would receive it.
    std::string body;
    while (auto chunk = response_.stream()->next()) body += *chunk;
    response_.stream()->close();
    response_ = response(std::move(body), response_.status(), response_.content_type());
  }
}

nlohmann::json test_response::json() const { return nlohmann::json::parse(response_.body()); }

namespace {

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

/// An event-loop route's request, as the server runs it, on a private context driven on the
/// calling thread: the same scope, so leftover work is reported and cancelled alike.
response dispatch_on_private_loop(const app& a, request& req, const matched_route& route,
                                  const detail::request_scope_options& options) {
  namespace asio = boost::asio;
  auto context = std::make_shared<asio::io_context>(1);
  auto scope = std::make_shared<detail::request_scope>(context->get_executor(), options, context);
  std::optional<response> result;
  std::exception_ptr error;
  bool done = false;
  auto complete = [&](std::exception_ptr e, response r) {
    // As on the server: leftover work is looked for once co_spawn's frame has unwound.
    asio::post(*context, [&, e, r = std::move(r)]() mutable {
      error = e;
      result = std::move(r);
      done = true;
    });
  };
  asio::co_spawn(detail::request_executor(scope), a.dispatch_on_loop(req, route),
                 asio::bind_executor(context->get_executor(), std::move(complete)));
  while (!done && context->run_one() > 0) {
  }
  scope->finish();
  // Destroying the context (here, or when blocking work that still refers to it ends) destroys
  // what the request left pending.
  if (!done) error = std::make_exception_ptr(std::logic_error("the request can never finish"));
  if (error) {
    a.logger().error(std::string(options.label) + ": " + describe_exception(error));
    return detail::internal_error_response();
  }
  return std::move(*result);
}

}  // namespace

response test_client::dispatch_once(std::string_view method, std::string_view target,
                                    const test_request& r) {
  std::string full(target);
  if (!r.query.empty()) {
    full.append(full.find('?') == std::string::npos ? "?" : "&").append(encode_query(r.query));
  }
  vial::headers h = r.headers;
  std::string body = r.body;
  if (r.json) {
    body = r.json->dump();
    if (!h.contains("Content-Type")) h.set("Content-Type", "application/json");
  } else if (r.form) {
    body = encode_query(*r.form);
    if (!h.contains("Content-Type")) h.set("Content-Type", "application/x-www-form-urlencoded");
  }
  if (!cookies_.empty() && !h.contains("Cookie")) {
    std::string cookie;
    for (const auto& [name, value] : cookies_) {
      if (!cookie.empty()) cookie += "; ";
      cookie += name + "=" + value;
    }
    h.set("Cookie", cookie);
  }
  if (!h.contains("Host")) h.set("Host", "localhost");
  // As the server does: a bad target or a body over the limit is refused through the app.
  request req = request::refused_or_valid(method, full, std::move(h));
  req.set_remote_address(r.remote_address);     // before match, which applies proxy headers
  const matched_route route = app_.match(req);  // once, as the server's reader does
  const std::size_t limit = route.body_limit().value_or(max_body_bytes_);
  if (body.size() > limit) {
    req.set_refusal(detail::body_too_large(limit));
  } else {
    req.set_body(std::move(body));
  }
  if (auto loop = app_.event_loop_route(req, route)) {
    return dispatch_on_private_loop(app_, req, route, *loop);
  }
  return app_.dispatch(req, route);
}

void test_client::remember_cookies(const response& res) {
  for (std::string_view line : res.headers().get_all("Set-Cookie")) {
    const auto semi = line.find(';');
    std::string_view pair = line.substr(0, semi);
    const auto eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    std::string name = trim(pair.substr(0, eq));
    std::string value = trim(pair.substr(eq + 1));
    bool expired = false;
    if (semi != std::string_view::npos) {
      std::string attrs(line.substr(semi));
      std::transform(attrs.begin(), attrs.end(), attrs.begin(), ::tolower);
      expired = attrs.find("max-age=0") != std::string::npos;
    }
    multi_dict kept;
    for (const auto& [n, v] : cookies_) {
      if (n != name) kept.add(n, v);
    }
    if (!expired) kept.add(std::move(name), std::move(value));
    cookies_ = std::move(kept);
  }
}

test_response test_client::open(std::string_view method, std::string_view target, test_request r) {
  std::string current_method(method);
  std::string current_target(target);
  for (int hops = 0;; ++hops) {
    response res = dispatch_once(current_method, current_target, r);
    remember_cookies(res);
    if (r.follow_redirects && is_redirect(res.status()) && hops < 10) {
      if (auto location = res.headers().get("Location")) {
        current_target = std::string(*location);
        if (res.status() == 303 ||
            ((res.status() == 301 || res.status() == 302) && current_method == "POST")) {
          current_method = "GET";
          r.body.clear();
          r.json.reset();
          r.form.reset();
        }
        r.query = {};
        continue;
      }
    }
    if (current_method == "HEAD") {
      // On the wire HEAD has no body; keep the length a GET would have had.
      if (!res.is_stream() && !res.headers().contains("Content-Length")) {
        res.set_header("Content-Length", std::to_string(res.body().size()));
      }
      res.set_body({});
    }
    return test_response(std::move(res));
  }
}

}  // namespace vial
