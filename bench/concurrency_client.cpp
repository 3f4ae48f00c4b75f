// The load generator of bench/concurrency.py: plain Asio on one thread, so that the client, not
// Python, is never the bottleneck at 10,000 connections. It speaks just enough HTTP/1.1 for the
// benchmark (a response framed by Content-Length, chunked, or the end of the connection).
//
//   vial-bench-concurrency-client once   --port P --target T --clients N [--timeout S]
//       N connections opened at once, each sends one GET and reads the whole response.
//   vial-bench-concurrency-client closed --port P --target T --clients N --duration S
//       N keep-alive connections, each sending its next GET when the last one was answered.
//   vial-bench-concurrency-client hold   --port P --target T --clients N --hold S
//       N connections, each sends one GET, reads the response head, then stays open S seconds
//       (an idle keep-alive connection, or a stream in flight). Prints "held" on stderr once
//       every connection has its head, so the caller can sample the server's memory.
//
// Prints one JSON object: completed, errors (by kind), wall time, when the last connect completed
// and the last request was written (seconds from the start: a dropped SYN shows there as a 1 s
// retransmission), p50/p99/max latency in ms.
// Loopback benchmark tool: reports figures, never asserts.

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;
using clock_type = std::chrono::steady_clock;

namespace {

enum class mode { once, closed, hold };

struct settings {
  mode kind = mode::once;
  unsigned short port = 0;
  std::string target = "/";
  std::size_t clients = 1;
  double timeout = 30;
  double duration = 10;
  double hold = 3;
};

struct totals {
  std::size_t completed = 0;
  std::map<std::string, std::size_t> errors;
  std::vector<double> latency_ms;
  clock_type::time_point start;
  clock_type::time_point last_done;
  clock_type::time_point last_connected;  // the last connect that completed
  clock_type::time_point last_sent;       // the last request written
  std::size_t heads = 0;                  // hold: connections that have their response head
  bool stopping = false;
};

double ms_between(clock_type::time_point a, clock_type::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

bool iequal_prefix(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
  }
  return true;
}

class client : public std::enable_shared_from_this<client> {
 public:
  client(asio::io_context& io, const settings& s, totals& t)
      : socket_(io), settings_(s), totals_(t) {
    request_ = "GET " + s.target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  }

  void start() {
    sent_at_ = clock_type::now();
    socket_.async_connect(tcp::endpoint(asio::ip::address_v4::loopback(), settings_.port),
                          [self = shared_from_this()](error_code ec) {
                            if (ec) return self->fail("connect");
                            self->totals_.last_connected = clock_type::now();
                            self->send();
                          });
  }

  void stop() {
    error_code ec;
    socket_.close(ec);
  }

 private:
  void send() {
    if (totals_.stopping) return stop();
    buffer_.clear();
    head_end_ = 0;
    if (settings_.kind == mode::closed) sent_at_ = clock_type::now();
    asio::async_write(socket_, asio::buffer(request_),
                      [self = shared_from_this()](error_code ec, std::size_t) {
                        if (ec) return self->fail("write");
                        self->totals_.last_sent = clock_type::now();
                        self->read();
                      });
  }

  void read() {
    auto old = buffer_.size();
    buffer_.resize(old + 4096);
    socket_.async_read_some(asio::buffer(buffer_.data() + old, 4096),
                            [self = shared_from_this(), old](error_code ec, std::size_t n) {
                              self->buffer_.resize(old + n);
                              self->on_read(ec);
                            });
  }

  void on_read(error_code ec) {
    if (totals_.stopping && settings_.kind != mode::hold) return stop();
    if (ec && !(ec == asio::error::eof && framing_ == framing::until_close && head_end_)) {
      if (settings_.kind == mode::hold && held_) return;  // the server closed an idle one
      return fail(ec == asio::error::eof                ? "eof"
                  : ec == asio::error::connection_reset ? "reset"
                                                        : "read");
    }
    if (!head_end_ && !parse_head()) return read();
    if (settings_.kind == mode::hold) {
      if (!held_) {
        held_ = true;
        if (status_ != 200) ++totals_.errors["status " + std::to_string(status_)];
        if (++totals_.heads == settings_.clients) std::fprintf(stderr, "held\n");
      }
      buffer_.clear();
      head_end_ = 1;  // keep reading (and dropping) what a stream sends
      return read();
    }
    if (!ec && !body_done()) return read();
    done();
  }

  bool parse_head() {
    std::string_view data(buffer_);
    auto end = data.find("\r\n\r\n");
    if (end == std::string_view::npos) return false;
    head_end_ = end + 4;
    status_ = data.size() > 12 ? std::atoi(std::string(data.substr(9, 3)).c_str()) : 0;
    framing_ = framing::until_close;
    keep_alive_ = true;
    for (auto pos = data.find("\r\n"); pos < end;) {
      auto next = data.find("\r\n", pos + 2);
      auto line = data.substr(pos + 2, next - pos - 2);
      if (iequal_prefix(line, "content-length:")) {
        framing_ = framing::length;
        length_ = std::strtoull(std::string(line.substr(15)).c_str(), nullptr, 10);
      } else if (iequal_prefix(line, "transfer-encoding:")) {
        framing_ = framing::chunked;
      } else if (iequal_prefix(line, "connection:") && line.find("close") != line.npos) {
        keep_alive_ = false;
      }
      pos = next;
    }
    return true;
  }

