// vial-examples: every scenario of the Flask 2 async seeds, served by one binary.
//
//   vial-examples [--host 127.0.0.1] [--port 8080] [--threads 64] [--db vial-examples.db]
//                 [--upstream URL] [--reuse-port] [--bridge] [--task-ttl-ms 600000]
//                 [--tasks-kept 10000]
//
// Without --upstream, a second server on an ephemeral loopback port plays the upstream the
// fan-out demos call, so everything works offline. SIGINT/SIGTERM stop both gracefully.
// With --reuse-port, a second copy can bind the same port before the first one is stopped.

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "demos.hpp"
#include <vial/app/app.hpp>
#include <vial/app/metrics.hpp>
#include <vial/client/http_client.hpp>
#include <vial/server/server.hpp>

namespace {

struct options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  // A bridged coroutine handler keeps its worker while it waits, so with --bridge the thread
  // count bounds how many slow requests (fan-outs, /data, timeouts) are served at once: 64
  // serves 64 concurrent fan-out clients. On the event loop (the default) they hold none.
  std::size_t threads = 64;
  std::string db = "vial-examples.db";
  std::string upstream;  // empty: start the embedded mock upstream
  bool reuse_port = false;
  bool bridge = false;  // run the never-blocking coroutine demos through the bridge
  std::chrono::milliseconds task_ttl = std::chrono::minutes(10);
  std::size_t tasks_kept = 10'000;
};

constexpr const char* usage =
    "usage: vial-examples [--host ADDR] [--port N] [--threads N] [--db PATH] [--upstream URL]\n"
    "                     [--reuse-port] [--bridge] [--task-ttl-ms N] [--tasks-kept N]\n"
    "  --host      address to listen on (default 127.0.0.1)\n"
    "  --port      port, 0 for an ephemeral one (default 8080)\n"
    "  --threads   worker threads (default 64; a bridged coroutine holds one while it waits)\n"
    "  --db        SQLite file of the users demo (default ./vial-examples.db)\n"
    "  --upstream  base URL the fan-out demos call (default: an embedded mock upstream)\n"
    "  --reuse-port  share the port with another process (SO_REUSEPORT), for restarts without\n"
    "              downtime: start the new process, then SIGTERM the old one\n"
    "  --bridge    run /hello-async, /data, /fanout, /with-timeout and /stream through the\n"
    "              bridge (each holds a worker while it waits) instead of the event loop\n"
    "  --task-ttl-ms  how long GET /tasks/<id> remembers a task after it was queued (default\n"
    "              600000, 10 minutes; longer while it runs)\n"
    "  --tasks-kept  how many tasks GET /tasks/<id> remembers at most (default 10000)\n";

template <class T>
T parse_number(std::string_view flag, std::string_view text, T lo, T hi) {
  T value{};
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || ptr != text.data() + text.size() || value < lo || value > hi) {
    std::cerr << "vial-examples: " << flag << " expects a number from " << lo << " to " << hi
              << ", got '" << text << "'\n"
              << usage;
    std::exit(2);
  }
  return value;
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::cout << usage;
      std::exit(0);
    }
    if (flag == "--reuse-port") {
      o.reuse_port = true;
      continue;
    }
    if (flag == "--bridge") {
      o.bridge = true;
      continue;
    }
    if (i + 1 >= argc) {
      std::cerr << "vial-examples: unknown flag or missing value: " << flag << "\n" << usage;
      std::exit(2);
    }
    std::string_view value = argv[++i];
    if (flag == "--host") {
      o.host = value;
    } else if (flag == "--port") {
      o.port = parse_number<std::uint16_t>(flag, value, 0, 65535);
    } else if (flag == "--threads") {
      o.threads = parse_number<std::size_t>(flag, value, 1, 1024);
    } else if (flag == "--task-ttl-ms") {
      o.task_ttl = std::chrono::milliseconds(
          parse_number<std::int64_t>(flag, value, 0, std::int64_t{24} * 3600 * 1000));
    } else if (flag == "--tasks-kept") {
      o.tasks_kept = parse_number<std::size_t>(flag, value, 1, 10'000'000);
    } else if (flag == "--db") {
      o.db = value;
    } else if (flag == "--upstream") {
      o.upstream = value;
      while (o.upstream.ends_with('/')) o.upstream.pop_back();
    } else {
      std::cerr << "vial-examples: unknown flag " << flag << "\n" << usage;
      std::exit(2);
    }
  }
  return o;
}

