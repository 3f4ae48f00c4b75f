#include "vial/server/server.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>
#ifdef __linux__
#include <linux/filter.h>
#endif

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "connection.hpp"
#include "memory_trim.hpp"
#include "server_core.hpp"
#include "server_threads.hpp"
#include "vial/app/app.hpp"
#include "vial/app/metrics.hpp"

namespace vial {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

// How long a stopping server keeps its listener open, refusing new connection attempts but
// accepting the handshakes already under way: those of a loopback or LAN peer complete in far
// less. Longer would protect handshakes over slower links but delay more new attempts by the
// one-second SYN retransmission.
constexpr std::chrono::milliseconds listener_drain_time{10};

// Connections one accept completion takes from the listen queue (accept_queued). Each costs
// a few microseconds (accept, registration, a posted start), so a full batch keeps the turn
// well under a millisecond; the queue's next clients follow in the next turn.
constexpr std::size_t max_accepts_per_turn = 64;

// Makes the kernel drop new connection attempts (segments with SYN and not ACK) addressed to
// the listener, while handshakes already under way complete into its accept queue. A dropped
// SYN is retried by the client a second later, by which time the listener is closed (the retry
// is refused) or, with reuse_port, another process's listener takes it. Without this, a SYN
// arriving between the last accept and close() would complete a connection the close resets.
// Returns false where unsupported; the drain then narrows the window instead of closing it.
bool refuse_new_connections(tcp::acceptor& acceptor) {
#ifdef __linux__
  // A socket filter on a TCP socket sees each segment from its TCP header; byte 13 holds the
  // flags.
  sock_filter code[] = {
      BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 13),
      BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0x12),        // SYN | ACK
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x02, 0, 1),  // SYN alone: a new attempt
      BPF_STMT(BPF_RET | BPF_K, 0),                     // drop
      BPF_STMT(BPF_RET | BPF_K, 0xffffffff),            // keep
  };
  sock_fprog program{static_cast<unsigned short>(std::size(code)), code};
  return ::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_ATTACH_FILTER, &program,
                      sizeof program) == 0;
#else
  (void)acceptor;
  return false;
#endif
}

// The inherited descriptor's protocol, once it is known to be a listening TCP socket.
tcp check_listening_socket(int fd) {
  int value = 0;
  socklen_t size = sizeof value;
  const auto fail = [fd](const char* what) {
    throw std::system_error(errno ? errno : EINVAL, std::generic_category(),
                            "vial::server: listen_fd " + std::to_string(fd) + " " + what);
  };
  errno = 0;
  if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &value, &size) != 0 || value != SOCK_STREAM) {
    fail("is not a stream socket");
  }
  size = sizeof value;
  if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &value, &size) != 0 || value == 0) {
    fail("is not listening");
  }
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0)
    fail("has no address");
  if (address.ss_family != AF_INET && address.ss_family != AF_INET6) fail("is not TCP/IP");
  return address.ss_family == AF_INET ? tcp::v4() : tcp::v6();
}

tcp::endpoint resolve(const std::string& host, std::uint16_t port) {
  error_code ec;
  auto address = asio::ip::make_address(host.empty() ? "0.0.0.0" : host, ec);
  if (!ec) return {address, port};
  asio::io_context ioc;
  tcp::resolver resolver(ioc);
  auto results = resolver.resolve(host, std::to_string(port), ec);
  if (ec || results.empty()) {
    throw std::system_error(ec ? std::error_code(ec) : make_error_code(std::errc::invalid_argument),
                            "cannot resolve '" + host + "'");
  }
  return results.begin()->endpoint();
}

