#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "vial/async/task.hpp"
#include "vial/detail/handler.hpp"
#include "vial/http/request.hpp"
#include "vial/http/response.hpp"
#include "vial/http/stream.hpp"

namespace vial {

/// Close codes of RFC 6455 section 7.4.1 that a handler is likely to send or see.
namespace close_code {
inline constexpr std::uint16_t normal = 1000;
inline constexpr std::uint16_t going_away = 1001;  ///< server stopping, page left
inline constexpr std::uint16_t protocol_error = 1002;
inline constexpr std::uint16_t unsupported_data = 1003;
inline constexpr std::uint16_t no_status = 1005;         ///< a close frame without a code
inline constexpr std::uint16_t abnormal = 1006;          ///< the socket dropped without a close
inline constexpr std::uint16_t invalid_payload = 1007;   ///< text that is not UTF-8
inline constexpr std::uint16_t policy_violation = 1008;  ///< e.g. a reader too slow to keep up
inline constexpr std::uint16_t too_big = 1009;           ///< past `max_message_bytes`
inline constexpr std::uint16_t internal_error = 1011;    ///< the handler threw
}  // namespace close_code

/// One message received on a WebSocket: text, binary, or the peer's close.
struct websocket_message {
  enum class kind { text, binary, close };
  kind type = kind::text;
  /// The payload (UTF-8 for text), or the close reason.
  std::string data{};
  /// For a close: the peer's code (`close_code::no_status` when it sent none,
  /// `close_code::abnormal` when the socket dropped). 0 otherwise.
  std::uint16_t code = 0;

