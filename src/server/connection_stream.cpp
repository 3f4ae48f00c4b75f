// A connection's streamed responses (connection.hpp): the head, then each chunk as the stream
// produces it, coroutine streams on the connection's strand and sync ones on a worker, until
// the stream ends, fails, or the client leaves.
#include <array>
#include <exception>
#include <optional>
#include <string>
#include <utility>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "connection.hpp"
#include "server_threads.hpp"
#include "vial/app/stream.hpp"
#include "vial/log.hpp"
#include "wire.hpp"

namespace vial::server_detail {

namespace asio = boost::asio;
using boost::system::error_code;

void connection::start_stream() {
  stream_ = response_.stream();
  stream_closed_ = false;
  client_gone_ = false;
  const bool no_body = is_head_ || bodiless_status(response_.status());
  chunked_ = !http10_ && !no_body;
  if (http10_) keep_alive_ = false;  // the end of the body is the end of the connection
  head_.clear();
  serialize_head(head_, response_, 0,
                 head_framing{.keep_alive = keep_alive_,
                              .http10 = http10_,
                              .chunked = chunked_,
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
                       cancel_.slot(), [self = shared_from_this()](std::exception_ptr e,
                                                                   std::optional<std::string> c) {
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

// On the strand, holding a dispatch slot. next() itself runs off the strand, so a client that
// leaves (the pending read completes) or a server stop is seen while it runs and reaches the
// producer through the stream's stop token; close() waits for next() to return.
void connection::produce_sync() {
  if (closed_ || client_gone_) {
    core_.gate.release();
    return on_chunk(nullptr, std::nullopt);
  }
  producing_ = true;
  asio::post(core_.ioc, [self = shared_from_this(), stream = stream_] {
    std::optional<std::string> chunk;
    std::exception_ptr error;
    try {
      server_threads::handler_scope inside;
      chunk = stream->next();
    } catch (...) {
      error = std::current_exception();
    }
    self->core_.gate.release();
    asio::dispatch(self->socket_.get_executor(), [self, error, chunk = std::move(chunk)]() mutable {
      self->producing_ = false;
      if (self->closed_) return self->close_stream();
      self->on_chunk(error, std::move(chunk));
    });
  });
}

void connection::on_chunk(std::exception_ptr error, std::optional<std::string> chunk) {
  if (closed_) return;
  if (client_gone_) return close();
  if (error) {
    // The status is gone already: cut the body short so the client sees it is incomplete.
    core_.app.logger().error("stream of " + reader_.method() + " " + reader_.target() +
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
  head_.assign(hex, end);  // the size line; the head was written before the first chunk
  head_.append("\r\n");
  static constexpr std::string_view crlf = "\r\n";
  std::array<asio::const_buffer, 3> buffers{asio::buffer(head_), asio::buffer(chunk_),
                                            asio::buffer(crlf.data(), crlf.size())};
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
  if (stream_) stream_->request_stop();
  cancel_.emit(asio::cancellation_type::terminal);
  error_code ec;
  socket_.cancel(ec);  // a pending chunk write fails now rather than at the write deadline
}

void connection::close_stream() noexcept {
  if (!stream_) return;
  stream_->request_stop();
  if (producing_) return;  // called again once next() returns
  if (!stream_closed_) {
    stream_closed_ = true;
    stream_->close();
  }
}

}  // namespace vial::server_detail