/// The samples a running server adds to its app's scrape.
void write_server_metrics(metrics_writer& out, server_detail::server_core& core) {
  out.gauge("vial_dispatch_workers", "Worker slots for blocking dispatch (worker_threads).",
            static_cast<double>(core.gate.slots()));
  out.gauge("vial_dispatch_workers_busy", "Worker slots dispatching a request now.",
            static_cast<double>(core.gate.busy()));
  out.gauge("vial_dispatch_queue_depth", "Requests waiting for a worker now.",
            static_cast<double>(core.gate.queued()));
  out.gauge("vial_event_loop_requests_in_flight", "Requests running on the event loop now.",
            static_cast<double>(core.loop_requests.load(std::memory_order_relaxed)));
  static constexpr std::string_view refused_help =
      "Requests refused with 503 before reaching the app, by reason.";
  out.counter("vial_server_refused_total", refused_help,
              core.queue_full_refusals.load(std::memory_order_relaxed),
              {{"reason", "dispatch_queue_full"}});
  out.counter("vial_server_refused_total", refused_help,
              core.event_loop_full_refusals.load(std::memory_order_relaxed),
              {{"reason", "event_loop_full"}});
  std::size_t connections = 0;
  {
    std::lock_guard lock(core.mutex);
    connections = core.connections.size();
  }
  out.gauge("vial_server_connections", "Client connections open now.",
            static_cast<double>(connections));
}

/// Process-wide memory samples, written by a server that trims memory (the one that manages
/// malloc for the process): in use against resident tells a leak from memory kept for reuse.
void write_memory_metrics(metrics_writer& out) {
  const server_detail::memory_figures m = server_detail::read_memory_figures();
  out.gauge("vial_process_resident_bytes", "Resident memory of the process.",
            static_cast<double>(m.resident));
  out.gauge("vial_malloc_in_use_bytes",
            "Bytes malloc has handed out and not had back (process-wide).",
            static_cast<double>(m.malloc_live));
  out.gauge("vial_malloc_free_bytes",
            "Free bytes kept inside malloc's arenas, resident or already trimmed (process-wide).",
            static_cast<double>(m.malloc_free));
  out.counter("vial_memory_trims_total",
              "malloc_trim calls made to return free memory held after a burst.",
              server_detail::memory_trims());
  const server_detail::trim_durations took = server_detail::memory_trim_durations();
  out.histogram("vial_memory_trim_duration_seconds",
                "How long each of those calls took (it locks malloc's arenas in turn).",
                server_detail::trim_duration_bounds, took.counts, took.sum);
}

}  // namespace

struct server::impl {
  impl(vial::app& a, server_options o) : app(a), options(std::move(o)) {}

  void accept();
  void accept_queued();
  void accept_failed(const error_code& ec);
  void watch_backlog();
  void make_room();
  void adopt(tcp::socket socket);
  void close_listener(std::promise<void>& closed);
  void stop();

  vial::app& app;
  server_options options;
  std::unique_ptr<server_detail::server_core> core;
  std::shared_ptr<void> metrics_collector;  // while running, when the app has metrics
  std::unique_ptr<tcp::acceptor> acceptor;
  std::unique_ptr<asio::steady_timer> accept_retry;
  std::unique_ptr<asio::steady_timer> listener_drain;
  // Used on the acceptor's strand only.
  std::size_t accept_failures = 0;
  std::chrono::steady_clock::time_point accept_failure_logged{};
  std::chrono::steady_clock::time_point limit_logged{};
  bool watching_backlog = false;
  bool inherited = false;  // the listener came from options.listen_fd
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::unique_ptr<server_detail::server_threads> threads;
  std::unique_ptr<server_detail::memory_trimmer> trimmer;
  std::atomic<std::uint16_t> port{0};
  std::atomic<bool> running{false};
  bool started = false;

  std::mutex stop_mutex;  // serializes start and stop
  std::mutex state_mutex;
  std::condition_variable stopped_cv;
  bool stopped = false;
};

void server::impl::accept() {
  if (core->full()) return watch_backlog();
  acceptor->async_accept(asio::make_strand(core->ioc), [this](error_code ec, tcp::socket socket) {
    // Served even while stopping: the client has a connection and may have sent its request.
    if (!ec) adopt(std::move(socket));
    if (ec == asio::error::operation_aborted || !acceptor->is_open()) return;
    if (ec) return accept_failed(ec);
    if (accept_failures > 0) {
      app.logger().info("accepting connections again after " + std::to_string(accept_failures) +
                        " failed attempts");
      accept_failures = 0;
    }
    accept_queued();
    accept();
  });
}

