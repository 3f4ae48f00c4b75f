#include "vial/testing/test_client.hpp"

#include <algorithm>

#include "vial/http/error.hpp"
#include "vial/http/url.hpp"
#include "http/refusal.hpp"

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
  const matched_route route = app_.match(req);  // once, as the server's reader does
  const std::size_t limit = route.body_limit().value_or(max_body_bytes_);
  if (body.size() > limit) {
    req.set_refusal(detail::body_too_large(limit));
  } else {
    req.set_body(std::move(body));
  }
  req.set_remote_address(r.remote_address);
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
        if (res.status() == 303 || ((res.status() == 301 || res.status() == 302) &&
                                     current_method == "POST")) {
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
