#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "vial/app/app.hpp"
#include "vial/app/websocket.hpp"
#include "vial/http/headers.hpp"
#include "vial/http/json.hpp"
#include "vial/http/multi_dict.hpp"
#include "vial/http/response.hpp"
#include "vial/server/options.hpp"

namespace vial {

/// What a test request carries besides its method and path.
struct test_request {
  multi_dict query{};  ///< appended to the target as a query string
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

/// A WebSocket opened by the test client: the app's answer to the upgrade, and, when it was
/// accepted, the route's handler running on a private event loop thread, fed and read here.
/// Limits (message size, queued bytes) and close codes behave as on the server.
/// Distinct objects: safe. Shared objects: unsafe.
class test_websocket {
 public:
  test_websocket(test_websocket&&) noexcept;
  test_websocket& operator=(test_websocket&&) noexcept;
  /// Closes (1000) if still open and waits for the handler to end.
  ~test_websocket();

  /// The app's answer: 101 when accepted, else the refusal (403, 426, a hook's 401...).
  const test_response& response() const noexcept { return response_; }
  int status() const noexcept { return response_.status(); }
  bool accepted() const noexcept { return state_ != nullptr; }
  /// The chosen subprotocol, or empty.
  std::string_view subprotocol() const noexcept {
    return response_.header("Sec-WebSocket-Protocol").value_or("");
  }

  /// Sends a text (or binary) message to the handler. Throws `websocket_closed` once closed.
  void send(std::string text);
  void send_binary(std::string data);
  /// The next message from the handler (a close when it closed), waiting up to `timeout`.
  /// Throws `std::runtime_error` when none came in time, `websocket_closed` after the close.
  websocket_message receive(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  /// Sends a close frame; the handler's `receive` returns it, and the handler's echo is the
  /// next message `receive` returns.
  void close(std::uint16_t code = close_code::normal, std::string reason = {});

 private:
  friend class test_client;
  struct state;
  explicit test_websocket(test_response r) : response_(std::move(r)) {}
  test_websocket(test_response r, vial::response accepted);

  test_response response_;
  std::shared_ptr<state> state_;
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

  /// Opens a WebSocket to `target` through the app (hooks, cookies, session), as a browser on
  /// the same origin would (no Origin header unless `r.headers` sets one). Offer subprotocols
  /// with a `Sec-WebSocket-Protocol` header in `r.headers`.
  test_websocket websocket(std::string_view target, test_request r = {});
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