  bool is_text() const noexcept { return type == kind::text; }
  bool is_binary() const noexcept { return type == kind::binary; }
  bool is_close() const noexcept { return type == kind::close; }
};

/// Per-route WebSocket settings, set with designated initializers. The defaults are the safe
/// ones: same-origin browsers only, bounded messages and queues, timeouts on.
struct websocket_options {
  /// Subprotocols the route speaks, in order of preference; the first one the client offers
  /// is chosen (`websocket::subprotocol()`). A client offering none of them is still accepted,
  /// without a subprotocol, as RFC 6455 allows.
  std::vector<std::string> subprotocols{};
  /// Origins accepted besides the request's own (scheme://host[:port], exact, case-insensitive),
  /// or "*" for any. A browser request from any other origin is refused 403 (cross-site
  /// WebSocket hijacking). Requests without an Origin header (non-browser clients) are accepted.
  std::vector<std::string> allowed_origins{};
  /// The longest message received, whole or fragmented; past it the socket closes with 1009
  /// without reading the rest of the frame.
  std::size_t max_message_bytes = 1024 * 1024;
  /// Outgoing bytes allowed to wait for a slow reader. Past it `send` waits for room and
  /// `post` (used by `websocket_hub`) closes the socket with 1008.
  std::size_t max_queued_bytes = 4 * 1024 * 1024;
  /// For the opening handshake's answer and for the closing handshake.
  std::chrono::milliseconds handshake_timeout{10'000};
  /// A socket that receives nothing for this long is closed; a ping is sent halfway through,
  /// so a live peer answers it and stays. Counted while the handler waits in `receive`.
  std::chrono::milliseconds idle_timeout{60'000};
  /// permessage-deflate (RFC 7692), when the client offers it. Off by default: it costs
  /// ~300 KiB of zlib state per socket and mixing secrets with attacker text in one compressed
  /// stream leaks them (CRIME/BREACH).
  bool compression = false;
  /// The name `url_for` knows the route by. Default: the rule text.
  std::string endpoint{};
};

/// The socket closed (or is closing): thrown by `send` after the close, and by `receive` after
/// the close message was delivered. A handler may let it escape: the session ends quietly.
class websocket_closed : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// An open WebSocket, as a handler sees it. The handler runs on the connection's strand (an
/// event loop), so while it awaits it holds no worker thread; it must not block.
///
/// Thread safety: `post` and `close_soon` are safe from any thread; everything else belongs to
/// the handler's coroutine.
class websocket : public std::enable_shared_from_this<websocket> {
 public:
  virtual ~websocket() = default;
  websocket(const websocket&) = delete;
  websocket& operator=(const websocket&) = delete;

  /// The upgrade request (headers, cookies, path parameters, `g` slots set by hooks).
  const vial::request& request() const noexcept { return request_; }
  /// The negotiated subprotocol, or empty.
  const std::string& subprotocol() const noexcept { return subprotocol_; }

  /// The next message. A close from the peer (or a dropped socket, or the server stopping) is
  /// delivered once as a message of kind close; receiving again throws `websocket_closed`.
  virtual task<websocket_message> receive() = 0;
  /// Queues a text message (valid UTF-8) and returns when it is queued; waits first while
  /// `max_queued_bytes` are queued. Throws `websocket_closed` once the socket is closing.
  virtual task<void> send(std::string text) = 0;
  /// As `send`, as a binary message.
  virtual task<void> send_binary(std::string data) = 0;
  /// Sends a received text or binary message as it came, so an echo is
  /// `co_await ws.send(std::move(m))`. A message of kind close is not sent: use `close`.
  task<void> send(websocket_message m) {
    if (m.is_close()) {
      throw std::invalid_argument("websocket::send: a close message is not sent; use close()");
    }
    return m.is_binary() ? send_binary(std::move(m.data)) : send(std::move(m.data));
  }
  /// Sends what is queued, then the close frame with `code` and `reason` (at most 123 bytes),
  /// and waits for the peer's close. Returns at once when already closing.
  virtual task<void> close(std::uint16_t code = close_code::normal, std::string reason = {}) = 0;

  /// Queues a message without waiting, from any thread. A socket with `max_queued_bytes`
  /// already queued is too slow a reader: it is closed with 1008. Ignored once closing.
  virtual void post(std::string data, bool binary = false) = 0;
  /// Starts the close from any thread; the handler's `receive` then returns the close.
  virtual void close_soon(std::uint16_t code = close_code::going_away, std::string reason = {}) = 0;

 protected:
  websocket(vial::request req, std::string subprotocol)
      : request_(std::move(req)), subprotocol_(std::move(subprotocol)) {}

 private:
  vial::request request_;
  std::string subprotocol_;
};

/// Rooms of WebSockets and broadcasts to them: a chat room in a few lines. Safe from any
/// thread and from sync code (a broadcast queues with `websocket::post`, never waits).
/// Members are held weakly: a socket that ends leaves every room by itself.
class websocket_hub {
 public:
  /// Leaves its room when destroyed (a coroutine's local: leaves even when the handler throws).
  class membership {
   public:
    membership() = default;
    membership(membership&& other) noexcept { *this = std::move(other); }
    membership& operator=(membership&& other) noexcept;
    ~membership() { leave(); }
    void leave() noexcept;

   private:
    friend class websocket_hub;
    membership(websocket_hub* hub, std::string room, const websocket* ws)
        : hub_(hub), room_(std::move(room)), ws_(ws) {}
    websocket_hub* hub_ = nullptr;
    std::string room_;
    const websocket* ws_ = nullptr;
  };

  websocket_hub() = default;
  websocket_hub(const websocket_hub&) = delete;
  websocket_hub& operator=(const websocket_hub&) = delete;

  /// Adds `ws` to `room` until the returned membership is destroyed. The hub must outlive it.
  [[nodiscard]] membership join(std::string_view room, websocket& ws);
  /// Queues `text` to every member of `room`; returns how many it was queued for.
  std::size_t broadcast(std::string_view room, std::string_view text, bool binary = false);
  /// Queues `text` to every member of every room.
  std::size_t broadcast_all(std::string_view text, bool binary = false);
  /// Members of `room` now.
  std::size_t size(std::string_view room) const;

 private:
  void remove(const std::string& room, const websocket* ws) noexcept;
  std::vector<std::shared_ptr<websocket>> members(std::string_view room) const;

  mutable std::mutex mutex_;
  std::map<std::string, std::map<const websocket*, std::weak_ptr<websocket>>, std::less<>> rooms_;
};

namespace detail {

using websocket_handler = std::function<task<void>(websocket&)>;

/// The response value that asks the server to upgrade: status 101 carrying this stream. The
/// server (or the test client) recognises it and runs `handler` on the socket; anything else
/// that meets it sees an empty stream.
class websocket_upgrade final : public body_stream {
 public:
  std::optional<std::string> next() override { return std::nullopt; }

  websocket_handler handler;
  std::shared_ptr<const websocket_options> options;
  vial::request request;    ///< a copy of the upgrade request, for `websocket::request`
  std::string key;          ///< Sec-WebSocket-Key
  std::string subprotocol;  ///< chosen, or empty
  std::string extensions;   ///< the client's offer, kept only when compression is on
  std::string label;        ///< "WS /ws/chat/<room>", for logs
};

/// The upgrade carried by `r`, or null.
websocket_upgrade* websocket_upgrade_of(const response& r) noexcept;

/// Checks the handshake of `req` against `options`: 426 (not an upgrade, or a version other
/// than 13), 400 (a bad key) or 403 (a foreign Origin) as an `http_error`; else a 101 response
/// carrying a `websocket_upgrade` without its handler.
response accept_websocket(const request& req,
                          const std::shared_ptr<const websocket_options>& options);

template <class Args>
struct first_is_websocket : std::false_type {};
template <class First, class... Rest>
struct first_is_websocket<std::tuple<First, Rest...>>
    : std::bool_constant<std::is_same_v<First, websocket&>> {};

template <class F, std::size_t... I>
auto call_websocket(F& f, websocket& ws, std::index_sequence<I...>) {
  using args = typename callable_traits<F>::args;
  const auto& params = ws.request().params();
  return f(ws, bind_param<std::tuple_element_t<I + 1, args>>(params[I].value)...);
}

template <class F, std::size_t... I>
void check_websocket_params(const request& req, std::index_sequence<I...>) {
  using args = typename callable_traits<F>::args;
  // Binds once during dispatch so that an out-of-range integer is a 404, not a broken socket.
  (void)std::make_tuple(bind_param<std::tuple_element_t<I + 1, args>>(req.params()[I].value)...);
}

template <class F>
route_handler make_websocket_handler(F&& f, websocket_options options) {
  using D = std::decay_t<F>;  // a function becomes a function pointer
  using traits = callable_traits<D>;
  using args = typename traits::args;
  static_assert(first_is_websocket<args>::value,
                "a WebSocket handler takes vial::websocket& first, then the rule's parameters");
  static_assert(std::is_same_v<typename traits::result, task<void>>,
                "a WebSocket handler is a coroutine returning vial::task<void>");
  constexpr std::size_t count = std::tuple_size_v<args> - 1;
  auto shared = std::make_shared<D>(std::forward<F>(f));
  auto opts = std::make_shared<const websocket_options>(std::move(options));
  route_handler h;
  h.params = []<std::size_t... I>(std::index_sequence<I...>) {
    return std::vector<param_kind>{kind_of_param<std::tuple_element_t<I + 1, args>>()...};
  }(std::make_index_sequence<count>{});
  h.sync = [shared, opts](request& req) {
    check_websocket_params<D>(req, std::make_index_sequence<count>{});
    response r = accept_websocket(req, opts);
    if (auto* up = websocket_upgrade_of(r)) {
      // The handler object lives as long as the app, like any route's: the closure only
      // points at it through `shared`.
      up->handler = [shared](websocket& ws) -> task<void> {
        return call_websocket(*shared, ws, std::make_index_sequence<count>{});
      };
    }
    return r;
  };
  return h;
}

}  // namespace detail
}  // namespace vial
