#include "connection.hpp"

#include <sys/socket.h>
#include <time.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <utility>
#include <vector>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/write.hpp>
#include <boost/assert.hpp>

#include "http/internal_error.hpp"
#include "server_threads.hpp"
#include "vial/app/app.hpp"
#include "vial/app/stream.hpp"
#include "vial/http/error.hpp"
#include "vial/log.hpp"
#include "websocket_session.hpp"
#include "wire.hpp"

namespace vial::server_detail {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

// The time for deadlines, which are whole seconds or close to it: the kernel's tick-old copy of
// the monotonic clock (CLOCK_MONOTONIC_COARSE, the same epoch as steady_clock), read in about
// 9 ns against 31 for the precise one on a VM's TSC; a request sets two or three deadlines. A
// deadline may fire one tick (1-4 ms) early.
connection::clock::time_point coarse_now() noexcept {
#ifdef CLOCK_MONOTONIC_COARSE
  timespec ts{};
  if (::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) == 0) {
    return connection::clock::time_point(std::chrono::duration_cast<connection::clock::duration>(
        std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec)));
  }
#endif
  return connection::clock::now();
}

// A connection waits for bytes with no buffer at all (a readiness wait), then reads into a
// small one, which grows only for a request that needs more (a long header, a body).
constexpr std::size_t first_read = 1024;
constexpr std::size_t read_chunk = 8192;
// A buffer left larger than this by a large request is shrunk when the next request starts.
constexpr std::size_t keep_capacity = 64 * 1024;
std::atomic<std::size_t> read_buffer_total{0};
constexpr std::chrono::milliseconds linger_time{1000};
// What a closing connection reads and drops so that its answer is not lost to a reset: enough
// for a client still sending a modest body after a 413, and small, because a flood of
// connections that each send without end would otherwise make the server read a megabyte per
// connection (bench/hostile_memory: /hello at 70-110 ms p50 under such floods with 1 MiB,
// 4-9 ms with 128 KiB).
constexpr std::size_t linger_max_bytes = 128 * 1024;
// At a graceful stop, an idle connection that finished a response (or was accepted) less than
// this long ago is presumed to be a client in a request loop whose next request may already be
// on the wire: it gets until then to send it (answered with Connection: close). Closing it at
// once would race that request and cut it, which the client sees as an empty reply or a reset.
constexpr std::chrono::milliseconds shutdown_idle_grace{1000};
// How long after an event-loop request ended its work count is read to report leftovers.
constexpr std::chrono::milliseconds leftover_settle{20};

}  // namespace

connection::connection(server_core& core, socket_type socket)
    : core_(core),
      socket_(std::move(socket)),
      timer_(*socket_.get_executor().target<asio::strand<asio::io_context::executor_type>>()),
      reader_(core.app, core.options) {
  error_code ec;
  auto ep = socket_.remote_endpoint(ec);
  if (!ec) {
    std::string remote = ep.address().to_string();
    remote.push_back(':');
    remote.append(std::to_string(ep.port()));
    reader_.set_remote_address(std::move(remote));
  }
}

std::shared_ptr<connection> connection::open(server_core& core, socket_type socket) {
  auto c = std::make_shared<connection>(core, std::move(socket));
  // Registered only once make_shared has set up weak_from_this, which a graceful stop reads
  // from another thread as soon as the connection is in the set.
  core.add(c.get());
  return c;
}

connection::~connection() {
  read_buffer_total.fetch_sub(buffer_accounted_, std::memory_order_relaxed);
  core_.remove(this);
}

std::size_t connection::read_buffer_bytes() noexcept {
  return read_buffer_total.load(std::memory_order_relaxed);
}

void connection::start() {
  error_code ec;
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  // on_readable reads what a readiness wait announced without blocking.
  socket_.non_blocking(true, ec);
  // Accepted while the server stops (from the listen queue): one request, then close.
  shutting_down_ = core_.stopping.load();
  begin_request();
  parse();
}

