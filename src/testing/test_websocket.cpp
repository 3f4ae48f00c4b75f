// The test client's WebSocket: the route's handler runs on a private io_context thread against
// an in-memory socket that applies the server's limits and close rules.
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "vial/log.hpp"
#include "vial/testing/test_client.hpp"

namespace vial {

namespace asio = boost::asio;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

websocket_message close_message(std::uint16_t code, std::string reason = {}) {
  return {.type = websocket_message::kind::close, .data = std::move(reason), .code = code};
}

// What the handler sent, waiting for the test to read it.
struct to_client {
  std::mutex mutex;
  std::condition_variable arrived;
  std::deque<websocket_message> messages;
  std::atomic<std::size_t> queued_bytes{0};
  bool close_received = false;  // by the test
  bool close_sent = false;      // by the test

  void push(websocket_message m) {
    queued_bytes += m.data.size();
    {
      std::lock_guard lock(mutex);
      messages.push_back(std::move(m));
    }
    arrived.notify_all();
  }
};

class memory_socket final : public websocket {
 public:
  memory_socket(asio::io_context& ioc, std::shared_ptr<detail::websocket_upgrade> up,
                std::shared_ptr<to_client> out)
      : websocket(up->request, up->subprotocol),
        ioc_(ioc),
        upgrade_(std::move(up)),
        out_(std::move(out)),
        signal_(ioc) {}

  // On the io thread: a message from the test.
  void deliver(websocket_message m) {
    if (state_ == state::closed) return;
    if (!m.is_close() && m.data.size() > upgrade_->options->max_message_bytes) {
      end(close_code::too_big, "message too big");
      return wake();
    }
    inbox_.push_back(std::move(m));
    wake();
  }
  void wake() { signal_.cancel(); }

  task<websocket_message> receive() override {
    if (close_delivered_) throw websocket_closed("the WebSocket is closed");
    while (inbox_.empty() && state_ != state::closed) co_await wait();
    close_delivered_ = inbox_.empty() || inbox_.front().is_close();
    if (inbox_.empty()) co_return close_message(code_);
    auto m = std::move(inbox_.front());
    inbox_.pop_front();
    if (m.is_close() && state_ == state::open) {
      // A clean close from the peer is echoed, as on the wire.
      out_->push(close_message(m.code, m.data));
      state_ = state::closed;
      code_ = m.code;
    }
    co_return m;
  }

  task<void> send(std::string text) override { return send_message(std::move(text), false); }
  task<void> send_binary(std::string data) override { return send_message(std::move(data), true); }

  task<void> close(std::uint16_t code, std::string reason) override {
    end(code, std::move(reason));
    co_return;
  }

  void post(std::string data, bool binary) override {
    auto self = std::static_pointer_cast<memory_socket>(shared_from_this());
    asio::post(ioc_, [self, data = std::move(data), binary]() mutable {
      if (self->state_ != state::open) return;
      if (self->out_->queued_bytes + data.size() > self->upgrade_->options->max_queued_bytes) {
        return self->end(close_code::policy_violation, "reader too slow");
      }
      self->push(std::move(data), binary);
    });
  }

  void close_soon(std::uint16_t code, std::string reason) override {
    auto self = std::static_pointer_cast<memory_socket>(shared_from_this());
    asio::post(ioc_, [self, code, reason = std::move(reason)]() mutable {
      self->end(code, std::move(reason));
      self->wake();
    });
  }

  bool is_open() const noexcept { return state_ == state::open; }

 private:
  enum class state { open, closed };

  task<void> wait() {
    signal_.expires_at(asio::steady_timer::time_point::max());
    co_await signal_.async_wait(use_tuple);
  }

  task<void> send_message(std::string data, bool binary) {
    const auto limit = upgrade_->options->max_queued_bytes;
    while (state_ == state::open && out_->queued_bytes > 0 &&
           out_->queued_bytes + data.size() > limit) {
      co_await wait();
    }
    if (state_ != state::open) throw websocket_closed("the WebSocket is closed");
    push(std::move(data), binary);
  }

  void push(std::string data, bool binary) {
    out_->push({.type = binary ? websocket_message::kind::binary : websocket_message::kind::text,
                .data = std::move(data)});
  }

  void end(std::uint16_t code, std::string reason) {
    if (state_ != state::open) return;
    state_ = state::closed;
    code_ = code;
    if (reason.size() > 123) reason.resize(123);
    out_->push(close_message(code, std::move(reason)));
    wake();  // a handler waiting in receive sees the close
  }

