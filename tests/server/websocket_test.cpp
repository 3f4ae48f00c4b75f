// WebSockets over real loopback sockets: the handshake hand-off, protocol violations and their
// close codes (sent as raw frames), limits, and a graceful stop.
#include "vial/app/websocket.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>

#include "server/test_app.hpp"
#include "support/catch.hpp"
#include "support/raw_client.hpp"
#include "support/websocket_echo.hpp"
#include "vial/server/server.hpp"

using namespace std::chrono_literals;
using vial::task;
using vial::websocket;
using vial::test::echo;
using vial::test::raw_client;

namespace {

constexpr std::string_view upgrade_head =
    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";

std::string upgrade_request(std::string_view target, std::string_view extra = {}) {
  std::string r = "GET " + std::string(target) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  r.append(upgrade_head).append(extra).append("\r\n");
  return r;
}

/// A client frame: FIN and `opcode` in the first byte (plus `rsv` bits), masked unless told.
std::string frame(std::uint8_t first, std::string_view payload, bool masked = true) {
  std::string f;
  f.push_back(static_cast<char>(first));
  const std::uint8_t mask_bit = masked ? 0x80 : 0;
  if (payload.size() < 126) {
    f.push_back(static_cast<char>(mask_bit | payload.size()));
  } else if (payload.size() < 65536) {
    f.push_back(static_cast<char>(mask_bit | 126));
    f.push_back(static_cast<char>(payload.size() >> 8));
    f.push_back(static_cast<char>(payload.size() & 0xff));
  } else {
    f.push_back(static_cast<char>(mask_bit | 127));
    for (int i = 7; i >= 0; --i) f.push_back(static_cast<char>((payload.size() >> (8 * i)) & 0xff));
  }
  const std::array<char, 4> key{'\x12', '\x34', '\x56', '\x78'};
  if (masked) f.append(key.data(), 4);
  for (std::size_t i = 0; i < payload.size(); ++i) {
    f.push_back(masked ? static_cast<char>(payload[i] ^ key[i % 4]) : payload[i]);
  }
  return f;
}

std::string close_payload(std::uint16_t code, std::string_view reason = {}) {
  std::string p;
  p.push_back(static_cast<char>(code >> 8));
  p.push_back(static_cast<char>(code & 0xff));
  p.append(reason);
  return p;
}

struct server_frame {
  std::uint8_t opcode = 0;
  std::string payload;
  std::uint16_t close_code() const {
    if (payload.size() < 2) return 0;
    return static_cast<std::uint16_t>((static_cast<std::uint8_t>(payload[0]) << 8) |
                                      static_cast<std::uint8_t>(payload[1]));
  }
};

/// A raw WebSocket client: the handshake through raw_client, then frames read by hand.
class raw_ws {
 public:
  raw_ws(std::uint16_t port, std::string_view target, std::string_view extra = {},
         std::string_view after = {})
      : client_(port) {
    client_.send(upgrade_request(target, extra) + std::string(after));
    response_ = client_.read_response();
    buffer_ = client_.pending();
  }
  int status() const { return response_.status; }
  const vial::test::raw_response& response() const { return response_; }
  bool send(std::string_view bytes) { return client_.send(bytes); }

  /// The next message (continuation frames joined), or opcode 0xff when the connection ended.
  server_frame read() {
    auto first = read_frame();
    while (!fin_ && first.opcode != 0xff) {
      auto more = read_frame();
      if (more.opcode == 0xff) return more;
      first.payload += more.payload;
    }
    return first;
  }

