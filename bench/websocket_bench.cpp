// WebSockets: vial against a bare Beast echo server built here as the ceiling.
//
// Each server runs in a child process (so its RSS is its own) with the machine's thread count.
// 1. echo: 64 client threads, each a blocking Beast client doing 32-byte text round trips for
//    --seconds; round trips per second and p50/p99 latency, for both servers.
// 2. idle (vial only): --idle sockets opened and left waiting, then the server's RSS, one plain
//    GET /hello timed meanwhile, and one echo on every idle socket afterwards.
//
// Usage: vial-bench-websocket [--json] [--seconds S] [--idle N]   (Release build; needs
// `ulimit -n` above N + 100). Prints a table; --json adds one JSON object as the last line.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>

#include "vial/vial.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ws = boost::beast::websocket;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

namespace {

unsigned threads() { return std::max(1u, std::thread::hardware_concurrency()); }

[[noreturn]] void serve_vial(int out) {
  vial::app app;
  app.get("/hello", [] { return "Hello, World!"; });
  app.websocket("/ws/echo", [](vial::websocket& s) -> vial::task<void> {
    for (;;) {
      auto m = co_await s.receive();
      if (m.is_close()) co_return;
      co_await s.send(std::move(m.data));
    }
  });
  // As many event-loop threads as the ceiling runs its io_context on: sockets live on the loop.
  vial::server srv(app, {.port = 0, .io_threads = threads(), .max_connections = 30'000});
  srv.start();
  const std::uint16_t port = srv.port();
  (void)!::write(out, &port, sizeof port);
  srv.wait();
  std::_Exit(0);
}

asio::awaitable<void> beast_session(tcp::socket socket) {
  ws::stream<tcp::socket> s(std::move(socket));
  co_await s.async_accept(asio::use_awaitable);
  beast::flat_buffer buffer;
  for (;;) {
    co_await s.async_read(buffer, asio::use_awaitable);
    s.text(s.got_text());
    co_await s.async_write(buffer.data(), asio::use_awaitable);
    buffer.consume(buffer.size());
  }
}

asio::awaitable<void> beast_accept(tcp::acceptor& acceptor) {
  for (;;) {
    auto socket = co_await acceptor.async_accept(asio::use_awaitable);
    socket.set_option(tcp::no_delay(true));
    auto ex = socket.get_executor();
    asio::co_spawn(ex, beast_session(std::move(socket)), asio::detached);
  }
}

[[noreturn]] void serve_beast(int out) {
  asio::io_context ioc(static_cast<int>(threads()));
  tcp::acceptor acceptor(ioc, {asio::ip::make_address("127.0.0.1"), 0});
  const std::uint16_t port = acceptor.local_endpoint().port();
  (void)!::write(out, &port, sizeof port);
  asio::co_spawn(ioc, beast_accept(acceptor), asio::detached);
  std::vector<std::thread> pool;
  for (unsigned i = 1; i < threads(); ++i) pool.emplace_back([&] { ioc.run(); });
  ioc.run();
  std::_Exit(0);
}

struct child {
  pid_t pid;
  std::uint16_t port;
};

child spawn(void (*serve)(int)) {
  int fds[2];
  if (::pipe(fds) != 0) std::abort();
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    serve(fds[1]);
  }
  ::close(fds[1]);
  std::uint16_t port = 0;
  if (::read(fds[0], &port, sizeof port) != sizeof port) std::abort();
  ::close(fds[0]);
  return {pid, port};
}

void stop(child c) {
  ::kill(c.pid, SIGTERM);
  ::waitpid(c.pid, nullptr, 0);
}

double rss_mib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0;
}

ws::stream<tcp::socket> open_socket(asio::io_context& ioc, std::uint16_t port, const char* target) {
  ws::stream<tcp::socket> s(ioc);
  s.next_layer().connect({asio::ip::make_address("127.0.0.1"), port});
  s.next_layer().set_option(tcp::no_delay(true));
  s.handshake("127.0.0.1", target);
  return s;
}

struct echo_result {
  double per_second = 0;
  double p50_us = 0;
  double p99_us = 0;
};

echo_result echo_load(std::uint16_t port, int clients, double seconds) {
  std::atomic<bool> go{false}, done{false};
  std::vector<std::vector<float>> latencies(clients);
  std::vector<std::thread> pool;
  for (int i = 0; i < clients; ++i) {
    pool.emplace_back([&, i] {
      asio::io_context ioc;
      auto s = open_socket(ioc, port, "/ws/echo");
      const std::string message(32, 'x');
      beast::flat_buffer buffer;
      while (!go) std::this_thread::yield();
      while (!done) {
        const auto t0 = clock_type::now();
        s.write(asio::buffer(message));
        s.read(buffer);
        buffer.consume(buffer.size());
        latencies[i].push_back(
            std::chrono::duration<float, std::micro>(clock_type::now() - t0).count());
      }
      beast::error_code ec;
      s.close(ws::close_code::normal, ec);
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // every client connected
  go = true;
  const auto t0 = clock_type::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  done = true;
  const double elapsed = std::chrono::duration<double>(clock_type::now() - t0).count();
  for (auto& t : pool) t.join();
  std::vector<float> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  echo_result r;
  if (all.empty()) return r;
  r.per_second = all.size() / elapsed;
  r.p50_us = all[all.size() / 2];
  r.p99_us = all[all.size() * 99 / 100];
  return r;
}

double hello_ms(std::uint16_t port) {
  asio::io_context ioc;
  tcp::socket s(ioc);
  const auto t0 = clock_type::now();
  s.connect({asio::ip::make_address("127.0.0.1"), port});
  const std::string req = "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  asio::write(s, asio::buffer(req));
  std::string got;
  beast::error_code ec;
  char chunk[1024];
  for (;;) {
    auto n = s.read_some(asio::buffer(chunk), ec);
    if (ec) break;
    got.append(chunk, n);
  }
  const double ms = std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
  return got.find("Hello, World!") == std::string::npos ? -1 : ms;
}

}  // namespace

int main(int argc, char** argv) {
  bool json = false;
  double seconds = 5;
  int idle = 10'000;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--json")) json = true;
    if (!std::strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = std::atof(argv[++i]);
    if (!std::strcmp(argv[i], "--idle") && i + 1 < argc) idle = std::atoi(argv[++i]);
  }
  constexpr int clients = 64;

  auto beast_server = spawn(serve_beast);
  const auto ceiling = echo_load(beast_server.port, clients, seconds);
  stop(beast_server);

  auto vial_server = spawn(serve_vial);
  const auto mine = echo_load(vial_server.port, clients, seconds);
  const double rss_before = rss_mib(vial_server.pid);

  asio::io_context ioc;
  std::vector<ws::stream<tcp::socket>> held;
  held.reserve(idle);
  const auto t0 = clock_type::now();
  for (int i = 0; i < idle; ++i) held.push_back(open_socket(ioc, vial_server.port, "/ws/echo"));
  const double open_s = std::chrono::duration<double>(clock_type::now() - t0).count();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const double rss_idle = rss_mib(vial_server.pid);
  const double hello = hello_ms(vial_server.port);
  int echoed = 0;
  beast::flat_buffer buffer;
  for (auto& s : held) {
    beast::error_code ec;
    s.write(asio::buffer(std::string("ping")), ec);
    if (!ec) s.read(buffer, ec);
    if (!ec && beast::buffers_to_string(buffer.data()) == "ping") ++echoed;
    buffer.consume(buffer.size());
  }
  for (auto& s : held) {
    beast::error_code ec;
    s.next_layer().close(ec);
  }
  stop(vial_server);

  const double per_socket_kib = (rss_idle - rss_before) * 1024.0 / std::max(1, idle);
  std::printf("| WebSocket (%u threads, %d clients, 32 B) | round trips/s | p50 | p99 |\n",
              threads(), clients);
  std::printf("|---|---|---|---|\n");
  std::printf("| bare Beast (ceiling) | %.0f | %.0f us | %.0f us |\n", ceiling.per_second,
              ceiling.p50_us, ceiling.p99_us);
  std::printf("| vial | %.0f (%.2fx) | %.0f us | %.0f us |\n", mine.per_second,
              mine.per_second / std::max(1.0, ceiling.per_second), mine.p50_us, mine.p99_us);
  std::printf(
      "\n| idle sockets | opened in | server RSS | per socket | /hello meanwhile | echoing after "
      "|\n");
  std::printf("|---|---|---|---|---|---|\n");
  std::printf("| %d | %.1f s | %.1f MiB (%.1f before) | %.1f KiB | %.1f ms | %d/%d |\n", idle,
              open_s, rss_idle, rss_before, per_socket_kib, hello, echoed, idle);
  if (json) {
    std::printf(
        "{\"bench\":\"websocket\",\"threads\":%u,\"beast_rps\":%.0f,\"beast_p99_us\":%.0f,"
        "\"vial_rps\":%.0f,\"vial_p99_us\":%.0f,\"ratio\":%.3f,\"idle\":%d,\"rss_mib\":%.1f,"
        "\"rss_before_mib\":%.1f,\"hello_ms\":%.2f,\"echoed\":%d}\n",
        threads(), ceiling.per_second, ceiling.p99_us, mine.per_second, mine.p99_us,
        mine.per_second / std::max(1.0, ceiling.per_second), idle, rss_idle, rss_before, hello,
        echoed);
  }
}