/// One malloc arena per core, before any thread allocates. glibc allows 8 per core, and this
/// process runs many threads (64 workers, the blocking pool, the upstream's; about 340 when the
/// soak measured it): spread over 16 arenas on two cores, the free memory between live blocks
/// climbed for minutes under the soak (docs/reliability.md, "Soak"). MALLOC_ARENA_MAX in the
/// environment still decides.
void limit_malloc_arenas() {
#ifdef __GLIBC__
  if (std::getenv("MALLOC_ARENA_MAX") == nullptr) {
    ::mallopt(M_ARENA_MAX, static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  }
#endif
}

}  // namespace

int main(int argc, char** argv) {
  limit_malloc_arenas();
  const options opts = parse(argc, argv);

  try {
    // One client for every fan-out: its pool keeps upstream connections open across requests.
    // 512 connections: 64 clients of /fanout?n=5 have 320 calls in flight, and one request
    // takes at most max_connections_per_caller (64) of them, so a few wide fan-outs
    // (/fanout?n=100) leave room for everyone else. A response is at most 1 MiB: a fan-out of
    // 100 calls to a runaway upstream then holds 100 MiB at worst instead of the default's
    // 6.4 GiB.
    vial::http_client client({.pool_size_per_host = 512, .max_response_bytes = 1 << 20});
    examples::context ctx{
        .upstream = opts.upstream,
        .client = &client,
        .db_path = opts.db,
        .coroutines = opts.bridge ? vial::coroutine_mode::bridge : vial::coroutine_mode::event_loop,
        .task_ttl = opts.task_ttl,
        .tasks_kept = opts.tasks_kept};

    // The embedded mock upstream: its own app and server, on an ephemeral loopback port. Its
    // one route only awaits a timer, so it runs on the event loop: a call in flight holds no
    // worker, and the upstream never caps the fan-out below the client's pool.
    vial::app upstream_app({.coroutines = vial::coroutine_mode::event_loop});
    std::unique_ptr<vial::server> upstream_server;
    if (ctx.upstream.empty()) {
      examples::register_upstream(upstream_app);
      upstream_server = std::make_unique<vial::server>(
          upstream_app, vial::server_options{.host = "127.0.0.1",
                                             .port = 0,
                                             // The main server's trim covers the whole process.
                                             .memory_trim_threshold = 0});
      upstream_server->start();
      ctx.upstream = "http://127.0.0.1:" + std::to_string(upstream_server->port());
    }

    vial::app app;
    examples::register_hooks(app);
    examples::register_index(app);
    examples::register_hello(app, ctx);
    examples::register_upstream(app);
    examples::register_fanout(app, ctx);
    examples::register_users(app, ctx);
    examples::register_stream(app, ctx);
    examples::register_email(app, ctx);
    examples::register_timeout(app, ctx);
    examples::register_websocket(app);
    // Prometheus metrics: the app's requests, the server's queue and workers, and the fan-out
    // client's pool (docs/operations.md).
    vial::add_metrics_route(app, {.collect = {[&client](vial::metrics_writer& out) {
                                    client.write_metrics(out, "fanout");
                                  }}});

    vial::server server(app, {.host = opts.host,
                              .port = opts.port,
                              .worker_threads = opts.threads,
                              .reuse_port = opts.reuse_port});
    // The upstream stops after the server: fan-outs still in flight finish against it.
    server.run_until_signal([&](const vial::server& s) {
      std::cout << "vial-examples serving on http://" << opts.host << ":" << s.port() << "\n"
                << "  upstream " << ctx.upstream << ", database " << ctx.db_path << ", "
                << opts.threads << " worker threads; coroutine demos "
                << (opts.bridge ? "through the bridge" : "on the event loop") << "; Ctrl-C stops"
                << std::endl;
    });
    std::cout << "vial-examples: stopped" << std::endl;
    if (upstream_server) upstream_server->stop();
  } catch (const std::exception& e) {
    std::cerr << "vial-examples: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
