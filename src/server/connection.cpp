#include "connection.hpp"

#include <array>
#include <charconv>
#include <utility>
#include <vector>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>

#include "vial/log.hpp"
#include "vial/app/app.hpp"
#include "vial/app/stream.hpp"
#include "vial/http/error.hpp"
#include "wire.hpp"

namespace vial::server_detail {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using boost::system::error_code;

namespace {

constexpr std::size_t read_chunk = 8192;
constexpr std::chrono::milliseconds linger_time{1000};
constexpr std::size_t linger_max_bytes = 1024 * 1024;
// At a graceful stop, an idle connection that finished a response (or was accepted) less than
// this long ago is presumed to be a client in a request loop whose next request may already be
// on the wire: it gets until then to send it (answered with Connection: close). Closing it at
// once would race that request and cut it, which the client sees as an empty reply or a reset.
constexpr std::chrono::milliseconds shutdown_idle_grace{1000};


// The status a parser error answers; framing errors all close the connection.
int status_for(const error_code& ec) {
  if (ec == http::error::header_limit) return 431;
  if (ec == http::error::body_limit) return 413;
  if (ec == http::error::bad_version) return 505;
  return 400;
}

std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find('?'));
}

}  // namespace

connection::connection(server_core& core, socket_type socket)
    : core_(core), socket_(std::move(socket)), timer_(socket_.get_executor()) {
  error_code ec;
  auto ep = socket_.remote_endpoint(ec);
  if (!ec) {
    remote_ = ep.address().to_string();
    remote_.push_back(':');
    remote_.append(std::to_string(ep.port()));
  }
  core_.add(this);
}

connection::~connection() { core_.remove(this); }

void connection::start() {
  error_code ec;
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  // Accepted while the server stops (from the listen queue): one request, then close.
  shutting_down_ = core_.stopping.load();
  begin_request();
  parse();
}

void connection::shutdown() {
  shutting_down_ = true;
  if (phase_ != phase::idle || buffer_.size() > 0) return;  // answers, then closes
  const auto now = clock::now();
  const auto close_at = idle_since_ + shutdown_idle_grace;
  if (now < close_at) {
    if (close_at < deadline_at_) {
      set_deadline(deadline::idle, std::chrono::ceil<std::chrono::milliseconds>(close_at - now));
    }
    return;
  }
  error_code ec;
  if (socket_.available(ec) > 0 && !ec) return;  // a request is arriving: serve it
  close_idle();
}

void connection::close_idle() {
  if (!reading_) return close();
  // A read may already hold a request whose handler is queued: cancel rather than close, and
  // let on_read decide.
  error_code ec;
  socket_.cancel(ec);
}

void connection::close() {
  if (closed_) return;
  closed_ = true;
  phase_ = phase::closed;
  cancel_.emit(asio::cancellation_type::terminal);
  close_stream();
  clear_deadline();
  timer_.cancel();
  error_code ec;
  socket_.close(ec);
}

// ---- reading -------------------------------------------------------------------------------

void connection::begin_request() {
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(core_.options.max_header_bytes));
  parser_->body_limit(boost::none);  // set per route once the header is known
  parser_->eager(false);
  header_checked_ = false;
  request_line_seen_ = false;
  timed_out_ = false;
  body_bytes_ = 0;
  method_.clear();
  target_.clear();
  phase_ = phase::idle;
  if (buffer_.size() > 0) {
    enter_header();
  } else {
    idle_since_ = clock::now();
    set_deadline(deadline::idle,
                 shutting_down_ ? std::min(core_.options.keep_alive_timeout, shutdown_idle_grace)
                                : core_.options.keep_alive_timeout);
  }
}

void connection::enter_header() {
  phase_ = phase::header;
  started_ = clock::now();
  set_deadline(deadline::header, core_.options.header_timeout);
}

void connection::read_more() {
  if (reading_ || closed_) return;
  reading_ = true;
  socket_.async_read_some(buffer_.prepare(read_chunk),
                          [self = shared_from_this()](error_code ec, std::size_t n) {
                            self->on_read(ec, n);
                          });
}

void connection::on_read(error_code ec, std::size_t n) {
  reading_ = false;
  if (closed_) return;
  if (ec) {
    if (phase_ == phase::stream) return client_gone();
    if (ec == asio::error::operation_aborted && phase_ == phase::idle) return close();
    if (timed_out_ && (phase_ == phase::header || phase_ == phase::body)) {
      return reject(408, true);
    }
    return close();
  }
  buffer_.commit(n);
  switch (phase_) {
    case phase::stream:
      return;  // pipelined bytes wait in the buffer; the stream goes on
    case phase::linger:
      lingered_ += buffer_.size();
      buffer_.clear();
      if (lingered_ > linger_max_bytes) return close();
      return read_more();
    case phase::busy:
      return;
    case phase::idle:
      enter_header();
      break;
    default:
      break;
  }
  parse();
}

