#include "websocket_session.hpp"

#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/websocket.hpp>

#include "connection.hpp"
#include "vial/app/app.hpp"
#include "vial/log.hpp"

namespace vial::server_detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bws = boost::beast::websocket;
using boost::system::error_code;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// The longest handshake Beast's fixed read buffer takes (its size is a Beast constant).
constexpr std::size_t max_handshake_bytes = 1400;

// A read buffer grown by a large message is given back once the message is delivered, so
// an idle socket keeps little memory whatever it received before.
constexpr std::size_t kept_read_capacity = 16 * 1024;

std::uint16_t code_of(error_code ec) {
  if (ec == bws::error::message_too_big) return close_code::too_big;
  if (ec == bws::error::bad_frame_payload) return close_code::invalid_payload;
  if (ec.category() == make_error_code(bws::error::closed).category())
    return close_code::protocol_error;
  return close_code::abnormal;
}

}  // namespace

// The connection's one hand-off point calls this: the app answered the upgrade with a 101.
void connection::start_websocket() {
  log_access(101);
  std::string leftover(static_cast<const char*>(buffer_.data().data()), buffer_.size());
  buffer_ = boost::beast::flat_buffer();
  closed_ = true;
  phase_ = phase::closed;
  clear_deadline();
  timer_.cancel();
  websocket_ = websocket_session::start(core_, shared_from_this(), std::move(socket_),
                                        std::move(leftover), std::move(response_));
  response_ = response();
}

std::shared_ptr<websocket_session> websocket_session::start(server_core& core,
                                                            std::shared_ptr<connection> owner,
                                                            socket_type socket,
                                                            std::string leftover,
                                                            response accepted) {
  auto* up = detail::websocket_upgrade_of(accepted);
  auto upgrade = std::static_pointer_cast<detail::websocket_upgrade>(accepted.stream());
  (void)up;
  auto self =
      std::make_shared<websocket_session>(core, std::move(owner), std::move(socket), upgrade);
  // Beast answers the handshake itself: it is given the fields it checks, rebuilt from the
  // request the app accepted, and the bytes read past that request.
  std::string handshake =
      "GET / HTTP/1.1\r\nHost: vial\r\nUpgrade: websocket\r\n"
      "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
      "Sec-WebSocket-Key: ";
  handshake.append(upgrade->key).append("\r\n");
  if (!upgrade->extensions.empty() &&
      handshake.size() + upgrade->extensions.size() < max_handshake_bytes / 2) {
    handshake.append("Sec-WebSocket-Extensions: ").append(upgrade->extensions).append("\r\n");
  }
  handshake.append("\r\n").append(leftover);

  // The app's 101 headers (Set-Cookie, Sec-WebSocket-Protocol, hooks' headers) go on Beast's.
  auto fields = std::make_shared<vial::headers>(accepted.headers());
  self->ws_.set_option(bws::stream_base::decorator([fields](bws::response_type& res) {
    res.set(beast::http::field::server, "vial");  // as on every other answer
    for (const auto& [name, value] : *fields) {
      if (iequals(name, "Server")) {
        res.set(beast::http::field::server, value);
        continue;
      }
      if (iequals(name, "Content-Length") || iequals(name, "Content-Type") ||
          iequals(name, "Transfer-Encoding") || iequals(name, "Connection") ||
          iequals(name, "Upgrade")) {
        continue;
      }
      res.insert(name, value);
    }
  }));
  asio::co_spawn(self->ws_.get_executor(), run(self, std::move(handshake)), asio::detached);
  return self;
}

