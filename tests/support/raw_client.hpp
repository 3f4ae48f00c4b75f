#pragma once

// A small blocking TCP client for server tests: send raw bytes, read raw answers, with a
// receive timeout on every read so a broken server fails a test instead of hanging it.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace vial::test {

/// One parsed response (Content-Length or chunked framing, or read to EOF).
struct raw_response {
  int status = 0;
  std::string head;  ///< status line and headers, without the final blank line
  std::string body;
  /// The value of header `name` (case-insensitive), or empty.
  std::string header(std::string_view name) const {
    std::size_t pos = head.find("\r\n");
    while (pos != std::string::npos && pos + 2 < head.size()) {
      std::size_t next = head.find("\r\n", pos + 2);
      std::string_view line(head.data() + pos + 2,
                            (next == std::string::npos ? head.size() : next) - pos - 2);
      auto colon = line.find(':');
      if (colon != std::string_view::npos && colon == name.size() &&
          strncasecmp(line.data(), name.data(), name.size()) == 0) {
        auto value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
        return std::string(value);
      }
      pos = next;
    }
    return {};
  }
  bool has_header(std::string_view name) const {
    std::string needle = "\r\n" + std::string(name) + ":";
    auto lower = [](std::string s) {
      for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return s;
    };
    return lower(head).find(lower(needle)) != std::string::npos;
  }
};

/// A blocking connection to 127.0.0.1:port. Reads time out after `timeout` (default 5 s).
class raw_client {
 public:
  /// `receive_buffer` > 0 sets SO_RCVBUF before connecting (a client that reads slowly).
  explicit raw_client(std::uint16_t port,
                      std::chrono::milliseconds timeout = std::chrono::milliseconds(5000),
                      int receive_buffer = 0)
      : timeout_(timeout) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) throw std::runtime_error("socket() failed");
    if (receive_buffer > 0) {
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd_);
      throw std::runtime_error(std::string("connect() failed: ") + std::strerror(errno));
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~raw_client() {
    if (fd_ >= 0) ::close(fd_);
  }
  raw_client(const raw_client&) = delete;
  raw_client& operator=(const raw_client&) = delete;
  raw_client(raw_client&& o) noexcept
      : fd_(std::exchange(o.fd_, -1)), timeout_(o.timeout_), buffer_(std::move(o.buffer_)) {}

  /// Sends all of `data`; false when the peer is gone.
  bool send(std::string_view data) {
    while (!data.empty()) {
      auto n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  /// Half-closes the sending side.
  void shutdown_send() { ::shutdown(fd_, SHUT_WR); }

  /// Closes abruptly: SO_LINGER 0 makes close() send RST instead of FIN (a crashed client).
  void reset() {
    linger abort_on_close{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close);
    ::close(std::exchange(fd_, -1));
  }

  /// Reads one response; `head_request` for the answer to HEAD (no body).
  /// Throws std::runtime_error on timeout or when the connection ends before a full response.
  raw_response read_response(bool head_request = false) {
    raw_response r;
    auto end = fill_until("\r\n\r\n");
    r.head = buffer_.substr(0, end);
    buffer_.erase(0, end + 4);
    if (r.head.size() < 12) throw std::runtime_error("short status line: " + r.head);
    r.status = std::stoi(r.head.substr(9, 3));
    if (head_request || r.status < 200 || r.status == 204 || r.status == 304) return r;
    if (auto te = r.header("Transfer-Encoding"); !te.empty()) {
      for (;;) {
        auto line_end = fill_until("\r\n");
        auto size = std::stoul(buffer_.substr(0, line_end), nullptr, 16);
        buffer_.erase(0, line_end + 2);
        if (size == 0) {
          fill_until("\r\n");
          buffer_.erase(0, 2);
          return r;
        }
        fill_bytes(size + 2);
        r.body += buffer_.substr(0, size);
        buffer_.erase(0, size + 2);
      }
    }
    if (auto cl = r.header("Content-Length"); !cl.empty()) {
      auto n = std::stoul(cl);
      fill_bytes(n);
      r.body = buffer_.substr(0, n);
      buffer_.erase(0, n);
      return r;
    }
    r.body = read_to_eof();
    return r;
  }

  /// Reads until `needle` appears in what was received (kept buffered); returns its offset.
  std::size_t fill_until(std::string_view needle) {
    for (;;) {
      auto pos = buffer_.find(needle);
      if (pos != std::string::npos) return pos;
      if (!read_some())
        throw std::runtime_error("connection closed before '" + std::string(needle) +
                                 "'; got: " + buffer_);
    }
  }

  /// Everything until the peer closes (throws on timeout).
  std::string read_to_eof() {
    while (read_some()) {
    }
    return std::exchange(buffer_, {});
  }

  /// True when the peer closed the connection (EOF or reset) within the timeout, after
  /// discarding anything still pending. False on timeout.
  bool closed_by_peer() {
    try {
      read_to_eof();
      return true;
    } catch (const std::runtime_error&) {
      return false;
    }
  }

  /// Bytes received and not yet consumed by `read_response`.
  const std::string& pending() const noexcept { return buffer_; }
  int fd() const noexcept { return fd_; }

 private:
  void fill_bytes(std::size_t n) {
    while (buffer_.size() < n) {
      if (!read_some()) throw std::runtime_error("connection closed inside a body");
    }
  }
  // False on EOF or reset; throws on timeout.
  bool read_some() {
    pollfd p{fd_, POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(timeout_.count()));
    if (ready == 0) throw std::runtime_error("read timed out; got: " + buffer_.substr(0, 200));
    char chunk[16384];
    auto n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  std::chrono::milliseconds timeout_;
  std::string buffer_;
};

/// "GET <target> HTTP/1.1" with Host and any extra header lines (each ending in CRLF).
inline std::string get_request(std::string_view target, std::string_view extra = {}) {
  std::string r = "GET ";
  r.append(target).append(" HTTP/1.1\r\nHost: localhost\r\n").append(extra).append("\r\n");
  return r;
}

}  // namespace vial::test