void connection::parse() {
  if (closed_) return;
  for (;;) {
    if (buffer_.size() == 0) return read_more();
    if (!request_line_seen_) {
      // Beast has no request-target limit of its own: measure it before the header limit hits.
      // Only until Beast consumes the request line (it consumes nothing before the line is
      // whole): after that the buffer starts inside the header fields.
      auto data = std::string_view(static_cast<const char*>(buffer_.data().data()), buffer_.size());
      if (auto sp = data.find(' '); sp != std::string_view::npos) {
        auto end = data.find_first_of(" \r\n", sp + 1);
        auto len = (end == std::string_view::npos ? data.size() : end) - (sp + 1);
        if (len > core_.options.max_uri_bytes) return reject(414, true);
      }
    }
    error_code ec;
    auto used = parser_->put(buffer_.data(), ec);
    buffer_.consume(used);
    if (used > 0) request_line_seen_ = true;
    if (ec == http::error::need_more) return read_more();
    if (ec) return reject(status_for(ec), true);
    if (parser_->is_header_done() && !header_checked_) {
      if (!on_header()) return;
    }
    if (parser_->is_done()) return on_complete();
  }
}

bool connection::on_header() {
  header_checked_ = true;
  const auto& h = parser_->get();
  method_ = std::string(h.method_string());
  target_ = std::string(h.target());
  if (h.version() != 10 && h.version() != 11) {
    reject(505, true);
    return false;
  }
  // RFC 9112 3.2: exactly one valid Host in HTTP/1.1.
  auto hosts = h.count(http::field::host);
  if (hosts > 1 || (hosts == 0 && h.version() == 11) ||
      (hosts == 1 && !valid_host(h[http::field::host]))) {
    reject(400, true);
    return false;
  }
  if (h.count(http::field::transfer_encoding) > 0) {
    if (h.count(http::field::content_length) > 0) {
      reject(400, true);
      return false;
    }
    std::vector<std::string_view> fields;
    for (auto it = h.find(http::field::transfer_encoding);
         it != h.end() && it->name() == http::field::transfer_encoding; ++it) {
      fields.push_back(it->value());
    }
    auto check = check_transfer_codings(fields);
    if (check != coding_check::ok) {
      reject(check == coding_check::bad_request ? 400 : 501, true);
      return false;
    }
  }
  std::size_t limit = core_.options.max_body_bytes;
  if (auto route = core_.app.body_limit(method_, path_of(target_))) limit = *route;
  if (auto length = parser_->content_length(); length && *length > limit) {
    reject(413, true);  // without reading the body
    return false;
  }
  parser_->body_limit(limit);
  parser_->eager(true);
  if (parser_->is_done()) return true;
  phase_ = phase::body;
  set_deadline(deadline::body, core_.options.body_timeout);
  if (h.version() == 11 && buffer_.size() == 0) {
    auto expect = h[http::field::expect];
    if (iequals(expect, "100-continue")) {
      static constexpr std::string_view go_on = "HTTP/1.1 100 Continue\r\n\r\n";
      asio::async_write(socket_, asio::buffer(go_on.data(), go_on.size()),
                        [self = shared_from_this()](error_code ec, std::size_t) {
                          if (ec || self->closed_) return self->close();
                          self->read_more();
                        });
      return false;
    }
  }
  return true;
}

void connection::on_complete() {
  auto msg = parser_->release();
  parser_.reset();
  keep_alive_ = msg.keep_alive() && !shutting_down_ && !core_.stopping.load();
  http10_ = msg.version() == 10;
  is_head_ = msg.method() == http::verb::head;
  phase_ = phase::busy;
  clear_deadline();
  vial::headers fields;
  for (const auto& f : msg) fields.add(f.name_string(), f.value());
  try {
    request_.emplace(method_, target_, std::move(fields), std::move(msg.body()));
  } catch (const http_error& e) {
    return reject(e.status(), false);
  }
  request_->set_version(static_cast<int>(msg.version()));
  request_->set_remote_address(remote_);
  if (core_.gate.try_acquire()) return run_dispatch();
  auto job = [self = shared_from_this()] {
    asio::dispatch(self->socket_.get_executor(), [self] { self->run_dispatch(); });
  };
  if (!core_.gate.enqueue(std::move(job), true)) {
    request_.reset();
    reject(503, false, "Retry-After: 1\r\n");
  }
}