websocket_session::websocket_session(server_core& core, std::shared_ptr<connection> owner,
                                     socket_type socket,
                                     std::shared_ptr<detail::websocket_upgrade> upgrade)
    : websocket(std::move(upgrade->request), upgrade->subprotocol),
      core_(core),
      owner_(std::move(owner)),
      ws_(std::move(socket)),
      upgrade_(std::move(upgrade)),
      room_(ws_.get_executor()) {
  const auto& o = *upgrade_->options;
  ws_.set_option(bws::stream_base::timeout{
      .handshake_timeout = o.handshake_timeout,
      .idle_timeout = o.idle_timeout,
      .keep_alive_pings = true,
  });
  ws_.read_message_max(o.max_message_bytes);
  // Beast takes a close code of 5000 or more as valid and echoes it; RFC 6455 7.4.2 defines
  // none there, so such a close fails the connection instead: no echo, the TCP connection ends.
  ws_.control_callback([this](bws::frame_type kind, beast::string_view) {
    if (kind != bws::frame_type::close || ws_.reason().code < 5000) return;
    error_code ignored;
    ws_.next_layer().shutdown(socket_type::shutdown_both, ignored);
  });
  bws::permessage_deflate pmd;
  pmd.server_enable = o.compression;
  ws_.set_option(pmd);
}

websocket_session::~websocket_session() = default;

task<void> websocket_session::run(std::shared_ptr<websocket_session> self, std::string handshake) {
  if (handshake.size() > max_handshake_bytes) {
    // Frames sent before the handshake's answer, more than a client may send: not a client.
    self->close_now();
    co_return;
  }
  auto [ec] = co_await self->ws_.async_accept(asio::buffer(handshake), use_tuple);
  handshake = std::string();
  // The decorator's copy of the headers is not needed past the handshake.
  self->ws_.set_option(bws::stream_base::decorator([](bws::response_type&) {}));
  if (ec || self->state_ != state::handshake) {
    self->close_now();
    co_return;
  }
  self->state_ = state::open;
  if (self->close_after_handshake_ != 0) {
    self->start_close(self->close_after_handshake_, "server stopping");
  } else if (self->core_.stopping.load()) {
    self->start_close(close_code::going_away, "server stopping");
  }

  std::exception_ptr failure;
  try {
    co_await self->upgrade_->handler(*self);
  } catch (const websocket_closed&) {
    // The peer left while the handler was sending: nothing to report.
  } catch (...) {
    failure = std::current_exception();
  }
  if (failure) {
    self->core_.app.logger().error(self->upgrade_->label + ": " + describe_exception(failure));
    co_await self->close(close_code::internal_error, "internal error");
  } else {
    co_await self->close(close_code::normal, {});
  }
}

// ---- receiving ------------------------------------------------------------------------------

task<websocket_message> websocket_session::receive() {
  if (close_delivered_) throw websocket_closed("the WebSocket is closed");
  if (state_ == state::closed) co_return closed_message({});
  auto [ec, n] = co_await ws_.async_read(read_buffer_, use_tuple);
  if (ec) co_return closed_message(ec);
  websocket_message m;
  m.type = ws_.got_text() ? websocket_message::kind::text : websocket_message::kind::binary;
  m.data = beast::buffers_to_string(read_buffer_.data());
  read_buffer_.consume(read_buffer_.size());
  if (read_buffer_.capacity() > kept_read_capacity) read_buffer_.shrink_to_fit();
  co_return m;
}

websocket_message websocket_session::closed_message(error_code ec) {
  if (ec == bws::error::closed) {
    const auto& reason = ws_.reason();
    close_code_ = reason.code == bws::close_code::none ? close_code::no_status
                                                       : static_cast<std::uint16_t>(reason.code);
    close_reason_ = std::string(reason.reason.data(), reason.reason.size());
  } else if (ec && state_ != state::closed) {
    close_code_ = code_of(ec);
  }
  state_ = state::closed;
  close_delivered_ = true;
  queue_.clear();
  room_.cancel();
  websocket_message m;
  m.type = websocket_message::kind::close;
  m.code = close_code_;
  m.data = close_reason_;
  return m;
}

// ---- sending --------------------------------------------------------------------------------

task<void> websocket_session::send(std::string text) {
  return send_message(std::move(text), false);
}

task<void> websocket_session::send_binary(std::string data) {
  return send_message(std::move(data), true);
}

