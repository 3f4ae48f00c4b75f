// A wrk-like closed-loop load client that also reports per connection, to tell a slow server
// from an unfair one: N keep-alive connections opened at once (as wrk opens them), each sending
// its next GET when the last one was answered. Besides overall latency percentiles it reports
// how long the last connection waited for its first response, the latency of first responses
// against the rest, and how evenly the requests spread over the connections.
//
//   vial-bench-load-client --port P [--target /hello] [--connections 1000] [--threads 2]
//                          [--duration 5] [--json]
//
// Raw epoll, one event loop per thread, connections split between threads as wrk splits them.
// Loopback benchmark tool: reports figures, never asserts.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

struct settings {
  unsigned short port = 0;
  std::string target = "/hello";
  std::size_t connections = 1000;
  std::size_t threads = 2;
  double duration = 5;
  bool json = false;
};

struct conn {
  int fd = -1;
  bool connected = false;
  clock_type::time_point opened, sent, first_answer{};
  std::size_t answered = 0;
  double max_gap_ms = 0;  // the longest wait for one response
  std::string in;
  std::size_t errors = 0;
};

struct worker_result {
  std::vector<double> first_ms;  // latency of each connection's first request (from connect)
  std::vector<double> rest_ms;   // the others
  std::vector<std::size_t> per_connection;
  std::vector<double> first_answer_at_ms;  // since the run began
  std::size_t errors = 0;
};

double ms(clock_type::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// Consumes complete responses at the front of `in`; returns how many.
std::size_t take_responses(std::string& in, bool& bad) {
  std::size_t n = 0;
  for (;;) {
    const auto end = in.find("\r\n\r\n");
    if (end == std::string::npos) return n;
    std::string_view head(in.data(), end);
    if (head.substr(0, 9) != "HTTP/1.1 " || head.substr(9, 3) != "200") bad = true;
    std::size_t length = 0;
    for (std::size_t pos = 0; pos < head.size();) {
      auto eol = head.find("\r\n", pos);
      if (eol == std::string_view::npos) eol = head.size();
      auto line = head.substr(pos, eol - pos);
      if (line.size() > 15 && strncasecmp(line.data(), "content-length:", 15) == 0) {
        length = std::strtoul(std::string(line.substr(15)).c_str(), nullptr, 10);
      }
      pos = eol + 2;
    }
    if (in.size() < end + 4 + length) return n;
    in.erase(0, end + 4 + length);
    ++n;
  }
}

void run_worker(const settings& s, std::size_t count, clock_type::time_point begin,
                worker_result& out) {
  const std::string request = "GET " + s.target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  std::vector<conn> conns(count);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(s.port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (std::size_t i = 0; i < count; ++i) {
    auto& c = conns[i];
    c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c.opened = clock_type::now();
    ::connect(c.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    epoll_event ev{};
    ev.events = EPOLLOUT | EPOLLIN;
    ev.data.u64 = i;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
  }
  const auto stop_at = begin + std::chrono::duration_cast<clock_type::duration>(
                                   std::chrono::duration<double>(s.duration));
  std::vector<epoll_event> events(256);
  char buf[16384];
  auto send_request = [&](conn& c) {
    c.sent = clock_type::now();
    if (::send(c.fd, request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size())) {
      ++c.errors;
    }
  };
  while (clock_type::now() < stop_at) {
    const int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), 10);
    for (int k = 0; k < n; ++k) {
      auto& c = conns[events[k].data.u64];
      if (c.fd < 0) continue;
      if (!c.connected && (events[k].events & EPOLLOUT)) {
        c.connected = true;
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = events[k].data.u64;
        ::epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
        send_request(c);
        c.sent = c.opened;  // the first request's latency counts from connect()
      }
      if (!(events[k].events & (EPOLLIN | EPOLLERR | EPOLLHUP))) continue;
      const auto r = ::recv(c.fd, buf, sizeof buf, 0);
      if (r <= 0) {
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        ++c.errors;
        ::close(c.fd);
        c.fd = -1;
        continue;
      }
      c.in.append(buf, static_cast<std::size_t>(r));
      bool bad = false;
      const auto got = take_responses(c.in, bad);
      if (bad) ++c.errors;
      if (got == 0) continue;
      const auto now = clock_type::now();
      const double latency = ms(now - c.sent);
      c.max_gap_ms = std::max(c.max_gap_ms, latency);
      if (c.answered == 0) {
        c.first_answer = now;
        out.first_ms.push_back(latency);
        out.first_answer_at_ms.push_back(ms(now - begin));
      } else {
        out.rest_ms.push_back(latency);
      }
      c.answered += got;
      if (now < stop_at) send_request(c);
    }
  }
  for (auto& c : conns) {
    out.per_connection.push_back(c.answered);
    out.errors += c.errors;
    if (c.answered == 0) out.first_answer_at_ms.push_back(-1);  // never answered
    if (c.fd >= 0) ::close(c.fd);
  }
  ::close(ep);
}

double pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size() - 1));
  return v[i];
}

}  // namespace