// ---- dispatch and write ----------------------------------------------------------------------

void connection::run_dispatch() {
  response r;
  try {
    r = core_.app.dispatch(*request_);
  } catch (...) {
    core_.app.logger().error(method_ + " " + target_ + ": " + describe_exception(std::current_exception()));
    r = response::text("500 Internal Server Error\n", 500);
  }
  core_.gate.release();
  request_.reset();
  if (closed_) return;
  write_response(std::move(r));
}

void connection::write_response(response r) {
  response_ = std::move(r);
  if (shutting_down_ || core_.stopping.load()) keep_alive_ = false;
  if (response_.is_stream()) return start_stream();
  const bool bodiless = bodiless_status(response_.status());
  head_.clear();
  serialize_head(head_, response_, response_.body().size(),
                 head_framing{.keep_alive = keep_alive_, .http10 = http10_, .no_length = bodiless});
  body_bytes_ = (is_head_ || bodiless) ? 0 : response_.body().size();
  set_deadline(deadline::write, core_.options.write_timeout);
  std::array<asio::const_buffer, 2> buffers{asio::buffer(head_),
                                            asio::buffer(response_.body().data(), body_bytes_)};
  asio::async_write(socket_, buffers, [self = shared_from_this()](error_code ec, std::size_t) {
    if (ec) return self->close();
    self->log_access(self->response_.status());
    self->finish_exchange();
  });
}

void connection::finish_exchange() {
  response_ = response();
  if (closed_) return;
  // A response that still promised keep-alive (the stop came while it was being written) is
  // followed by begin_request's short grace, not a close: the next request may be on its way.
  if (!keep_alive_) return linger_close();
  begin_request();
  parse();
}

void connection::reject(int status, bool close_after, std::string_view extra) {
  stock_ = stock_response(status, close_after, extra);
  if (close_after) {
    keep_alive_ = false;
    parser_.reset();
  }
  phase_ = phase::busy;
  body_bytes_ = 0;
  log_access(status);
  set_deadline(deadline::write, core_.options.write_timeout);
  asio::async_write(socket_, asio::buffer(stock_),
                    [self = shared_from_this(), close_after](error_code ec, std::size_t) {
                      if (ec) return self->close();
                      if (close_after) return self->linger_close();
                      self->finish_exchange();
                    });
}

// Half-closes, then reads and drops what the client still sends for a moment, so that the
// answer is not destroyed by a reset when unread bytes remain (RFC 9112 9.6).
void connection::linger_close() {
  if (closed_) return;
  phase_ = phase::linger;
  error_code ec;
  socket_.shutdown(socket_type::shutdown_send, ec);
  if (ec) return close();
  buffer_.clear();
  set_deadline(deadline::linger, linger_time);
  read_more();
}

void connection::log_access(int status) {
  if (!core_.options.access_log) return;
  access_record record{
      .remote = remote_,
      .method = method_.empty() ? std::string("-") : method_,
      .target = target_.empty() ? std::string("-") : target_,
      .status = status,
      .bytes = body_bytes_,
      .duration = std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - started_),
  };
  try {
    core_.options.access_log(record);
  } catch (...) {
    core_.app.logger().error("access log sink failed: " + describe_exception(std::current_exception()));
  }
}

// ---- streaming -----------------------------------------------------------------------------

void connection::start_stream() {
  stream_ = response_.stream();
  stream_closed_ = false;
  client_gone_ = false;
  const bool no_body = is_head_ || bodiless_status(response_.status());
  chunked_ = !http10_ && !no_body;
  if (http10_) keep_alive_ = false;  // the end of the body is the end of the connection
  head_.clear();
  serialize_head(head_, response_, 0,
                 head_framing{.keep_alive = keep_alive_, .http10 = http10_, .chunked = chunked_,
                              .no_length = !chunked_});
  phase_ = phase::stream;
  set_deadline(deadline::write, core_.options.write_timeout);
  asio::async_write(socket_, asio::buffer(head_),
                    [self = shared_from_this(), no_body](error_code ec, std::size_t) {
                      if (ec) return self->close();
                      if (no_body) {
                        self->close_stream();
                        self->stream_.reset();
                        self->log_access(self->response_.status());
                        return self->finish_exchange();
                      }
                      self->clear_deadline();
                      self->read_more();  // notices a client that leaves mid-stream
                      self->next_chunk();
                    });
}