void connection::shutdown() {
  if (auto ws = websocket_.lock()) return ws->shutdown();
  shutting_down_ = true;
  // A stream's producer is asked to finish; the end of its body then closes the connection.
  if (phase_ == phase::stream && stream_) stream_->request_stop();
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

void connection::close_if_idle() {
  if (phase_ != phase::idle || closed_ || buffer_.size() > 0) return core_.kept(this);
  closing_for_room_ = true;
  close_idle();  // a request already read is still served, then enter_header reports it kept
}

void connection::close() {
  if (auto ws = websocket_.lock()) ws->close_now();
  if (closed_) return;
  closed_ = true;
  idle_mark_ = 0;
  phase_ = phase::closed;
  cancel_.emit(asio::cancellation_type::terminal);
  if (scope_) loop_cancel_.emit(asio::cancellation_type::terminal);
  close_stream();
  clear_deadline();
  timer_.cancel();
  error_code ec;
  socket_.close(ec);
}

// ---- reading -------------------------------------------------------------------------------

void connection::begin_request() {
  reader_.reset();
  if (buffer_.capacity() > keep_capacity) {
    buffer_.shrink_to_fit();  // after a large request: keep only what is pipelined
    account_buffer();
  }
  if (logged_) logged_->clear();
  timed_out_ = false;
  body_bytes_ = 0;
  phase_ = phase::idle;
  if (buffer_.size() > 0) {
    enter_header();
  } else {
    idle_since_ = clock::now();  // orders idle connections: precise, so no two tie
    set_deadline(deadline::idle,
                 shutting_down_ ? std::min(core_.options.keep_alive_timeout, shutdown_idle_grace)
                                : core_.options.keep_alive_timeout);
    idle_mark_ = std::max<clock::rep>(1, idle_since_.time_since_epoch().count());
    core_.wake_acceptor();  // at max_connections, this one may be closed to make room
  }
}

void connection::enter_header() {
  idle_mark_ = 0;
  if (closing_for_room_) {
    closing_for_room_ = false;
    core_.kept(this);
  }
  phase_ = phase::header;
  if (core_.options.access_log) started_ = clock::now();  // the logged duration only
  set_deadline(deadline::header, core_.options.header_timeout);
}

void connection::read_more() {
  if (reading_ || closed_) return;
  reading_ = true;
  if (buffer_.size() == 0 &&
      (phase_ == phase::idle || phase_ == phase::busy || phase_ == phase::stream)) {
    // Between requests, and while a request is in flight or a stream is written, nothing of a
    // request is held. Try the socket first, as Asio's own read does: under load the next
    // request is often there already. Handled here, not posted: what follows a read in these
    // phases reads again only through an asynchronous operation, so this never recurses.
    std::array<char, first_read> bytes;
    error_code ec;
    const std::size_t n = socket_.read_some(asio::buffer(bytes), ec);
    if (ec != asio::error::would_block && ec != asio::error::try_again) {
      if (n > 0) std::memcpy(prepare_read().data(), bytes.data(), n);  // on_read commits it
      return on_read(ec, n);
    }
    // Then wait for readiness without a buffer, so a connection that waits holds none.
    release_buffer();
    socket_.async_wait(socket_type::wait_read,
                       [self = shared_from_this()](error_code ec) { self->on_readable(ec); });
    return;
  }
  socket_.async_read_some(
      prepare_read(),
      [self = shared_from_this()](error_code ec, std::size_t n) { self->on_read(ec, n); });
}

void connection::on_readable(error_code ec) {
  if (ec || closed_) return on_read(ec, 0);
  const std::size_t n = socket_.read_some(prepare_read(), ec);
  if (ec == asio::error::would_block || ec == asio::error::try_again) {
    reading_ = false;  // woken for nothing: wait again
    return read_more();
  }
  on_read(ec, n);
}

asio::mutable_buffer connection::prepare_read() {
  auto space = buffer_.prepare(buffer_.capacity() == 0 ? first_read : read_chunk);
  account_buffer();
  return space;
}

void connection::release_buffer() noexcept {
  if (buffer_.size() != 0 || buffer_.capacity() == 0) return;
  buffer_.shrink_to_fit();  // frees the storage when empty
  account_buffer();
}

void connection::account_buffer() noexcept {
  const std::size_t now = buffer_.capacity();
  if (now > buffer_accounted_) {
    read_buffer_total.fetch_add(now - buffer_accounted_, std::memory_order_relaxed);
  } else {
    read_buffer_total.fetch_sub(buffer_accounted_ - now, std::memory_order_relaxed);
  }
  buffer_accounted_ = now;
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
      // A read started before the answer: what it got is counted, then dropped.
      lingered_ += buffer_.size();
      buffer_.clear();
      release_buffer();
      if (lingered_ > linger_max_bytes) return close();
      return linger_more();
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
    auto step = reader_.feed(
        std::string_view(static_cast<const char*>(buffer_.data().data()), buffer_.size()));
    buffer_.consume(step.used);
    switch (step.state) {
      case read_state::need_more:
        return read_more();
      case read_state::failed:
        return reject(reader_.status(), true);
      case read_state::refused:
      case read_state::complete:
        release_buffer();  // nothing pipelined: the request in flight holds no buffer
        return on_complete();
      case read_state::body:
        if (!on_body()) return;
        break;
    }
  }
}