int main(int argc, char** argv) {
  settings s;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", argv[i]);
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--port") {
      s.port = static_cast<unsigned short>(std::atoi(next()));
    } else if (a == "--target") {
      s.target = next();
    } else if (a == "--connections") {
      s.connections = std::strtoul(next(), nullptr, 10);
    } else if (a == "--threads") {
      s.threads = std::max<std::size_t>(1, std::strtoul(next(), nullptr, 10));
    } else if (a == "--duration") {
      s.duration = std::atof(next());
    } else if (a == "--json") {
      s.json = true;
    } else {
      std::fprintf(stderr, "unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  if (s.port == 0) {
    std::fprintf(stderr,
                 "usage: %s --port P [--target T] [--connections N] [--threads N] "
                 "[--duration S] [--json]\n",
                 argv[0]);
    return 2;
  }
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &limit);

  std::vector<worker_result> results(s.threads);
  std::vector<std::thread> threads;
  const auto begin = clock_type::now();
  for (std::size_t t = 0; t < s.threads; ++t) {
    const std::size_t count = s.connections / s.threads + (t < s.connections % s.threads ? 1 : 0);
    threads.emplace_back([&, t, count] { run_worker(s, count, begin, results[t]); });
  }
  for (auto& t : threads) t.join();
  const double wall = ms(clock_type::now() - begin) / 1000.0;

  worker_result all;
  for (auto& r : results) {
    all.first_ms.insert(all.first_ms.end(), r.first_ms.begin(), r.first_ms.end());
    all.rest_ms.insert(all.rest_ms.end(), r.rest_ms.begin(), r.rest_ms.end());
    all.per_connection.insert(all.per_connection.end(), r.per_connection.begin(),
                              r.per_connection.end());
    all.first_answer_at_ms.insert(all.first_answer_at_ms.end(), r.first_answer_at_ms.begin(),
                                  r.first_answer_at_ms.end());
    all.errors += r.errors;
  }
  std::vector<double> every = all.first_ms;
  every.insert(every.end(), all.rest_ms.begin(), all.rest_ms.end());
  std::vector<double> counts(all.per_connection.begin(), all.per_connection.end());
  const auto never =
      static_cast<std::size_t>(std::count(all.per_connection.begin(), all.per_connection.end(), 0));
  std::vector<double> answered_at;
  for (double t : all.first_answer_at_ms) {
    if (t >= 0) answered_at.push_back(t);
  }
  const double last_first = answered_at.empty() ? 0 : pct(answered_at, 100);
  const double rps = static_cast<double>(every.size()) / wall;

  std::printf("requests %zu in %.2f s: %.0f req/s, errors %zu\n", every.size(), wall, rps,
              all.errors);
  std::printf("latency ms, all:     p50 %.2f  p99 %.2f  p99.9 %.2f  max %.2f\n", pct(every, 50),
              pct(every, 99), pct(every, 99.9), pct(every, 100));
  std::printf("latency ms, first:   p50 %.2f  p99 %.2f  max %.2f  (%zu connections)\n",
              pct(all.first_ms, 50), pct(all.first_ms, 99), pct(all.first_ms, 100),
              all.first_ms.size());
  std::printf("latency ms, others:  p50 %.2f  p99 %.2f  p99.9 %.2f  max %.2f\n",
              pct(all.rest_ms, 50), pct(all.rest_ms, 99), pct(all.rest_ms, 99.9),
              pct(all.rest_ms, 100));
  std::printf("every connection answered once by %.0f ms (%zu never answered)\n", last_first,
              never);
  std::printf("requests per connection: min %.0f  p1 %.0f  p50 %.0f  p99 %.0f  max %.0f\n",
              pct(counts, 0), pct(counts, 1), pct(counts, 50), pct(counts, 99), pct(counts, 100));
  if (s.json) {
    std::printf(
        "{\"benchmark\": \"load_client\", \"connections\": %zu, \"rps\": %.0f, \"errors\": %zu, "
        "\"p50_ms\": %.3f, \"p99_ms\": %.3f, \"p999_ms\": %.3f, \"max_ms\": %.3f, "
        "\"first_p99_ms\": %.3f, \"first_max_ms\": %.3f, \"others_p99_ms\": %.3f, "
        "\"others_max_ms\": %.3f, \"all_answered_by_ms\": %.0f, \"never_answered\": %zu, "
        "\"per_connection_min\": %.0f, \"per_connection_p50\": %.0f, "
        "\"per_connection_max\": %.0f}\n",
        s.connections, rps, all.errors, pct(every, 50), pct(every, 99), pct(every, 99.9),
        pct(every, 100), pct(all.first_ms, 99), pct(all.first_ms, 100), pct(all.rest_ms, 99),
        pct(all.rest_ms, 100), last_first, never, pct(counts, 0), pct(counts, 50),
        pct(counts, 100));
  }
  return 0;
}
