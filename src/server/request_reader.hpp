#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "vial/app/app.hpp"
#include "vial/http/request.hpp"

namespace vial {
struct server_options;
}  // namespace vial

namespace vial::server_detail {

/// What `request_reader::feed` got to.
enum class read_state {
  need_more,  ///< every byte offered was used or is held back: read more
  body,       ///< the header was accepted and a body follows (arm the body deadline; a client
              ///< may be waiting for 100 Continue)
  complete,   ///< a request is ready: `take_request()`
  refused,    ///< a request the app must refuse (a bad target, a body over the limit):
              ///< `take_request()` has its `refusal()`; the connection stays open unless
              ///< `keep_alive()` is false (the body was not read)
  failed,     ///< answer `status()` and close: the byte stream can no longer be trusted
};

/// What one `feed` consumed and where it stopped.
struct read_step {
  read_state state = read_state::need_more;
  std::size_t used = 0;
};

/// Turns the bytes of a connection into requests, one at a time: Beast's parser with the
/// server's limits, plus the checks Beast leaves to the server (request-target length, Host,
/// Transfer-Encoding and Content-Length framing, obs-fold, the per-route body limit, each
/// chunk-size line and the trailer section). Every byte it asks the caller to keep is bounded
/// by a limit. The request is built from the header section alone, so chunked trailer fields
/// never reach it. It does no I/O, so the connection and the request fuzz target run the same
/// code. Between requests (after `reset()`, before the next `feed`) and while a request is
/// answered (after `release()`) it holds no parser and no request.
/// Distinct objects: safe. Shared objects: unsafe.
class request_reader {
 public:
  /// Both must outlive the reader.
  request_reader(const vial::app& app, const server_options& options);
  ~request_reader();
  request_reader(const request_reader&) = delete;
  request_reader& operator=(const request_reader&) = delete;

  /// The peer's address ("127.0.0.1:53122"), given to each request before the app routes it
  /// (the app may replace it with the client's behind trusted proxies).
  void set_remote_address(std::string address) { remote_ = std::move(address); }
  /// "address:port" of the peer, or empty.
  const std::string& remote_address() const noexcept { return remote_; }
  /// Starts the next request, releasing what the last one kept.
  void reset() noexcept;
  /// Parses from `data`, the bytes not consumed yet, oldest first. Stops after the header
  /// (`body`), at the end of a message, on an error, or when it needs more bytes; bytes past
  /// the end of the message (a pipelined request) are left unused.
  read_step feed(std::string_view data);

  /// The status to answer after `refused` or `failed`.
  int status() const noexcept;
  /// The method and request-target as sent; empty before the header is parsed (and after
  /// `reset()`).
  const std::string& method() const noexcept;
  const std::string& target() const noexcept;
  /// After `body`: an HTTP/1.1 client that sent `Expect: 100-continue`.
  bool expects_continue() const noexcept;
  /// After `body`, `complete` or `refused`: whether the message allows another one on the
  /// connection, whether it was HTTP/1.0, whether it was HEAD.
  bool keep_alive() const noexcept;
  bool http10() const noexcept;
  bool is_head() const noexcept;
  /// After `complete` or `refused`: the request, with its version set, routed by the app. It
  /// is built here and stays here while it is answered (a request is not moved: its 20-odd
  /// members cost more to move than to build), until `drop_request()` or `reset()`.
  request& current_request() noexcept { return *request_; }
  /// Where the app routed it, for `app::dispatch(request, route)`, which then does not route
  /// it again. Valid until the next request's header is read (it holds nothing the request
  /// did not take).
  const matched_route& route() const noexcept { return route_; }
  /// Destroys the request (the connection frees it before writing the response).
  void drop_request() noexcept;
  /// The request, moved out (tests and the fuzz target).
  request take_request();
  /// After `complete` or `refused`: frees the parser state while the request is
  /// answered (a request held on the event loop would keep it for nothing). Only `method()`
  /// and `target()`, which the access log names, stay until `reset()`.
  void release() noexcept;

  /// Parser states alive in the process, for tests: a reader holds one only while it reads a
  /// request.
  static std::size_t states() noexcept;

 private:
  struct impl;
  impl& state();  // the current request's state, made by the first feed after a reset

  const vial::app& app_;
  const server_options& options_;
  std::string remote_;
  std::string method_;  // outlive the state, for the access log
  std::string target_;
  std::optional<request> request_;
  matched_route route_;
  std::unique_ptr<impl> impl_;
};

}  // namespace vial::server_detail
