#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "vial/app/app.hpp"
#include "vial/http/headers.hpp"
#include "vial/http/json.hpp"
#include "vial/http/multi_dict.hpp"
#include "vial/http/response.hpp"

namespace vial {

/// What a test request carries besides its method and path.
struct test_request {
  multi_dict query{};      ///< appended to the target as a query string
  vial::headers headers{};
  std::string body{};
  /// Sent as the body with Content-Type application/json (overrides `body`).
  std::optional<nlohmann::json> json{};
  /// Sent as an application/x-www-form-urlencoded body (overrides `body`).
  std::optional<multi_dict> form{};
  /// Follow 301/302/303/307/308 responses (up to 10), as a browser would.
  bool follow_redirects = false;
  std::string remote_address = "127.0.0.1:40000";
};

/// A response seen by the test client: the body is whole (streams are drained), and a HEAD
/// response has no body, as on the wire.
class test_response {
 public:
  explicit test_response(response r);

  int status() const noexcept { return response_.status(); }
  const vial::headers& headers() const noexcept { return response_.headers(); }
  std::optional<std::string_view> header(std::string_view name) const noexcept {
    return response_.headers().get(name);
  }
  const std::string& text() const noexcept { return response_.body(); }
  /// The body parsed as JSON; throws nlohmann::json::parse_error when it is not.
  nlohmann::json json() const;
  std::string_view content_type() const noexcept { return response_.content_type(); }
  const response& raw() const noexcept { return response_; }

 private:
  response response_;
};

/// Calls `app.dispatch` in-process, no sockets: how apps are tested with Catch2. Keeps a
/// cookie jar across calls (Set-Cookie in, Cookie out; Max-Age=0 deletes).
/// Distinct objects: safe. Shared objects: unsafe.
class test_client {
 public:
  /// `server_body_limit` is the server's `max_body_bytes`: a longer body (or one longer than
  /// the route's own limit) is answered 413, through the app, as the server answers it.
  explicit test_client(const app& a,
                       std::size_t server_body_limit = server_options{}.max_body_bytes)
      : app_(a), max_body_bytes_(server_body_limit) {}

  test_response get(std::string_view target, test_request r = {}) {
    return open("GET", target, std::move(r));
  }
  test_response post(std::string_view target, test_request r = {}) {
    return open("POST", target, std::move(r));
  }
  test_response put(std::string_view target, test_request r = {}) {
    return open("PUT", target, std::move(r));
  }
  test_response patch(std::string_view target, test_request r = {}) {
    return open("PATCH", target, std::move(r));
  }
  test_response delete_(std::string_view target, test_request r = {}) {
    return open("DELETE", target, std::move(r));
  }
  test_response head(std::string_view target, test_request r = {}) {
    return open("HEAD", target, std::move(r));
  }
  test_response options(std::string_view target, test_request r = {}) {
    return open("OPTIONS", target, std::move(r));
  }
  /// Any method. A malformed target answers 400 and a body over the limit 413, through the
  /// app's error handlers and hooks, as the server would.
  test_response open(std::string_view method, std::string_view target, test_request r = {});

  /// The cookie jar.
  const multi_dict& cookies() const noexcept { return cookies_; }
  void set_cookie(std::string name, std::string value) { cookies_.set(name, std::move(value)); }
  void clear_cookies() { cookies_ = {}; }

 private:
  response dispatch_once(std::string_view method, std::string_view target, const test_request& r);
  void remember_cookies(const response& res);

  const app& app_;
  std::size_t max_body_bytes_;
  multi_dict cookies_;
};

}  // namespace vial
