#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "server_core.hpp"
#include "vial/app/websocket.hpp"

namespace vial::server_detail {

class connection;

/// One upgraded socket: Beast's websocket stream over the connection's socket, on the
/// connection's strand. The connection hands it the socket, the bytes it read past the
/// upgrade request and the app's 101 response, and stays registered (through `owner_`) so
/// that a graceful stop reaches the session and waits for it.
///
/// Outgoing messages go through one bounded queue written by one write at a time: `send`
/// waits for room, `post` (from any thread) closes a reader too slow to keep up with 1008.
class websocket_session final : public vial::websocket {
 public:
  using socket_type = boost::asio::ip::tcp::socket;

  /// Starts the handshake and then the handler; returns the running session.
  static std::shared_ptr<websocket_session> start(server_core& core,
                                                  std::shared_ptr<connection> owner,
                                                  socket_type socket, std::string leftover,
                                                  response accepted);

  websocket_session(server_core& core, std::shared_ptr<connection> owner, socket_type socket,
                    std::shared_ptr<detail::websocket_upgrade> upgrade);
  ~websocket_session() override;

  /// Graceful stop: closes with 1001. Call on the session's executor.
  void shutdown();
  /// Closes the socket now. Call on the session's executor.
  void close_now() noexcept;

  task<websocket_message> receive() override;
  task<void> send(std::string text) override;
  task<void> send_binary(std::string data) override;
  task<void> close(std::uint16_t code, std::string reason) override;
  void post(std::string data, bool binary) override;
  void close_soon(std::uint16_t code, std::string reason) override;

 private:
  enum class state { handshake, open, closing, closed };
  struct outgoing {
    std::string data;
    bool binary = false;
  };

  static task<void> run(std::shared_ptr<websocket_session> self, std::string handshake);
  task<void> send_message(std::string data, bool binary);
  void enqueue(std::string data, bool binary);
  void write_next();
  void start_close(std::uint16_t code, std::string reason);
  websocket_message closed_message(boost::system::error_code ec);

  server_core& core_;
  std::shared_ptr<connection> owner_;
  boost::beast::websocket::stream<socket_type> ws_;
  std::shared_ptr<detail::websocket_upgrade> upgrade_;
  boost::beast::flat_buffer read_buffer_;
  std::deque<outgoing> queue_;
  std::size_t queued_bytes_ = 0;
  boost::asio::steady_timer room_;  // woken when the queue shrinks or the socket closes
  state state_ = state::handshake;
  bool writing_ = false;
  bool close_delivered_ = false;
  std::uint16_t close_code_ = close_code::abnormal;
  std::uint16_t close_after_handshake_ = 0;
  std::string close_reason_;
};

}  // namespace vial::server_detail