  /// The next frame, or opcode 0xff when the connection ended first.
  server_frame read_frame() {
    auto need = [&](std::size_t n) {
      while (buffer_.size() < n) {
        pollfd p{client_.fd(), POLLIN, 0};
        if (::poll(&p, 1, 5000) <= 0) throw std::runtime_error("no frame within 5 s");
        char chunk[65536];
        auto got = ::recv(client_.fd(), chunk, sizeof chunk, 0);
        if (got <= 0) return false;
        buffer_.append(chunk, static_cast<std::size_t>(got));
      }
      return true;
    };
    if (!need(2)) return {0xff, {}};
    const auto b0 = static_cast<std::uint8_t>(buffer_[0]);
    const auto b1 = static_cast<std::uint8_t>(buffer_[1]);
    std::size_t len = b1 & 0x7f;
    std::size_t at = 2;
    if (len == 126) {
      if (!need(4)) return {0xff, {}};
      len = (static_cast<std::uint8_t>(buffer_[2]) << 8) | static_cast<std::uint8_t>(buffer_[3]);
      at = 4;
    } else if (len == 127) {
      if (!need(10)) return {0xff, {}};
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | static_cast<std::uint8_t>(buffer_[2 + i]);
      at = 10;
    }
    if (!need(at + len)) return {0xff, {}};
    fin_ = (b0 & 0x80) != 0;
    server_frame f{static_cast<std::uint8_t>(b0 & 0x0f), buffer_.substr(at, len)};
    buffer_.erase(0, at + len);
    return f;
  }
  /// The close frame that ends the session, skipping data frames.
  server_frame read_close() {
    for (;;) {
      auto f = read();
      if (f.opcode == 0x8 || f.opcode == 0xff) return f;
    }
  }
  bool closed_by_peer() { return client_.closed_by_peer(); }

 private:
  raw_client client_;
  vial::test::raw_response response_;
  std::string buffer_;
  bool fin_ = true;
};

struct ws_fixture {
  explicit ws_fixture(vial::websocket_options options = {}, std::size_t workers = 2)
      : srv(routes(std::move(options)), {.port = 0, .worker_threads = workers}) {
    srv.start();
  }
  vial::app& routes(vial::websocket_options options) {
    app.get("/hello", [] { return std::string("hello"); });
    app.websocket("/ws/echo", echo, std::move(options));
    return app;
  }
  std::uint16_t port() { return srv.port(); }

  vial::app app;
  vial::server srv;
};

}  // namespace