  asio::io_context& ioc_;
  std::shared_ptr<detail::websocket_upgrade> upgrade_;
  std::shared_ptr<to_client> out_;
  asio::steady_timer signal_;
  std::deque<websocket_message> inbox_;
  state state_ = state::open;
  bool close_delivered_ = false;
  std::uint16_t code_ = close_code::abnormal;
};

task<void> run_handler(std::shared_ptr<memory_socket> ws,
                       std::shared_ptr<detail::websocket_upgrade> up) {
  std::exception_ptr failure;
  try {
    co_await up->handler(*ws);
  } catch (const websocket_closed&) {
  } catch (...) {
    failure = std::current_exception();
  }
  if (failure) {
    co_await ws->close(close_code::internal_error, "internal error");
  } else {
    co_await ws->close(close_code::normal, {});
  }
}

}  // namespace

struct test_websocket::state {
  asio::io_context ioc{1};
  std::shared_ptr<to_client> out = std::make_shared<to_client>();
  std::shared_ptr<memory_socket> socket;
  std::thread thread;
};

test_websocket::test_websocket(test_response r, vial::response accepted)
    : response_(std::move(r)), state_(std::make_shared<state>()) {
  auto up = std::static_pointer_cast<detail::websocket_upgrade>(accepted.stream());
  state_->socket = std::make_shared<memory_socket>(state_->ioc, up, state_->out);
  asio::co_spawn(state_->ioc, run_handler(state_->socket, up), asio::detached);
  state_->thread = std::thread([s = state_.get()] { s->ioc.run(); });
}

test_websocket::test_websocket(test_websocket&&) noexcept = default;
test_websocket& test_websocket::operator=(test_websocket&&) noexcept = default;

test_websocket::~test_websocket() {
  if (!state_) return;
  close();
  if (state_->thread.joinable()) state_->thread.join();
}

void test_websocket::send(std::string text) {
  if (!state_) throw websocket_closed("the WebSocket was refused");
  {
    std::lock_guard lock(state_->out->mutex);
    if (state_->out->close_received || state_->out->close_sent) {
      throw websocket_closed("the WebSocket is closed");
    }
  }
  asio::post(state_->ioc,
             [s = state_->socket, m = websocket_message{.data = std::move(text)}]() mutable {
               s->deliver(std::move(m));
             });
}

void test_websocket::send_binary(std::string data) {
  if (!state_) throw websocket_closed("the WebSocket was refused");
  {
    std::lock_guard lock(state_->out->mutex);
    if (state_->out->close_received || state_->out->close_sent) {
      throw websocket_closed("the WebSocket is closed");
    }
  }
  asio::post(state_->ioc,
             [s = state_->socket, m = websocket_message{.type = websocket_message::kind::binary,
                                                        .data = std::move(data)}]() mutable {
               s->deliver(std::move(m));
             });
}

websocket_message test_websocket::receive(std::chrono::milliseconds timeout) {
  if (!state_) throw websocket_closed("the WebSocket was refused");
  auto& out = *state_->out;
  std::unique_lock lock(out.mutex);
  if (out.messages.empty() && out.close_received) throw websocket_closed("the WebSocket is closed");
  if (!out.arrived.wait_for(lock, timeout, [&] { return !out.messages.empty(); })) {
    throw std::runtime_error("no WebSocket message within " + std::to_string(timeout.count()) +
                             " ms");
  }
  auto m = std::move(out.messages.front());
  out.messages.pop_front();
  out.queued_bytes -= m.data.size();
  if (m.is_close()) out.close_received = true;
  lock.unlock();
  asio::post(state_->ioc, [s = state_->socket] { s->wake(); });  // room for a waiting send
  return m;
}

void test_websocket::close(std::uint16_t code, std::string reason) {
  if (!state_) return;
  {
    std::lock_guard lock(state_->out->mutex);
    if (state_->out->close_sent) return;
    state_->out->close_sent = true;
  }
  asio::post(state_->ioc,
             [s = state_->socket, m = websocket_message{.type = websocket_message::kind::close,
                                                        .data = std::move(reason),
                                                        .code = code}]() mutable {
               s->deliver(std::move(m));
             });
}

test_websocket test_client::websocket(std::string_view target, test_request r) {
  auto& h = r.headers;
  if (!h.contains("Upgrade")) h.set("Upgrade", "websocket");
  if (!h.contains("Connection")) h.set("Connection", "Upgrade");
  if (!h.contains("Sec-WebSocket-Key")) h.set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");
  if (!h.contains("Sec-WebSocket-Version")) h.set("Sec-WebSocket-Version", "13");
  response res = dispatch_once("GET", target, r);
  remember_cookies(res);
  if (!detail::websocket_upgrade_of(res)) return test_websocket(test_response(std::move(res)));
  response head;
  head.set_status(101);
  for (const auto& [name, value] : res.headers()) head.add_header(name, value);
  return test_websocket(test_response(std::move(head)), std::move(res));
}

}  // namespace vial