// The header was accepted and a body follows. False when the read goes on elsewhere (after
// 100 Continue has been sent).
bool connection::on_body() {
  phase_ = phase::body;
  set_deadline(deadline::body, core_.options.body_timeout);
  if (reader_.expects_continue() && buffer_.size() == 0) {
    static constexpr std::string_view go_on = "HTTP/1.1 100 Continue\r\n\r\n";
    asio::async_write(socket_, asio::buffer(go_on.data(), go_on.size()),
                      [self = shared_from_this()](error_code ec, std::size_t) {
                        if (ec || self->closed_) return self->close();
                        self->read_more();
                      });
    return false;
  }
  return true;
}

void connection::on_complete() {
  keep_alive_ = reader_.keep_alive() && !shutting_down_ && !core_.stopping.load();
  http10_ = reader_.http10();
  is_head_ = reader_.is_head();
  phase_ = phase::busy;
  ++exchanges_;
  clear_deadline();
  // A refused request too: answered by the app, through its hooks. Routed once, by the reader.
  reader_.release();  // the parser state is not kept while the request is answered
  if (auto loop = core_.app.event_loop_route(reader_.current_request(), reader_.route())) {
    return run_on_loop(*loop);
  }
  if (core_.gate.try_acquire()) return run_dispatch();
  auto job = [self = shared_from_this()] {
    asio::dispatch(self->socket_.get_executor(), [self] { self->run_dispatch(); });
  };
  if (!core_.gate.enqueue(std::move(job), true)) {
    core_.queue_full_refusals.fetch_add(1, std::memory_order_relaxed);
    reader_.drop_request();
    return reject(503, false, "Retry-After: 1\r\n");
  }
  queued_ = true;
  watch_client();  // a request whose client left is not run
}

// ---- dispatch and write ----------------------------------------------------------------------

void connection::run_dispatch() {
  queued_ = false;
  if (closed_) {
    // The client left while the request waited for a worker: nobody would read the answer,
    // and its side effects would happen for no one.
    core_.gate.release();
    reader_.drop_request();
    return;
  }
  response r;
  try {
    server_threads::handler_scope inside;
    r = core_.app.dispatch(reader_.current_request(), reader_.route());
  } catch (...) {
    core_.app.logger().error(reader_.method() + " " + reader_.target() + ": " +
                             describe_exception(std::current_exception()));
    r = detail::internal_error_response();
  }
  core_.gate.release();
  note_for_access_log(reader_.current_request());
  reader_.drop_request();
  if (closed_) return;
  write_response(std::move(r));
}

