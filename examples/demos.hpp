#pragma once

// The demos of vial-examples, one registration function per file. Each file reads like the
// Flask code it rewrites (see the seeds quoted in docs/quickstart.md).

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include <vial/app/app.hpp>
#include <vial/client/http_client.hpp>
#include <vial/http/request.hpp>

namespace examples {

/// What the demos share: the upstream the fan-out calls and the one client it calls it with.
struct context {
  std::string upstream;  ///< "http://127.0.0.1:PORT", no trailing slash
  vial::http_client* client = nullptr;
  std::string db_path;
  /// Where the coroutine demos that never block run (/hello-async, /data, /fanout,
  /// /with-timeout, /stream): on the event loop, or through the bridge with --bridge.
  vial::coroutine_mode coroutines = vial::coroutine_mode::event_loop;
  /// How long GET /tasks/<id> remembers a finished task, and how many tasks at most.
  std::chrono::milliseconds task_ttl = std::chrono::minutes(10);
  std::size_t tasks_kept = 10'000;

  /// The route options of those demos.
  vial::route_options never_blocks() const { return {.coroutines = coroutines}; }
};

/// The integer query argument `name` (default `fallback`), or a 400 naming it when it is not
/// a whole number in [lo, hi].
int int_arg(const vial::request& req, std::string_view name, int fallback, int lo, int hi);

/// X-Request-Duration hooks and the JSON error handlers (400, 404, 405, 409, 413, 415, 500, 502,
/// 503, 504).
void register_hooks(vial::app& app);
/// GET /hello, /hello-async, /data.
void register_hello(vial::app& app, const context& ctx);
/// GET /upstream/delay: the mock upstream (also served by the embedded upstream server).
void register_upstream(vial::app& app);
/// GET /fanout, /fanout-sync (n calls of ms each to the upstream, within timeout ms).
void register_fanout(vial::app& app, const context& ctx);
/// /users: the class-based users API over SQLite.
void register_users(vial::app& app, const context& ctx);
/// GET /stream: server-sent events.
void register_stream(vial::app& app, const context& ctx);
/// POST /send-email, GET /tasks/<id>: background work.
void register_email(vial::app& app, const context& ctx);
/// GET /with-timeout, GET /boom.
void register_timeout(vial::app& app, const context& ctx);
/// GET /: the index page.
void register_index(vial::app& app);
/// /ws/echo, /ws/chat/<room> and GET /chat/<room> (members of a room).
void register_websocket(vial::app& app);

}  // namespace examples
