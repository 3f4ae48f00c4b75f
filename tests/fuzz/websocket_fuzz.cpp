// Fuzz target `websocket`: the upgrade check and the session layer under hostile bytes.
//
// Input: "<header lines>\n\n<frames>". The header lines (at most 8, each "Name: value") are
// added to an otherwise valid upgrade request for /ws/<room>, which goes through
// `app.dispatch` in-process. Then the upgrade request and the frames are written, raw, to a
// real server on loopback that runs an echo handler through a hub, and everything the server
// sends back is read until it closes.
//
// Invariants: the upgrade answers only 101, 400, 403, 404 or 426, and a chosen subprotocol is
// one the client offered; over the wire the server never masks a frame, every close code it
// sends is valid (1000, 1001, 1002, 1007, 1008, 1009, 1011), a close is the last frame, and
// the server closes the connection in bounded time whatever the frames were.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "vial/app/app.hpp"
#include "vial/app/websocket.hpp"
#include "vial/server/server.hpp"

namespace {

using vial::fuzz::check;

struct fixture {
  vial::app app;
  vial::websocket_hub hub;
  std::unique_ptr<vial::server> srv;

  fixture() {
    app.set_logger(vial::logger([](vial::log_level, std::string_view) {}));
    app.websocket("/ws/<room>",
                  [this](vial::websocket& ws, std::string room) -> vial::task<void> {
                    auto member = hub.join(room, ws);
                    for (;;) {
                      auto m = co_await ws.receive();
                      if (m.is_close()) co_return;
                      if (m.data == "boom") throw std::runtime_error("boom");
                      if (m.is_text()) {
                        co_await ws.send(std::move(m.data));
                      } else {
                        hub.broadcast(room, m.data, true);
                      }
                    }
                  },
                  {.subprotocols = {"a", "b"},
                   .max_message_bytes = 4096,
                   .max_queued_bytes = 8192,
                   .handshake_timeout = std::chrono::seconds(2),
                   .idle_timeout = std::chrono::seconds(4)});
    srv = std::make_unique<vial::server>(app, vial::server_options{.port = 0, .worker_threads = 1});
    srv->start();
  }
};

fixture& the_fixture() {
  static fixture f;
  return f;
}

constexpr std::string_view valid_head =
    "Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";

void check_upgrade(fixture& f, std::string_view header_block) {
  vial::headers h{{"Host", "127.0.0.1"},
                  {"Upgrade", "websocket"},
                  {"Connection", "Upgrade"},
                  {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
                  {"Sec-WebSocket-Version", "13"}};
  int lines = 0;
  while (!header_block.empty() && lines++ < 8) {
    auto eol = header_block.find('\n');
    auto line = header_block.substr(0, eol);
    header_block.remove_prefix(eol == std::string_view::npos ? header_block.size() : eol + 1);
    auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) continue;
    auto name = line.substr(0, colon);
    auto value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    if (name.find_first_of("\r\n\0", 0, 3) != std::string_view::npos ||
        value.find_first_of("\r\n\0", 0, 3) != std::string_view::npos) {
      continue;
    }
    h.set(name, value);
  }
  auto req = vial::request::refused_or_valid("GET", "/ws/room", h);
  auto res = f.app.dispatch(req);
  const int s = res.status();
  check(s == 101 || s == 400 || s == 403 || s == 404 || s == 426, "upgrade status",
        std::to_string(s));
  if (s == 101) {
    check(vial::detail::websocket_upgrade_of(res) != nullptr, "101 without an upgrade");
    if (auto p = res.headers().get("Sec-WebSocket-Protocol")) {
      check(*p == "a" || *p == "b", "subprotocol not offered by the route", *p);
      auto offered = req.headers().get_all("Sec-WebSocket-Protocol");
      bool found = false;
      for (auto o : offered) found = found || o.find(*p) != std::string_view::npos;
      check(found, "subprotocol not offered by the client", *p);
    }
  }
}

std::string exchange(std::uint16_t port, std::string_view frames) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  check(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0, "connect");
  std::string out = "GET /ws/room HTTP/1.1\r\n";
  out.append(valid_head).append("\r\n").append(frames);
  std::string_view rest = out;
  while (!rest.empty()) {
    auto n = ::send(fd, rest.data(), rest.size(), MSG_NOSIGNAL);
    if (n <= 0) break;
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  ::shutdown(fd, SHUT_WR);
  std::string in;
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    // Bounded by the session's timeouts (2 s handshake/close, 4 s idle) plus slack.
    check(::poll(&p, 1, 15000) == 1, "the server did not close the connection in time");
    char chunk[16384];
    auto n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) break;
    in.append(chunk, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return in;
}

void check_frames(std::string_view in) {
  const auto end = in.find("\r\n\r\n");
  if (end == std::string_view::npos) return;
  check(in.substr(0, 12) == "HTTP/1.1 101", "the upgrade was not accepted", in.substr(0, 40));
  in.remove_prefix(end + 4);
  bool closed = false;
  while (in.size() >= 2) {
    check(!closed, "a frame after the close");
    const auto b0 = static_cast<std::uint8_t>(in[0]);
    const auto b1 = static_cast<std::uint8_t>(in[1]);
    check((b1 & 0x80) == 0, "a masked server frame");
    std::size_t len = b1 & 0x7f, at = 2;
    if (len == 126) {
      if (in.size() < 4) return;
      len = (static_cast<std::uint8_t>(in[2]) << 8) | static_cast<std::uint8_t>(in[3]);
      at = 4;
    } else if (len == 127) {
      if (in.size() < 10) return;
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | static_cast<std::uint8_t>(in[2 + i]);
      at = 10;
    }
    if (in.size() < at + len) return;
    if ((b0 & 0x0f) == 0x8) {
      closed = true;
      if (len >= 2) {
        const int code =
            (static_cast<std::uint8_t>(in[at]) << 8) | static_cast<std::uint8_t>(in[at + 1]);
        // The server's own codes, or a client's valid code echoed (RFC 6455 7.4: 1000-1003,
        // 1007-1014, 3000-4999); never a reserved or undefined one.
        check((code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
                  (code >= 3000 && code <= 4999),
              "an unexpected close code", std::to_string(code));
      }
    }
    in.remove_prefix(at + len);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto& f = the_fixture();
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto split = input.find("\n\n");
  const auto headers = input.substr(0, split);
  const auto frames =
      split == std::string_view::npos ? std::string_view() : input.substr(split + 2);
  check_upgrade(f, headers);
  if (frames.size() <= 64 * 1024) check_frames(exchange(f.srv->port(), frames));
  return 0;
}