// The chain runs on the connection's strand through a request-scoped executor and takes no
// worker; the cancellation slot lets a client that leaves (or a server stop) cancel it.
void connection::run_on_loop(const detail::request_scope_options& options) {
  if (core_.loop_requests.fetch_add(1) >= core_.options.max_event_loop_requests) {
    core_.loop_requests.fetch_sub(1);
    core_.event_loop_full_refusals.fetch_add(1, std::memory_order_relaxed);
    reader_.drop_request();
    return reject(503, false, "Retry-After: 1\r\n");
  }
  scope_ = std::make_shared<detail::request_scope>(socket_.get_executor(), options);
  // The completion is bound to the plain strand, so its own work guard is not counted as the
  // request's work; to the strand's own type, not the socket's type-erased executor, because
  // co_spawn's frame keeps two copies of it for the whole request (about 60 bytes less).
  using strand_type = asio::strand<asio::io_context::executor_type>;
  const auto* strand = socket_.get_executor().target<strand_type>();
  BOOST_ASSERT(strand);  // every socket is made on one (server.cpp)
  auto done = [self = shared_from_this()](std::exception_ptr e, response r) {
    // co_spawn's frame is still on the stack, holding work through the scope: look for
    // leftover work once it has unwound.
    asio::post(self->socket_.get_executor(),
               [self, e, r = std::move(r)]() mutable { self->finish_on_loop(e, std::move(r)); });
  };
  asio::co_spawn(detail::request_executor(scope_),
                 core_.app.dispatch_on_loop(reader_.current_request(), reader_.route()),
                 asio::bind_cancellation_slot(loop_cancel_.slot(),
                                              asio::bind_executor(*strand, std::move(done))));
  watch_client();
}

void connection::finish_on_loop(std::exception_ptr error, response r) {
  core_.loop_requests.fetch_sub(1);
  loop_cancel_.slot().clear();
  auto scope = std::move(scope_);
  scope->close();  // whatever the request left pending never runs
  if (scope->outstanding() != 0) {
    // Reported a moment later: the thread that completed the request's last operation may
    // still be releasing that operation's guard, which is not leftover work.
    auto check = std::make_shared<asio::steady_timer>(socket_.get_executor(), leftover_settle);
    check->async_wait([check, scope](error_code) { scope->report_leftover(); });
  }
  if (error && !closed_) {
    core_.app.logger().error(reader_.method() + " " + reader_.target() + ": " +
                             describe_exception(error));
    r = detail::internal_error_response();
  }
  note_for_access_log(reader_.current_request());
  reader_.drop_request();
  if (closed_) return;  // cancelled because the client left or the server stopped
  write_response(std::move(r));
}

// While a request waits or runs, notices a client that closes or resets its connection. It
// waits for readability without reading: bytes of a pipelined request stay in the socket
// until this request is answered.
void connection::watch_client() {
  if (watching_ || closed_) return;
  watching_ = true;
  socket_.async_wait(socket_type::wait_read,
                     [self = shared_from_this(), exchange = exchanges_](error_code ec) {
                       self->on_client_readable(ec, exchange);
                     });
}

void connection::on_client_readable(error_code ec, std::uint64_t exchange) {
  watching_ = false;
  // Only a request that waits for a worker or runs on the event loop can still be stopped.
  if (ec || closed_ || phase_ != phase::busy || !(queued_ || scope_)) return;
  // A watch left from an earlier request may have seen that request's successor arrive.
  if (exchange != exchanges_) return watch_client();
  // Readiness may be stale (the request's own bytes, read since): a peek tells.
  char byte;
  const auto n = ::recv(socket_.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n > 0) return;  // the next pipelined request: the client is still there
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return watch_client();
  // End of stream, or an error: the client is gone.
  core_.app.logger().debug(reader_.method() + " " + reader_.target() +
                           ": the client left before the response; " +
                           (scope_ ? "cancelled" : "not run"));
  close();
}