// An accept completes once per turn of the event loop, in line with every other ready
// connection. When the listen queue is full of clients (a flood that reconnects as fast as it
// is answered), one accept per turn made a new client wait behind the whole queue, a turn each
// (bench/hostile_memory: about 60 queued, /hello at 60-150 ms p50). So each completion also
// takes what the kernel has already queued, up to a bound that keeps the turn short; an error
// is left to the next asynchronous accept, which handles it.
void server::impl::accept_queued() {
  for (std::size_t i = 1; i < max_accepts_per_turn && !core->full(); ++i) {
    tcp::socket socket(asio::make_strand(core->ioc));
    error_code ec;
    acceptor->accept(socket, ec);  // non-blocking (set at start): would_block when empty
    if (ec) return;
    adopt(std::move(socket));
  }
}

// Out of descriptors (EMFILE, ENFILE) or kernel memory (ENOBUFS, ENOMEM): the pending
// connection stays in the backlog and the listening socket stays readable, so accepting again
// at once would spin on the same error. Wait a little instead; a closing connection frees a
// descriptor for the next attempt. The first failure is logged, then one line per interval,
// so an exhausted process does not also fill its log.
void server::impl::accept_failed(const error_code& ec) {
  constexpr std::chrono::milliseconds retry_after{50};
  constexpr std::chrono::seconds log_interval{10};
  const auto now = std::chrono::steady_clock::now();
  if (accept_failures++ == 0) {
    app.logger().warning("accept failed: " + ec.message() + "; retrying every " +
                         std::to_string(retry_after.count()) + " ms");
    accept_failure_logged = now;
  } else if (now - accept_failure_logged >= log_interval) {
    app.logger().warning("accept still failing: " + ec.message() + " (" +
                         std::to_string(accept_failures) + " attempts so far)");
    accept_failure_logged = now;
  }
  accept_retry->expires_after(retry_after);
  accept_retry->async_wait([this](error_code e) {
    if (!e && acceptor->is_open()) accept();
  });
}

// At max_connections, on the acceptor's strand: nothing is accepted, and the listen backlog
// holds new connections. Once one is waiting there, make_room. A connection that closes or
// goes idle calls wake_acceptor, which posts accept() again. No connection is accepted only to
// be answered 503: that would cost a descriptor and a read per refusal during an overload.
void server::impl::watch_backlog() {
  if (watching_backlog) return;
  watching_backlog = true;
  acceptor->async_wait(tcp::acceptor::wait_read, [this](error_code ec) {
    watching_backlog = false;
    if (ec || !acceptor->is_open() || core->stopping.load()) return;
    if (!core->waiting_for_room.load()) return;  // woken meanwhile: accept() is on its way
    pollfd pending{acceptor->native_handle(), POLLIN, 0};
    if (::poll(&pending, 1, 0) != 1) return watch_backlog();  // already accepted
    make_room();
  });
}

// Like nginx, closes the connections that have waited longest for a request (an eighth of the
// idle ones, 1 to 32) rather than keep the new client waiting: an idle keep-alive client
// reconnects when it needs to. With none idle, accepting stays paused until a connection closes
// or goes idle.
void server::impl::make_room() {
  std::vector<
      std::pair<server_detail::connection::clock::rep, std::shared_ptr<server_detail::connection>>>
      idle;
  std::size_t n = 0;
  {
    std::lock_guard lock(core->mutex);
    if (!core->closing.empty()) return;  // room is on its way
    for (auto* c : core->connections) {
      if (auto since = c->idle_since(); since != 0) {
        if (auto p = c->weak_from_this().lock()) idle.emplace_back(since, std::move(p));
      }
    }
    n = std::min<std::size_t>(idle.size(), std::clamp<std::size_t>(idle.size() / 8, 1, 32));
    std::partial_sort(idle.begin(), idle.begin() + static_cast<std::ptrdiff_t>(n), idle.end(),
                      [](const auto& a, const auto& b) { return a.first < b.first; });
    for (std::size_t i = 0; i < n; ++i) core->closing.insert(idle[i].second.get());
  }
  for (std::size_t i = 0; i < n; ++i) {
    auto c = idle[i].second;
    asio::post(c->executor(), [c] { c->close_if_idle(); });
  }
  idle.clear();  // outside the lock: the last reference may run a destructor that takes it
  if (n > 0) return;
  const auto now = std::chrono::steady_clock::now();
  if (limit_logged == std::chrono::steady_clock::time_point{} ||
      now - limit_logged >= std::chrono::seconds(10)) {
    app.logger().warning("connection limit reached (" + std::to_string(options.max_connections) +
                         " open, none idle): new connections wait in the listen backlog");
    limit_logged = now;
  }
}