void connection::next_chunk() {
  if (closed_) return;
  if (client_gone_) return close();
  if (stream_->is_async()) {
    auto source = std::static_pointer_cast<async_body_stream>(stream_);
    asio::co_spawn(socket_.get_executor(), source->next_async(),
                   asio::bind_cancellation_slot(
                       cancel_.slot(), [self = shared_from_this()](
                                           std::exception_ptr e, std::optional<std::string> c) {
                         self->on_chunk(e, std::move(c));
                       }));
    return;
  }
  // A sync generator may block: it takes a dispatch slot like a request does.
  if (core_.gate.try_acquire()) return produce_sync();
  core_.gate.enqueue(
      [self = shared_from_this()] {
        asio::dispatch(self->socket_.get_executor(), [self] { self->produce_sync(); });
      },
      false);
}

void connection::produce_sync() {
  std::optional<std::string> chunk;
  std::exception_ptr error;
  if (!closed_ && !client_gone_) {
    try {
      chunk = stream_->next();
    } catch (...) {
      error = std::current_exception();
    }
  }
  core_.gate.release();
  on_chunk(error, std::move(chunk));
}

void connection::on_chunk(std::exception_ptr error, std::optional<std::string> chunk) {
  if (closed_) return;
  if (client_gone_) return close();
  if (error) {
    // The status is gone already: cut the body short so the client sees it is incomplete.
    core_.app.logger().error("stream of " + method_ + " " + target_ +
                             " failed: " + describe_exception(error));
    return close();
  }
  if (!chunk) {
    stream_.reset();  // finished by itself: nothing to close
    log_access(response_.status());
    if (!chunked_) return linger_close();
    static constexpr std::string_view last = "0\r\n\r\n";
    set_deadline(deadline::write, core_.options.write_timeout);
    asio::async_write(socket_, asio::buffer(last.data(), last.size()),
                      [self = shared_from_this()](error_code ec, std::size_t) {
                        if (ec) return self->close();
                        self->finish_exchange();
                      });
    return;
  }
  if (chunk->empty()) return next_chunk();  // an empty chunk would end the body
  body_bytes_ += chunk->size();
  chunk_ = std::move(*chunk);
  char hex[20];
  auto [end, ec] = std::to_chars(hex, hex + sizeof hex, chunk_.size(), 16);
  (void)ec;
  chunk_size_.assign(hex, end);
  chunk_size_.append("\r\n");
  static constexpr std::string_view crlf = "\r\n";
  std::array<asio::const_buffer, 3> buffers{
      asio::buffer(chunk_size_), asio::buffer(chunk_), asio::buffer(crlf.data(), crlf.size())};
  auto on_written = [self = shared_from_this()](error_code ec, std::size_t) {
    if (ec) return self->close();
    self->clear_deadline();
    self->next_chunk();
  };
  set_deadline(deadline::write, core_.options.write_timeout);
  if (chunked_) {
    asio::async_write(socket_, buffers, std::move(on_written));
  } else {
    asio::async_write(socket_, asio::buffer(chunk_), std::move(on_written));
  }
}

void connection::client_gone() {
  client_gone_ = true;
  cancel_.emit(asio::cancellation_type::terminal);
  error_code ec;
  socket_.cancel(ec);  // a pending chunk write fails now rather than at the write deadline
}

void connection::close_stream() noexcept {
  if (stream_ && !stream_closed_) {
    stream_closed_ = true;
    stream_->close();
  }
}

// ---- deadlines -----------------------------------------------------------------------------

void connection::set_deadline(deadline kind, std::chrono::milliseconds after) {
  deadline_kind_ = kind;
  deadline_at_ = clock::now() + after;
  if (!timer_armed_ || deadline_at_ < armed_at_) arm_timer();
}

void connection::arm_timer() {
  timer_armed_ = true;
  armed_at_ = deadline_at_;
  auto generation = ++timer_generation_;
  timer_.expires_at(deadline_at_);
  timer_.async_wait([self = shared_from_this(), generation](error_code ec) {
    self->on_timer(ec, generation);
  });
}

void connection::on_timer(error_code ec, std::uint64_t generation) {
  if (generation != timer_generation_) return;  // superseded by an earlier deadline
  timer_armed_ = false;
  if (ec || closed_ || deadline_kind_ == deadline::none) return;
  if (clock::now() < deadline_at_) return arm_timer();  // the deadline moved later meanwhile
  switch (deadline_kind_) {
    case deadline::header:
    case deadline::body: {
      timed_out_ = true;
      deadline_kind_ = deadline::none;
      error_code ignored;
      socket_.cancel(ignored);  // the pending read answers 408
      return;
    }
    case deadline::idle:
      return close_idle();
    default:
      return close();
  }
}

}  // namespace vial::server_detail