void connection::write_response(response r) {
  response_ = std::move(r);
  if (shutting_down_ || core_.stopping.load()) keep_alive_ = false;
  if (detail::websocket_upgrade_of(response_)) return start_websocket();
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
  head_ = stock_response(status, close_after, extra);
  if (close_after) keep_alive_ = false;
  phase_ = phase::busy;
  body_bytes_ = 0;
  log_access(status);
  set_deadline(deadline::write, core_.options.write_timeout);
  asio::async_write(socket_, asio::buffer(head_),
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
  release_buffer();
  set_deadline(deadline::linger, linger_time);
  linger_more();
}

// What a closing client still sends is dropped in the kernel where it can be: one call per
// readiness, however much is waiting, no buffer and no copy. Read through the connection's
// buffer, 8 KiB a turn, the 128 KiB budget took 16 turns of the event loop per connection,
// most of what a flood of rejected requests cost the loop (bench/hostile_memory, "Hostile
// memory" in docs/reliability.md).
void connection::linger_more() {
  if (reading_ || closed_) return;
  reading_ = true;
  socket_.async_wait(socket_type::wait_read,
                     [self = shared_from_this()](error_code ec) { self->on_linger_readable(ec); });
}

void connection::on_linger_readable(error_code ec) {
  reading_ = false;
  if (closed_) return;
  if (ec) return close();
  // One byte past the budget tells a client that sends more than the budget from one that
  // sent exactly that much.
  const std::size_t want = linger_max_bytes - lingered_ + 1;
#ifdef __linux__
  // On a TCP socket, MSG_TRUNC discards up to `want` bytes without copying them (tcp(7)).
  const auto n = ::recv(socket_.native_handle(), nullptr, want, MSG_TRUNC | MSG_DONTWAIT);
#else
  std::array<char, 16 * 1024> sink;
  const auto n =
      ::recv(socket_.native_handle(), sink.data(), std::min(want, sink.size()), MSG_DONTWAIT);
#endif
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return linger_more();
  if (n <= 0) return close();  // the client finished (or reset): the answer had its chance
  lingered_ += static_cast<std::size_t>(n);
  if (lingered_ > linger_max_bytes) return close();
  linger_more();
}

// What the access record needs from a dispatched request, which is gone by the time the
// response has left: its client address (after trusted proxy headers), id and two headers.
void connection::note_for_access_log(const request& req) {
  if (!core_.options.access_log) return;
  if (!logged_) logged_ = std::make_unique<noted_request>();
  logged_->client.assign(req.remote_address());
  logged_->request_id.assign(req.id());
  logged_->referer.assign(req.headers().get_or("Referer", {}));
  logged_->user_agent.assign(req.headers().get_or("User-Agent", {}));
}

void connection::log_access(int status) {
  if (!core_.options.access_log) return;
  static const noted_request none;
  const noted_request& logged = logged_ ? *logged_ : none;  // a request refused unread
  access_record record{
      .remote = logged.client.empty() ? reader_.remote_address() : logged.client,
      .method = reader_.method().empty() ? std::string("-") : escape_controls(reader_.method()),
      .target = reader_.target().empty() ? std::string("-") : escape_controls(reader_.target()),
      .status = status,
      .bytes = body_bytes_,
      .duration = std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - started_),
      .request_id = logged.request_id,
      .referer = escape_controls(logged.referer),
      .user_agent = escape_controls(logged.user_agent),
      .version = http10_ ? 10 : 11,
  };
  try {
    core_.options.access_log(record);
  } catch (...) {
    core_.app.logger().error("access log sink failed: " +
                             describe_exception(std::current_exception()));
  }
}

// ---- deadlines -----------------------------------------------------------------------------

void connection::set_deadline(deadline kind, std::chrono::milliseconds after) {
  deadline_kind_ = kind;
  deadline_at_ = coarse_now() + after;
  if (!timer_armed_ || deadline_at_ < armed_at_) arm_timer();
}

void connection::arm_timer() {
  timer_armed_ = true;
  armed_at_ = deadline_at_;
  auto generation = ++timer_generation_;
  timer_.expires_at(deadline_at_);
  timer_.async_wait(
      [self = shared_from_this(), generation](error_code ec) { self->on_timer(ec, generation); });
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