TEST_CASE("a WebSocket echoes text and a 1 MiB binary message over a socket",
          "[server][websocket]") {
  ws_fixture f({.max_message_bytes = 2 * 1024 * 1024});
  raw_ws ws(f.port(), "/ws/echo");
  REQUIRE(ws.status() == 101);
  INFO(ws.response().head);
  CHECK(ws.response().header("Sec-WebSocket-Accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  CHECK(ws.response().header("Server") == "vial");
  ws.send(frame(0x81, "hello"));
  auto m = ws.read();
  CHECK(m.opcode == 0x1);
  CHECK(m.payload == "hello");
  std::string big(1024 * 1024, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7);
  ws.send(frame(0x82, big));
  m = ws.read();
  CHECK(m.opcode == 0x2);
  CHECK(m.payload == big);
}

TEST_CASE("a client's clean close is echoed with its code", "[server][websocket][close]") {
  ws_fixture f;
  raw_ws ws(f.port(), "/ws/echo");
  ws.send(frame(0x88, close_payload(1000, "bye")));
  auto c = ws.read_close();
  CHECK(c.opcode == 0x8);
  CHECK(c.close_code() == 1000);
  CHECK(ws.closed_by_peer());
}

TEST_CASE("frames sent with the upgrade request are not lost", "[server][websocket]") {
  ws_fixture f;
  raw_ws ws(f.port(), "/ws/echo", {}, frame(0x81, "early"));
  REQUIRE(ws.status() == 101);
  auto m = ws.read();
  CHECK(m.payload == "early");
}

TEST_CASE("protocol violations close with 1002, invalid UTF-8 with 1007",
          "[server][websocket][protocol]") {
  ws_fixture f;
  struct violation {
    const char* what;
    std::string bytes;
    std::uint16_t code;
  };
  const std::string hello = "hello";
  const violation cases[] = {
      {"an unmasked client frame", frame(0x81, hello, false), 1002},
      {"a reserved opcode", frame(0x83, hello), 1002},
      {"a reserved control opcode", frame(0x8b, hello), 1002},
      {"an RSV1 bit without an extension", frame(0xc1, hello), 1002},
      {"an RSV3 bit", frame(0x91, hello), 1002},
      {"a fragmented ping", frame(0x09, "x"), 1002},
      {"a ping over 125 bytes", frame(0x89, std::string(126, 'p')), 1002},
      {"a continuation without a start", frame(0x80, hello), 1002},
      {"a close with an invalid code", frame(0x88, close_payload(999)), 1002},
      {"a close with a reserved code", frame(0x88, close_payload(1005)), 1002},
      {"a close with a one-byte payload", frame(0x88, "x"), 1002},
      {"text that is not UTF-8", frame(0x81, "ok \xc3\x28 no"), 1007},
      {"a fragmented text with invalid UTF-8", frame(0x01, "\xf0\x28") + frame(0x80, "\x8c"), 1007},
  };
  for (const auto& v : cases) {
    INFO(v.what);
    raw_ws ws(f.port(), "/ws/echo");
    REQUIRE(ws.status() == 101);
    ws.send(v.bytes);
    auto c = ws.read_close();
    CHECK(c.opcode == 0x8);
    CHECK(c.close_code() == v.code);
  }
}

TEST_CASE("a frame announcing more than max_message_bytes closes 1009 before its payload",
          "[server][websocket][limits]") {
  ws_fixture f({.max_message_bytes = 1024});
  raw_ws ws(f.port(), "/ws/echo");
  // The header of a 100 MiB frame, and nothing after it: the answer cannot wait for the body.
  std::string head{'\x82', '\xff'};
  for (int i = 7; i >= 0; --i) head.push_back(static_cast<char>((100ull << 20) >> (8 * i) & 0xff));
  head.append("\x12\x34\x56\x78");
  ws.send(head);
  auto c = ws.read_close();
  CHECK(c.opcode == 0x8);
  CHECK(c.close_code() == 1009);
}

TEST_CASE("a WebSocket waiting for messages holds no worker", "[server][websocket]") {
  ws_fixture f({}, 1);
  std::vector<std::unique_ptr<raw_ws>> sockets;
  for (int i = 0; i < 8; ++i) {
    sockets.push_back(std::make_unique<raw_ws>(f.port(), "/ws/echo"));
    REQUIRE(sockets.back()->status() == 101);
  }
  raw_client plain(f.port());
  plain.send(vial::test::get_request("/hello"));
  auto r = plain.read_response();
  CHECK(r.status == 200);
  CHECK(r.body == "hello");
  for (auto& s : sockets) {
    s->send(frame(0x81, "still here"));
    CHECK(s->read().payload == "still here");
  }
}

TEST_CASE("a foreign Origin is refused 403 over the wire and the connection goes on",
          "[server][websocket][origin]") {
  ws_fixture f;
  raw_client c(f.port());
  c.send(upgrade_request("/ws/echo", "Origin: https://evil.example\r\n"));
  auto r = c.read_response();
  CHECK(r.status == 403);
  c.send(vial::test::get_request("/hello"));
  CHECK(c.read_response().body == "hello");
}

TEST_CASE("a graceful stop closes every WebSocket with 1001", "[server][websocket][shutdown]") {
  auto f = std::make_unique<ws_fixture>();
  auto a = std::make_unique<raw_ws>(f->port(), "/ws/echo");
  auto b = std::make_unique<raw_ws>(f->port(), "/ws/echo");
  REQUIRE(a->status() == 101);
  REQUIRE(b->status() == 101);
  const auto started = std::chrono::steady_clock::now();
  std::thread stopper([&] { f->srv.stop(); });
  for (auto* c : {a.get(), b.get()}) {
    auto closing = c->read_close();
    CHECK(closing.close_code() == 1001);
    // The client answers the close and leaves, as browsers do: the stop then ends well
    // within shutdown_timeout (10 s).
    c->send(frame(0x88, close_payload(1001)));
    CHECK(c->closed_by_peer());
  }
  a.reset();
  b.reset();
  stopper.join();
  CHECK(std::chrono::steady_clock::now() - started < 5s);
}
