// Fan-out: one request calling a 100 ms upstream n times concurrently, vial against Flask.
//
// 1. client: vial::async_to_sync(gather(n x client.get(upstream))) for n = 10, 50, 100 (median
//    of several runs) against the ideal 100 ms.
// 2. end to end: GET /fanout?n=N on a vial server (the handler gathers N client calls) and on
//    Flask 2.x (async view + aiohttp + asyncio.gather, gunicorn gthread), same upstream.
// 3. throughput: wrk, 64 connections, /fanout?n=5, vial and Flask (cap: 64 / 0.1 s = 640 req/s).
//
// Usage: vial-bench-fanout [--json] [--seconds S] [--flask-workers W] [--vial-workers W]
// Run from the repository root (it starts gunicorn with --chdir bench). Needs wrk and gunicorn;
// a part whose tool is missing is reported as skipped. Prints a table; --json adds one JSON
// object as the last line.

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "vial/app.hpp"
#include "vial/async.hpp"
#include "vial/client.hpp"
#include "vial/server/server.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr auto upstream_delay = 100ms;

/// A keep-alive HTTP/1.1 server that answers every request after 100 ms, on its own thread.
class slow_upstream {
 public:
  slow_upstream() {
    tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(ep.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen(4096);
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(ioc_, accept_loop(), asio::detached);
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~slow_upstream() {
    ioc_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/slow"; }

 private:
  asio::awaitable<void> session(tcp::socket sock) {
    beast::tcp_stream s(std::move(sock));
    beast::flat_buffer buffer;
    for (;;) {
      http::request<http::string_body> req;
      auto [ec, n] = co_await http::async_read(s, buffer, req, asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      asio::steady_timer t(ioc_, upstream_delay);
      co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
      http::response<http::string_body> res{http::status::ok, 11};
      res.set(http::field::content_type, "application/json");
      res.keep_alive(req.keep_alive());
      res.body() = R"({"ok":true})";
      res.prepare_payload();
      auto [wec, w] = co_await http::async_write(s, res, asio::as_tuple(asio::use_awaitable));
      (void)n;
      (void)w;
      if (wec || !res.keep_alive()) co_return;
    }
  }
  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, sock] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      asio::co_spawn(ioc_, session(std::move(sock)), asio::detached);
    }
  }
  asio::io_context ioc_{1};
  tcp::acceptor acceptor_{ioc_};
  std::uint16_t port_ = 0;
  std::thread thread_;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

double ms_since(clock_type::time_point t) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t).count();
}

/// Median latency of one request fanning out to n calls, measured from this process.
double client_fanout_ms(vial::http_client& client, const std::string& url, int n, int runs) {
  std::vector<double> samples;
  for (int r = 0; r < runs; ++r) {
    std::vector<vial::task<vial::client_response>> calls;
    for (int i = 0; i < n; ++i) calls.push_back(client.get(url));
    auto start = clock_type::now();
    auto results = vial::async_to_sync(vial::gather(std::move(calls)));
    samples.push_back(ms_since(start));
    for (auto& res : results) {
      if (res.status() != 200) std::fprintf(stderr, "upstream answered %d\n", res.status());
    }
  }
  return median(samples);
}

/// Median latency of GET url (a fan-out route), measured end to end.
double route_ms(vial::http_client& client, const std::string& url, int runs) {
  std::vector<double> samples;
  for (int r = 0; r < runs; ++r) {
    auto start = clock_type::now();
    auto res = client.get_sync(url);
    samples.push_back(ms_since(start));
    if (res.status() != 200) {
      std::fprintf(stderr, "%s answered %d: %s\n", url.c_str(), res.status(),
                   res.text().substr(0, 200).c_str());
      return -1;
    }
  }
  return median(samples);
}

/// Runs wrk and returns its Requests/sec, or -1.
double wrk_rps(const std::string& url, int connections, int seconds) {
  std::string cmd = "wrk -t2 -c" + std::to_string(connections) + " -d" + std::to_string(seconds) +
                    "s --timeout 10s '" + url + "' 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return -1;
  char line[512];
  double rps = -1;
  std::string all;
  while (std::fgets(line, sizeof line, p)) {
    all += line;
    if (std::strncmp(line, "Requests/sec:", 13) == 0) rps = std::atof(line + 13);
  }
  pclose(p);
  if (std::getenv("VIAL_BENCH_VERBOSE")) std::fprintf(stderr, "%s", all.c_str());
  if (all.find("Non-2xx") != std::string::npos) {
    std::fprintf(stderr, "wrk saw errors for %s:\n%s", url.c_str(), all.c_str());
  }
  return rps;
}