task<void> websocket_session::send_message(std::string data, bool binary) {
  const auto limit = upgrade_->options->max_queued_bytes;
  while (state_ == state::open && queued_bytes_ > 0 && queued_bytes_ + data.size() > limit) {
    room_.expires_at(asio::steady_timer::time_point::max());
    co_await room_.async_wait(use_tuple);
  }
  if (state_ != state::open) throw websocket_closed("the WebSocket is closed");
  enqueue(std::move(data), binary);
}

void websocket_session::post(std::string data, bool binary) {
  auto self = std::static_pointer_cast<websocket_session>(shared_from_this());
  asio::dispatch(ws_.get_executor(), [self, data = std::move(data), binary]() mutable {
    if (self->state_ != state::open) return;
    if (self->queued_bytes_ + data.size() > self->upgrade_->options->max_queued_bytes) {
      return self->start_close(close_code::policy_violation, "reader too slow");
    }
    self->enqueue(std::move(data), binary);
  });
}

void websocket_session::enqueue(std::string data, bool binary) {
  queued_bytes_ += data.size();
  queue_.push_back({std::move(data), binary});
  if (!writing_) write_next();
}

void websocket_session::write_next() {
  if (queue_.empty() || state_ == state::closed) {
    writing_ = false;
    return;
  }
  writing_ = true;
  auto& m = queue_.front();
  ws_.binary(m.binary);
  ws_.async_write(asio::buffer(m.data), [self = std::static_pointer_cast<websocket_session>(
                                             shared_from_this())](error_code ec, std::size_t) {
    if (!self->queue_.empty()) {
      self->queued_bytes_ -= self->queue_.front().data.size();
      self->queue_.pop_front();
    }
    self->room_.cancel();
    if (ec) {
      self->writing_ = false;
      self->queue_.clear();
      self->queued_bytes_ = 0;
      return;
    }
    self->write_next();
  });
}

// ---- closing --------------------------------------------------------------------------------

task<void> websocket_session::close(std::uint16_t code, std::string reason) {
  if (state_ != state::open) co_return;
  state_ = state::closing;
  // What the handler queued goes out before the close frame.
  while (writing_ && state_ == state::closing) {
    room_.expires_at(asio::steady_timer::time_point::max());
    co_await room_.async_wait(use_tuple);
  }
  if (state_ != state::closing) co_return;
  if (reason.size() > 123) reason.resize(123);
  auto [ec] = co_await ws_.async_close(
      bws::close_reason(static_cast<bws::close_code>(code), reason), use_tuple);
  if (ec) close_now();
  state_ = state::closed;
  close_code_ = code;
  room_.cancel();
}

void websocket_session::close_soon(std::uint16_t code, std::string reason) {
  auto self = std::static_pointer_cast<websocket_session>(shared_from_this());
  asio::dispatch(ws_.get_executor(), [self, code, reason = std::move(reason)]() mutable {
    self->start_close(code, std::move(reason));
  });
}

// On the strand. Does not wait for what is queued: the message being written finishes (Beast
// sends the close frame after it), the others are dropped.
void websocket_session::start_close(std::uint16_t code, std::string reason) {
  if (state_ == state::handshake) {
    // The 101 may be on the wire already: close properly once the handshake is done.
    close_after_handshake_ = code;
    return;
  }
  if (state_ != state::open) return;
  state_ = state::closing;
  while (queue_.size() > (writing_ ? 1u : 0u)) {
    queued_bytes_ -= queue_.back().data.size();
    queue_.pop_back();
  }
  room_.cancel();
  if (reason.size() > 123) reason.resize(123);
  ws_.async_close(bws::close_reason(static_cast<bws::close_code>(code), reason),
                  [self = std::static_pointer_cast<websocket_session>(shared_from_this()),
                   code](error_code ec) {
                    if (ec) self->close_now();
                    if (self->state_ != state::closed) self->close_code_ = code;
                  });
}

void websocket_session::shutdown() { start_close(close_code::going_away, "server stopping"); }

void websocket_session::close_now() noexcept {
  error_code ec;
  beast::get_lowest_layer(ws_).close(ec);
  if (state_ != state::closed) state_ = state::closed;
  room_.cancel();
}

}  // namespace vial::server_detail