void server::impl::adopt(tcp::socket socket) {
  auto c = server_detail::connection::open(*core, std::move(socket));
  // On the connection's strand, like everything it does: a graceful stop may already be
  // posting to it.
  asio::post(c->executor(), [c] { c->start(); });
}

// On the acceptor's strand. Stops new connection attempts at once, accepts what the kernel
// already completed for a moment, then closes: a connection left in the listen queue would be
// reset by the close.
void server::impl::close_listener(std::promise<void>& closed) {
  accept_retry->cancel();
  if (inherited) {
    // The service manager holds the socket too: what is in the queue, and the connections
    // that keep arriving, wait there for the next process. No filter, which would stay on the
    // shared socket.
    error_code ec;
    acceptor->close(ec);
    closed.set_value();
    return;
  }
  refuse_new_connections(*acceptor);
  listener_drain->expires_after(listener_drain_time);
  listener_drain->async_wait([this, &closed](error_code) {
    error_code ec;
    acceptor->non_blocking(true, ec);
    while (!ec) {
      tcp::socket socket(asio::make_strand(core->ioc));
      acceptor->accept(socket, ec);
      if (!ec) adopt(std::move(socket));
    }
    acceptor->close(ec);
    closed.set_value();
  });
}

server::server(vial::app& app, server_options options)
    : impl_(std::make_unique<impl>(app, std::move(options))) {}

server::~server() {
  try {
    stop();
  } catch (...) {
    // A destructor must not throw; stop already logged what failed.
  }
}

void server::start() {
  std::lock_guard guard(impl_->stop_mutex);
  auto& s = *impl_;
  if (s.started) throw std::logic_error("vial::server::start: the server was already started");
  const auto io = std::max<std::size_t>(1, s.options.io_threads);
  const auto workers = std::max<std::size_t>(1, s.options.worker_threads);
  const auto thread_count = io + workers;
  s.core = std::make_unique<server_detail::server_core>(s.app, s.options,
                                                        static_cast<int>(thread_count));

  s.acceptor = std::make_unique<tcp::acceptor>(asio::make_strand(s.core->ioc));
  s.accept_retry = std::make_unique<asio::steady_timer>(s.acceptor->get_executor());
  s.listener_drain = std::make_unique<asio::steady_timer>(s.acceptor->get_executor());
  error_code ec;
  if (s.options.listen_fd >= 0) {
    const int fd = s.options.listen_fd;
    const auto protocol = check_listening_socket(fd);
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);  // not passed on to processes this one starts
#ifdef __linux__
    // A filter refusing connections, left by a process that stopped without SO_DETACH_FILTER
    // (an older vial), would drop every connection attempt.
    int unused = 0;
    (void)::setsockopt(fd, SOL_SOCKET, SO_DETACH_FILTER, &unused, sizeof unused);
#endif
    s.acceptor->assign(protocol, fd, ec);
    if (ec) throw std::system_error(ec, "vial::server: cannot use listen_fd " + std::to_string(fd));
    s.inherited = true;
  } else {
    auto endpoint = resolve(s.options.host, s.options.port);
    auto fail = [&](const char* what) {
      throw std::system_error(ec, std::string("vial::server: ") + what + " " +
                                      endpoint.address().to_string() + ":" +
                                      std::to_string(endpoint.port()));
    };
    s.acceptor->open(endpoint.protocol(), ec);
    if (ec) fail("cannot open a socket for");
    s.acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
    if (s.options.reuse_port) s.acceptor->set_option(reuse_port(true), ec);
    if (ec) fail("cannot set socket options on");
    s.acceptor->bind(endpoint, ec);
    if (ec) fail("cannot bind");
    s.acceptor->listen(s.options.backlog, ec);
    if (ec) fail("cannot listen on");
  }
  s.acceptor->non_blocking(true, ec);  // accept_queued takes the queue without waiting
  if (ec)
    throw std::system_error(ec, "vial::server: cannot make the listening socket non-blocking");
  s.port = s.acceptor->local_endpoint().port();
  // Holds no executor: the core outlives its io_context's services, and a strand would not.
  s.core->room_available = [&s] {
    asio::post(s.acceptor->get_executor(), [&s] {
      if (s.acceptor->is_open() && !s.core->stopping.load()) s.accept();
    });
  };

  if (auto* metrics = s.app.metrics()) {
    metrics
        ->add_collector([core = s.core.get(),
                         trims = s.options.memory_trim_threshold > 0](metrics_writer& out) {
          write_server_metrics(out, *core);
          if (trims) write_memory_metrics(out);
        })
        .swap(s.metrics_collector);
  }
  s.app.startup();
  s.started = true;
  s.work.emplace(s.core->ioc.get_executor());
  s.accept();
  s.threads =
      std::make_unique<server_detail::server_threads>(s.core->ioc, io, workers, s.app.logger());
  s.threads->start();
  server_detail::fix_mmap_threshold(s.options.malloc_mmap_threshold);
  // Checked every second; what a burst left is trimmed once the memory has been quiet for 5 s
  // (docs/design.md, "Memory that comes back").
  s.trimmer = std::make_unique<server_detail::memory_trimmer>(
      s.options.memory_trim_threshold, std::chrono::seconds(1), std::chrono::seconds(5),
      s.app.logger());
  s.running = true;
}