/// Closed loop: `clients` threads each sending GET url back to back for `seconds`, through one
/// vial client (the load generator when wrk cannot open its connections). Returns req/s.
double closed_loop_rps(const std::string& url, int clients, int seconds) {
  vial::http_client load({.pool_size_per_host = static_cast<std::size_t>(clients)});
  std::atomic<long> done{0}, failed{0};
  const auto until = clock_type::now() + std::chrono::seconds(seconds);
  const auto start = clock_type::now();
  std::vector<std::thread> threads;
  for (int i = 0; i < clients; ++i) {
    threads.emplace_back([&] {
      while (clock_type::now() < until) {
        try {
          if (load.get_sync(url).status() == 200)
            ++done;
          else
            ++failed;
        } catch (const std::exception&) {
          ++failed;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  if (failed) std::fprintf(stderr, "%ld requests to %s failed\n", failed.load(), url.c_str());
  return done / std::chrono::duration<double>(clock_type::now() - start).count();
}

bool have(const char* tool) {
  return std::system((std::string("command -v ") + tool + " >/dev/null 2>&1").c_str()) == 0;
}

/// gunicorn serving bench/fanout_flask.py; stopped by PID.
class flask_server {
 public:
  flask_server(const std::string& upstream, int workers, int threads, std::uint16_t port)
      : port_(port) {
    pid_ = fork();
    if (pid_ == 0) {
      setenv("UPSTREAM", upstream.c_str(), 1);
      std::string bind = "127.0.0.1:" + std::to_string(port);
      std::string w = std::to_string(workers), t = std::to_string(threads);
      execlp("gunicorn", "gunicorn", "-k", "gthread", "-w", w.c_str(), "--threads", t.c_str(),
             "--chdir", "bench", "-b", bind.c_str(), "--log-level", "warning", "fanout_flask:app",
             static_cast<char*>(nullptr));
      _exit(127);
    }
  }
  ~flask_server() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  /// Waits until the server answers (connect succeeds), up to 20 s.
  bool ready() const {
    for (auto until = clock_type::now() + 20s; clock_type::now() < until;) {
      asio::io_context ioc;
      tcp::socket s(ioc);
      boost::system::error_code ec;
      s.connect({asio::ip::make_address("127.0.0.1"), port_}, ec);
      if (!ec) return true;
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) return false;
      std::this_thread::sleep_for(100ms);  // polling a child process, not a test
    }
    return false;
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

 private:
  pid_t pid_ = -1;
  std::uint16_t port_;
};

std::uint16_t free_port() {
  asio::io_context ioc;
  tcp::acceptor a(ioc, {asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

}  // namespace

int main(int argc, char** argv) {
  bool json = false;
  int seconds = 10;
  int flask_workers = 2;
  int flask_threads = 32;
  int vial_workers = 64;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--json")
      json = true;
    else if (a == "--seconds" && i + 1 < argc)
      seconds = std::atoi(argv[++i]);
    else if (a == "--flask-workers" && i + 1 < argc)
      flask_workers = std::atoi(argv[++i]);
    else if (a == "--vial-workers" && i + 1 < argc)
      vial_workers = std::atoi(argv[++i]);
  }
  const int fanouts[] = {10, 50, 100};
  const int runs = 7;
  nlohmann::json out;
  out["ideal_ms"] = 100;

  slow_upstream upstream;
  // Sized for 64 clients x 5 calls in flight at once, and for one caller's 100 calls at once
  // (the default max_connections_per_caller, 64, would run n=100 in two turns).
  vial::http_client client({.pool_size_per_host = 512, .max_connections_per_caller = 128});

  std::printf("fan-out to a 100 ms upstream (median of %d)\n", runs);
  std::printf("%-28s %10s %10s %10s\n", "", "n=10", "n=50", "n=100");
  client_fanout_ms(client, upstream.url(), 100, 1);  // warm the pool
  std::printf("%-28s", "vial client (gather)");
  for (int n : fanouts) {
    double ms = client_fanout_ms(client, upstream.url(), n, runs);
    out["client_ms"][std::to_string(n)] = ms;
    std::printf(" %7.1f ms", ms);
  }
  std::printf("\n");

  // vial: the seeds' route.
  vial::app app;
  app.get("/fanout", [&](vial::request& req) -> vial::task<nlohmann::json> {
    const int n = req.args().get_as<int>("n").value_or(5);
    std::vector<vial::task<vial::client_response>> calls;
    for (int i = 0; i < n; ++i) calls.push_back(client.get(upstream.url()));
    auto results = co_await vial::gather(std::move(calls));
    std::size_t bytes = 0;
    for (auto& r : results) bytes += r.text().size();
    co_return nlohmann::json{{"calls", results.size()}, {"bytes", bytes}};
  });
  vial::server server(app, {.port = 0,
                            .worker_threads = static_cast<std::size_t>(vial_workers),
                            .handle_signals = false});
  server.start();
  const std::string vial_base = "http://127.0.0.1:" + std::to_string(server.port());
  vial::http_client probe;
  std::printf("%-28s", "vial route (end to end)");
  route_ms(probe, vial_base + "/fanout?n=100", 1);
  for (int n : fanouts) {
    double ms = route_ms(probe, vial_base + "/fanout?n=" + std::to_string(n), runs);
    out["vial_route_ms"][std::to_string(n)] = ms;
    std::printf(" %7.1f ms", ms);
  }
  std::printf("\n");

  std::unique_ptr<flask_server> flask;
  if (have("gunicorn")) {
    flask =
        std::make_unique<flask_server>(upstream.url(), flask_workers, flask_threads, free_port());
    if (!flask->ready()) {
      std::fprintf(stderr, "gunicorn did not start (run from the repository root)\n");
      flask.reset();
    }
  }
  if (flask) {
    std::printf("%-28s", "Flask route (end to end)");
    route_ms(probe, flask->url("/fanout?n=100"), 1);
    for (int n : fanouts) {
      double ms = route_ms(probe, flask->url("/fanout?n=" + std::to_string(n)), runs);
      out["flask_route_ms"][std::to_string(n)] = ms;
      std::printf(" %7.1f ms", ms);
    }
    std::printf("\n");
  }

  if (have("wrk")) {
    std::printf("\n/fanout?n=5, 64 connections, %d s (cap 640 req/s)\n", seconds);
    double u = wrk_rps(upstream.url(), 64, 3);
    out["upstream_rps"] = u;
    std::printf("%-28s %8.1f req/s (the upstream alone, 64 connections)\n", "upstream", u);
    double v = wrk_rps(vial_base + "/fanout?n=5", 64, seconds);
    out["vial_rps"] = v;
    std::printf("%-28s %8.1f req/s (%d workers)\n", "vial", v, vial_workers);
    if (flask) {
      double f = wrk_rps(flask->url("/fanout?n=5"), 64, seconds);
      out["flask_rps"] = f;
      std::printf("%-28s %8.1f req/s (gunicorn gthread %d x %d threads)\n", "Flask", f,
                  flask_workers, flask_threads);
    }
  }
  std::printf("\n/fanout?n=5, 64 closed-loop clients (vial client as load generator), %d s\n",
              seconds);
  double vc = closed_loop_rps(vial_base + "/fanout?n=5", 64, seconds);
  out["vial_closed_loop_rps"] = vc;
  std::printf("%-28s %8.1f req/s (%d workers)\n", "vial", vc, vial_workers);
  if (flask) {
    double fc = closed_loop_rps(flask->url("/fanout?n=5"), 64, seconds);
    out["flask_closed_loop_rps"] = fc;
    std::printf("%-28s %8.1f req/s (gunicorn gthread %d x %d threads)\n", "Flask", fc,
                flask_workers, flask_threads);
  }
  out["vial_workers"] = vial_workers;
  out["flask_workers"] = flask_workers;
  out["flask_threads"] = flask_threads;
  out["connections_opened"] = client.connections_opened();
  out["requests_sent"] = client.requests_sent();
  flask.reset();
  server.stop();
  if (json) std::printf("%s\n", out.dump().c_str());
  return 0;
}