  bool body_done() const {
    switch (framing_) {
      case framing::length:
        return buffer_.size() >= head_end_ + length_;
      case framing::chunked:
        return std::string_view(buffer_).ends_with("0\r\n\r\n");
      case framing::until_close:
        return false;
    }
    return false;
  }

  void done() {
    auto now = clock_type::now();
    totals_.last_done = now;
    if (status_ == 200) {
      ++totals_.completed;
      totals_.latency_ms.push_back(ms_between(sent_at_, now));
    } else {
      ++totals_.errors["status " + std::to_string(status_)];
    }
    if (settings_.kind == mode::once) return stop();
    if (keep_alive_) return send();
    stop();
    socket_ = tcp::socket(socket_.get_executor());
    start();
  }

  void fail(const char* kind) {
    if (totals_.stopping) return;
    ++totals_.errors[kind];
    totals_.last_done = clock_type::now();
    stop();
    if (settings_.kind == mode::closed) {  // carry on with a new connection
      socket_ = tcp::socket(socket_.get_executor());
      start();
    }
  }

  enum class framing { length, chunked, until_close };

  tcp::socket socket_;
  const settings& settings_;
  totals& totals_;
  std::string request_;
  std::string buffer_;
  std::size_t head_end_ = 0;
  int status_ = 0;
  framing framing_ = framing::until_close;
  std::size_t length_ = 0;
  bool keep_alive_ = true;
  bool held_ = false;
  clock_type::time_point sent_at_;
};

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: vial-bench-concurrency-client once|closed|hold --port P --target T "
               "--clients N [--timeout S] [--duration S] [--hold S]\n");
  std::exit(2);
}

settings parse(int argc, char** argv) {
  if (argc < 2) usage();
  settings s;
  std::string_view kind = argv[1];
  if (kind == "once") {
    s.kind = mode::once;
  } else if (kind == "closed") {
    s.kind = mode::closed;
  } else if (kind == "hold") {
    s.kind = mode::hold;
  } else {
    usage();
  }
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string_view flag = argv[i];
    const char* value = argv[i + 1];
    if (flag == "--port") {
      s.port = static_cast<unsigned short>(std::atoi(value));
    } else if (flag == "--target") {
      s.target = value;
    } else if (flag == "--clients") {
      s.clients = std::strtoull(value, nullptr, 10);
    } else if (flag == "--timeout") {
      s.timeout = std::atof(value);
    } else if (flag == "--duration") {
      s.duration = std::atof(value);
    } else if (flag == "--hold") {
      s.hold = std::atof(value);
    } else {
      usage();
    }
  }
  if (s.port == 0 || s.clients == 0) usage();
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  const settings s = parse(argc, argv);
  asio::io_context io(1);
  totals t;
  std::vector<std::shared_ptr<client>> clients;
  clients.reserve(s.clients);
  t.start = clock_type::now();
  t.last_done = t.start;
  for (std::size_t i = 0; i < s.clients; ++i) {
    clients.push_back(std::make_shared<client>(io, s, t));
    clients.back()->start();
  }
  const double limit = s.kind == mode::once     ? s.timeout
                       : s.kind == mode::closed ? s.duration
                                                : s.hold;
  asio::steady_timer stop_timer(
      io, std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(limit)));
  std::size_t unanswered = 0;
  stop_timer.async_wait([&](error_code) {
    t.stopping = true;
    if (s.kind == mode::once)
      unanswered = s.clients - t.completed - [&] {
        std::size_t n = 0;
        for (auto& [k, v] : t.errors) n += v;
        return n;
      }();
    for (auto& c : clients) c->stop();
  });
  // once: stop as soon as every client finished, not at the timeout.
  asio::steady_timer poll(io);
  std::function<void(error_code)> check = [&](error_code) {
    if (t.stopping) return;
    std::size_t finished = t.completed;
    for (auto& [k, v] : t.errors) finished += v;
    if (finished >= s.clients) {
      stop_timer.cancel();
      return;
    }
    poll.expires_after(std::chrono::milliseconds(5));
    poll.async_wait(check);
  };
  if (s.kind == mode::once) check({});
  io.run();
  const auto end = s.kind == mode::once ? t.last_done : clock_type::now();
  if (unanswered) t.errors["timeout"] += unanswered;
  std::size_t errors = 0;
  std::string kinds;
  for (auto& [k, v] : t.errors) {
    errors += v;
    kinds += (kinds.empty() ? "" : ", ") + ("\"" + k + "\": " + std::to_string(v));
  }
  const double wall = ms_between(t.start, end) / 1000.0;
  auto lat = t.latency_ms;
  const double p50 = percentile(lat, 0.5), p99 = percentile(lat, 0.99);
  const double max = lat.empty() ? 0.0 : lat.back();
  const std::size_t completed = s.kind == mode::hold ? t.heads : t.completed;
  std::printf(
      "{\"clients\": %zu, \"completed\": %zu, \"errors\": %zu, \"error_kinds\": {%s}, "
      "\"wall_s\": %.3f, \"connected_s\": %.3f, \"sent_s\": %.3f, \"rps\": %.1f, "
      "\"p50_ms\": %.1f, \"p99_ms\": %.1f, \"max_ms\": %.1f}\n",
      s.clients, completed, errors, kinds.c_str(), wall,
      ms_between(t.start, t.last_connected) / 1000.0, ms_between(t.start, t.last_sent) / 1000.0,
      wall > 0 ? static_cast<double>(t.completed) / wall : 0.0, p50, p99, max);
  return 0;
}