void server::impl::stop() {
  core->stopping = true;
  app.begin_draining();  // readiness turns false before anything else drains
  std::promise<void> listener_closed;
  asio::post(acceptor->get_executor(),
             [this, &listener_closed] { close_listener(listener_closed); });

  auto for_each_connection = [this](auto action) {
    // Collected under the lock, posted outside it: dropping the last reference runs the
    // connection's destructor, which takes the same lock.
    std::vector<std::shared_ptr<server_detail::connection>> live;
    {
      std::lock_guard lock(core->mutex);
      for (auto* c : core->connections) {
        if (auto p = c->weak_from_this().lock()) live.push_back(std::move(p));
      }
    }
    for (auto& c : live) asio::post(c->executor(), [c, action] { action(*c); });
  };
  auto wait_drained = [this](std::chrono::milliseconds limit) {
    std::unique_lock lock(core->mutex);
    return core->drained.wait_for(lock, limit, [this] { return core->connections.empty(); });
  };

  // Connections accepted from here on start in the stopping state; the others are told now.
  for_each_connection([](server_detail::connection& c) { c.shutdown(); });
  const auto deadline = std::chrono::steady_clock::now() + options.shutdown_timeout;
  listener_closed.get_future().wait_until(deadline);
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  if (!wait_drained(std::max(left, std::chrono::milliseconds(0)))) {
    app.logger().warning("shutdown timeout: closing connections still busy");
    for_each_connection([](server_detail::connection& c) { c.close(); });
    wait_drained(std::chrono::seconds(2));
  }
  work.reset();
  core->gate.clear();
  core->ioc.stop();
  threads->stop();
  threads.reset();
  trimmer.reset();
  app.shutdown(options.shutdown_timeout);
  metrics_collector.reset();
}

void server::stop() {
  std::lock_guard guard(impl_->stop_mutex);
  auto& s = *impl_;
  if (!s.running.load()) return;
  try {
    s.stop();
  } catch (...) {
    s.running = false;
    {
      std::lock_guard lock(s.state_mutex);
      s.stopped = true;
    }
    s.stopped_cv.notify_all();
    throw;
  }
  s.running = false;
  {
    std::lock_guard lock(s.state_mutex);
    s.stopped = true;
  }
  s.stopped_cv.notify_all();
}

void server::wait() {
  std::unique_lock lock(impl_->state_mutex);
  impl_->stopped_cv.wait(lock, [this] { return impl_->stopped || !impl_->started; });
}

std::uint16_t server::port() const noexcept { return impl_->port.load(); }
bool server::running() const noexcept { return impl_->running.load(); }
const server_options& server::options() const noexcept { return impl_->options; }

int systemd_listen_fd() {
  // sd_listen_fds(3): the variables name this process and the descriptors start at 3.
  const char* pid = std::getenv("LISTEN_PID");
  const char* fds = std::getenv("LISTEN_FDS");
  const bool ours =
      pid != nullptr && fds != nullptr && std::atol(pid) == ::getpid() && std::atoi(fds) >= 1;
  ::unsetenv("LISTEN_PID");
  ::unsetenv("LISTEN_FDS");
  ::unsetenv("LISTEN_FDNAMES");
  return ours ? 3 : -1;
}

}  // namespace vial
