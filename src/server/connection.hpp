#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include "request_reader.hpp"
#include "server_core.hpp"
#include "vial/detail/request_executor.hpp"
#include "vial/http/request.hpp"
#include "vial/http/response.hpp"

namespace vial::server_detail {

class websocket_session;

/// One accepted socket, as a state machine that runs on its own strand:
/// read (parser with limits, deadline) → dispatch (inline or queued through the gate) → write
/// (one gather-write, or chunked for streams) → keep alive or close.
///
/// Deadlines use one lazily re-armed timer: moving a deadline later is a store, so a busy
/// keep-alive connection touches its timer about once per keep-alive period, not per request.
class connection : public std::enable_shared_from_this<connection> {
 public:
  using socket_type = boost::asio::ip::tcp::socket;
  using executor_type = socket_type::executor_type;
  using clock = std::chrono::steady_clock;

  /// A connection registered with `core` (a graceful stop waits for it from here on).
  static std::shared_ptr<connection> open(server_core& core, socket_type socket);

  connection(server_core& core, socket_type socket);  // unregistered: use open
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  void start();
  /// Graceful stop: the current or next request is answered with Connection: close, then the
  /// connection closes. An idle connection closes at once unless it was active less than a
  /// moment ago (its client may be sending the next request). Call on the connection's
  /// executor.
  void shutdown();
  /// Closes now, stopping any stream. Call on the connection's executor.
  void close();
  /// Closes the connection if it is still waiting for a request (to make room for a new one at
  /// max_connections). Call on the connection's executor.
  void close_if_idle();
  /// When the connection started waiting for a request (clock ticks), or 0 while it is busy.
  /// Safe from any thread.
  clock::rep idle_since() const noexcept { return idle_mark_.load(); }
  executor_type executor() { return socket_.get_executor(); }

  /// Bytes of read buffer that every connection of the process holds together, for tests and
  /// diagnostics: a connection holds one only while part of a request is being read.
  static std::size_t read_buffer_bytes() noexcept;

 private:
  enum class phase { idle, header, body, busy, stream, linger, closed };
  enum class deadline { none, idle, header, body, write, linger };

  void close_idle();
  void begin_request();
  void enter_header();
  void read_more();
  void on_readable(boost::system::error_code ec);
  void on_read(boost::system::error_code ec, std::size_t n);
  boost::asio::mutable_buffer prepare_read();
  void release_buffer() noexcept;
  void account_buffer() noexcept;
  void parse();
  bool on_body();
  void on_complete();
  void run_dispatch();
  void note_for_access_log(const request& req);
  void run_on_loop(const detail::request_scope_options& options);
  void finish_on_loop(std::exception_ptr error, response r);
  void watch_client();
  void on_client_readable(boost::system::error_code ec, std::uint64_t exchange);
  void write_response(response r);
  void finish_exchange();
  void reject(int status, bool close, std::string_view extra = {});
  void linger_close();
  void linger_more();
  void on_linger_readable(boost::system::error_code ec);
  void log_access(int status);
  /// Hands the socket to a WebSocket session (websocket_session.cpp) and stays registered,
  /// without I/O of its own, until the session ends.
  void start_websocket();

  void start_stream();
  void next_chunk();
  void produce_sync();
  void on_chunk(std::exception_ptr error, std::optional<std::string> chunk);
  void client_gone();
  void close_stream() noexcept;

  void set_deadline(deadline kind, std::chrono::milliseconds after);
  void clear_deadline() noexcept { deadline_kind_ = deadline::none; }
  void arm_timer();
  void on_timer(boost::system::error_code ec, std::uint64_t generation);

  server_core& core_;
  socket_type socket_;
  // On the strand's own type: the socket's type-erased executor is 32 bytes more per connection.
  boost::asio::basic_waitable_timer<clock, boost::asio::wait_traits<clock>,
                                    boost::asio::strand<boost::asio::io_context::executor_type>>
      timer_;
  // Holds storage only while part of a request is being read: released whenever it is empty
  // and the connection waits (idle, in flight, streaming), so a held connection costs little.
  boost::beast::flat_buffer buffer_;
  std::size_t buffer_accounted_ = 0;  // buffer_'s capacity as counted in read_buffer_bytes
  request_reader reader_;             // also keeps the peer's address
  struct noted_request {
    std::string client, request_id, referer, user_agent;
    void clear() {
      client.clear();
      request_id.clear();
      referer.clear();
      user_agent.clear();
    }
  };
  // From the dispatched request, for the access record: made only with an access log.
  std::unique_ptr<noted_request> logged_;
  phase phase_ = phase::idle;
  bool reading_ = false;
  bool closed_ = false;
  bool shutting_down_ = false;
  bool timed_out_ = false;
  std::size_t lingered_ = 0;

  // The exchange in progress.
  // The request and its route live in reader_, where they were built.
  response response_;
  // What is being written besides the body: the head, a stock response, or a chunk's size line
  // (a stream's head is written before its first chunk).
  std::string head_;
  clock::time_point started_;
  clock::time_point idle_since_{};
  std::atomic<clock::rep> idle_mark_{0};  // read by the acceptor to pick whom to close
  bool closing_for_room_ = false;         // asked by close_if_idle, not closed yet
  std::size_t body_bytes_ = 0;
  bool keep_alive_ = true;
  bool http10_ = false;
  bool is_head_ = false;

  // A request on the event loop, and noticing a client that leaves while a request waits or
  // runs.
  std::shared_ptr<detail::request_scope> scope_;
  boost::asio::cancellation_signal loop_cancel_;
  bool watching_ = false;
  bool queued_ = false;          // the request waits in the dispatch gate for a worker
  std::uint64_t exchanges_ = 0;  // requests completed, so a watch knows whose it was

  // Streaming.
  std::shared_ptr<body_stream> stream_;
  std::string chunk_;
  boost::asio::cancellation_signal cancel_;
  bool chunked_ = false;
  bool stream_closed_ = false;
  bool client_gone_ = false;
  bool producing_ = false;  // a sync stream's next() runs off the strand

  // After an upgrade: the session that owns the socket now.
  std::weak_ptr<websocket_session> websocket_;

  // Deadline.
  deadline deadline_kind_ = deadline::none;
  clock::time_point deadline_at_{};
  clock::time_point armed_at_{};
  bool timer_armed_ = false;
  std::uint64_t timer_generation_ = 0;
};

}  // namespace vial::server_detail
