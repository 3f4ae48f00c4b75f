#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "vial/app/scaffold.hpp"
#include "vial/app/to_response.hpp"
#include "vial/app/websocket.hpp"
#include "vial/async/background.hpp"
#include "vial/async/task.hpp"
#include "vial/async/to_thread.hpp"
#include "vial/detail/handler.hpp"
#include "vial/detail/hooks.hpp"
#include "vial/detail/request_executor.hpp"
#include "vial/detail/scope.hpp"
#include "vial/http/multi_dict.hpp"
#include "vial/http/proxy.hpp"
#include "vial/http/request.hpp"
#include "vial/http/response.hpp"
#include "vial/log.hpp"
#include "vial/routing/router.hpp"

namespace vial {

class app;
class blueprint;
struct blueprint_options;
class metrics_registry;
struct metrics_options;
void add_metrics_route(app& a, metrics_options options);
namespace detail {
class pipeline;
}

/// Where routing sent one request (`app::match`): the route that takes it, or the miss (404,
/// 405, automatic OPTIONS, the strict-slash redirect). The server routes a request once, when
/// its header has arrived (it needs the route's body limit before reading the body), and hands
/// this to `dispatch`, which then does not route it again.
/// Distinct objects: safe. Shared objects: unsafe.
class matched_route {
 public:
  /// Routes nothing: `dispatch` given it routes the request itself.
  matched_route() = default;
  /// The body limit of the route that takes the request (`route_options::max_body_bytes`), if
  /// it sets one.
  std::optional<std::size_t> body_limit() const noexcept { return body_limit_; }

 private:
  friend class app;
  static constexpr std::size_t none = static_cast<std::size_t>(-1);
  const app* app_ = nullptr;  // the app that matched; another app's dispatch routes again
  route_match match_;         // its params are moved into the request
  std::size_t entry_ = none;  // the route found, or for automatic OPTIONS one at the same path
  std::optional<std::size_t> body_limit_;
};

/// App-wide settings, set with designated initializers.
struct app_options {
  /// Signs session cookies; required before a session is written.
  std::string secret_key{};
  /// Threads of the pool `to_thread` uses inside this app's handlers.
  std::size_t blocking_threads = 8;
  /// Blocking work allowed to wait for one of those threads. Past it, `to_thread` throws
  /// `overload_error` at once: 503 with `Retry-After: 1` unless handled. A waiting coroutine
  /// holds its server worker, so keep `blocking_threads + max_queued_blocking` below
  /// `server_options::worker_threads` to leave workers for other routes when the pool is full.
  std::size_t max_queued_blocking = 256;
  /// Threads running `background(...)` work.
  std::size_t background_threads = 1;
  /// The longest body `req.json()` parses; 413 past it. Lower than the server's body limit
  /// because parsed JSON takes many times its size in memory (docs/design.md).
  std::size_t max_json_bytes = request::default_max_json_bytes;
  /// Which forwarding headers to trust, by number of proxies in front (off by default):
  /// `{.x_for = 1, .x_proto = 1}` behind one nginx. Applied at the start of `dispatch`, so
  /// hooks, handlers and the access log see the client's address and scheme
  /// (docs/server.md, "Behind a proxy").
  proxy_options proxy{};
  /// Where coroutine handlers run unless their route or blueprint says otherwise.
  coroutine_mode coroutines = coroutine_mode::bridge;
  /// An event-loop coroutine that runs longer than this without suspending is logged as a
  /// warning naming its route: it is blocking an I/O thread (asyncio's debug mode). Zero
  /// disables the check.
  std::chrono::milliseconds slow_step_warning{100};
};

/// A vial application: routes, hooks and error handlers, and `dispatch`, the one entry point
/// the server and the test client use. Every slot takes a plain function or a coroutine
/// (returning `task<...>`); a request whose chain holds a coroutine runs it all in one
/// `async_to_sync` run on the calling thread, or, for a route whose `coroutine_mode` is
/// `event_loop`, on the server's event loop without holding a thread.
///
/// Routes, hooks and error handlers are registered through the members it shares with
/// `blueprint` (scaffold.hpp). `vial::run(app, options)` (server/server.hpp) serves it.
///
/// Configure on one thread, then serve: the first `dispatch` freezes the app, and registering
/// after that throws `setup_error`. Once frozen, `dispatch` is safe from any number of threads.
class app : public scaffold<app> {
 public:
  explicit app(app_options options = {});
  ~app();
  app(const app&) = delete;
  app& operator=(const app&) = delete;

  /// Adds the routes, hooks and error handlers of `bp` under its name and URL prefix (or
  /// those of `options`). The app keeps what it needs: `bp` may be destroyed afterwards, and
  /// may be registered again under another name. Throws `setup_error` when the name is taken.
  app& register_blueprint(const blueprint& bp);
  app& register_blueprint(const blueprint& bp, const blueprint_options& options);

  /// Serves the files under `directory` at `url_path` ("/static/<path:filename>", endpoint
  /// "static"): see `send_from_directory` in static_files.hpp.
  app& static_folder(std::string_view url_path, std::string directory);

  /// Runs once before serving (Quart's before_serving), e.g. to open a connection pool.
  template <class F>
  app& on_startup(F&& hook) {
    check_not_frozen("a startup hook");
    startup_.push_back(detail::make_slot<detail::lifecycle_kind>(std::forward<F>(hook)));
    return *this;
  }
  /// Runs once after serving stopped and background work drained.
  template <class F>
  app& on_shutdown(F&& hook) {
    check_not_frozen("a shutdown hook");
    shutdown_.push_back(detail::make_slot<detail::lifecycle_kind>(std::forward<F>(hook)));
    return *this;
  }
  /// Runs the startup hooks (the server calls this before accepting). Freezes the app, and
  /// clears `is_draining()`.
  void startup();
  /// Marks the app as going away: `server::stop` calls it as soon as a graceful stop begins,
  /// before in-flight requests finish, so readiness checks (health.hpp) answer 503 while the
  /// process drains. Safe from any thread.
  void begin_draining() noexcept { draining_.store(true, std::memory_order_release); }
  /// True from `begin_draining()` until the next `startup()`.
  bool is_draining() const noexcept { return draining_.load(std::memory_order_acquire); }
  /// Drains background work for up to `background_deadline`, then runs the shutdown hooks.
  /// Returns how much background work was abandoned.
  std::size_t shutdown(std::chrono::milliseconds background_deadline = std::chrono::seconds(10));

  /// Starts work that outlives the request on the app's background executor. Its exceptions
  /// are logged; the handle reports its state. Unlike a task spawned inside a handler, it is
  /// not cancelled when the request ends.
  ///
  /// `work` is a callable taking no arguments, returning void (run on a background thread) or
  /// `task<void>` (started there; the callable and its captures are kept until it finished):
  /// `app.background([id] () -> task<void> { ... })`. Pass the lambda, do not call it: a
  /// coroutine lambda called in place, `background([id]() -> task<void> {...}())`, refers to
  /// a closure destroyed at the end of the statement (docs/async.md).
  template <class F>
    requires(!is_task_v<std::remove_cvref_t<F>>)
  background_handle background(F&& work, std::string name = {}) {
    return background_executor().submit(std::forward<F>(work), std::move(name));
  }
  /// Starts a task made by a coroutine function: `background(send_email(to), "email")`. Its
  /// arguments must be values (or outlive it), never references to the caller's locals.
  background_handle background(task<void> work, std::string name = {});
  background_handle background(std::function<void()> work, std::string name = {});
  vial::background_executor& background_executor();

  /// Answers one request: hooks, routing, handler, error handlers, teardown. Never throws for
  /// anything a request can cause; an escaped exception is a logged 500. The response carries
  /// `X-Request-Id`. A route set to run on the event loop is bridged when called this way;
  /// servers use `dispatch_on_loop`.
  response dispatch(request& req) const;
  response dispatch(request&& req) const { return dispatch(req); }
  /// Answers a request routed by `match(req)`, without routing it again.
  response dispatch(request& req, const matched_route& route) const;

  /// Routes `req` once: finds its route and sets what the app derives from the request's
  /// header: its path parameters and JSON limit, the client's address, scheme and host behind
  /// trusted proxies (`app_options::proxy`), and its id. What it returns is for
  /// `dispatch(req, route)`. Freezes the app.
  matched_route match(request& req) const;

  /// For servers and test clients: the scope settings of a request `match` sent to a route
  /// that runs on the event loop (a coroutine handler in `coroutine_mode::event_loop`), else
  /// none. Such a request is answered by `dispatch_on_loop`, run on an executor of that scope.
  std::optional<detail::request_scope_options> event_loop_route(const request& req,
                                                                const matched_route& route) const;
  /// `dispatch` as a coroutine, for a request `event_loop_route` accepted: the whole chain
  /// runs on the awaiting executor. `req` and `route` must outlive the task.
  task<response> dispatch_on_loop(request& req, const matched_route& route) const;

  /// Builds the URL of `endpoint` (see `router::url_for`). Throws `build_error`.
  std::string url_for(std::string_view endpoint, const multi_dict& params = {}) const;
  /// The URL of `endpoint` as the client of `req` sees it: under `req.script_root()`, and with
  /// `external` as an absolute URL on `req.scheme()` and `req.host()` (for links in emails,
  /// OAuth callbacks). Behind a proxy, set `app_options::proxy` so these are the public ones.
  std::string url_for(const request& req, std::string_view endpoint, const multi_dict& params = {},
                      bool external = false) const;

  /// The per-route body limit for a request line, if the matched route sets one (a server that
  /// dispatches the request afterwards uses `match(req).body_limit()`, which routes it once).
  std::optional<std::size_t> body_limit(std::string_view method, std::string_view path) const;

  /// The metrics `add_metrics_route` turned on (app/metrics.hpp), or null: a server adds its
  /// queue and worker samples to it while it runs.
  metrics_registry* metrics() const noexcept { return metrics_.get(); }

  const app_options& options() const noexcept { return options_; }
  const vial::logger& logger() const noexcept { return logger_; }
  void set_logger(vial::logger l) { logger_ = std::move(l); }
  blocking_pool& blocking() const;
  bool is_frozen() const noexcept { return frozen_.load(std::memory_order_acquire); }

 private:
  friend void add_metrics_route(app& a, metrics_options options);

  struct route_entry {
    detail::route_handler handler;
    std::string label;     // "GET /users/<int:id>", for logs
    std::string endpoint;  // for `request::endpoint()`
    std::vector<const detail::scope*> scopes;
    std::optional<std::size_t> max_body_bytes;
    std::size_t max_json_bytes = request::default_max_json_bytes;
    bool chain_async = false;  // a hook or error handler in its scopes is a coroutine
    bool event_loop = false;   // a coroutine handler set to run on the event loop
    bridge_options bridge{};   // the route's bridge runs: its label, the app's logger and pool
  };

  friend class scaffold<app>;
  /// Adds a route now (the scaffold's registration). `view_hooks`: a view's scope, or null.
  void add_url_rule(std::string_view rule, std::vector<std::string> methods,
                    detail::route_handler handler, route_options options,
                    std::shared_ptr<const detail::scope> view_hooks);
  /// Where the scaffold puts hooks and error handlers: the app's scope, unless frozen.
  detail::scope& hooks_for(std::string_view what);
  /// Adds a route whose hooks and error handlers are `inner` (innermost first), then the app's.
  void add_route(std::string_view rule, const std::vector<std::string>& methods,
                 detail::route_handler handler, route_options options,
                 std::vector<std::shared_ptr<const detail::scope>> inner);
  void register_blueprint_at(const blueprint& bp, const std::string& name,
                             const std::string& prefix,
                             std::vector<std::shared_ptr<const detail::scope>> outer,
                             std::optional<coroutine_mode> coroutines);
  void check_not_frozen(std::string_view what) const;
  void freeze() const;
  /// A bridge run's options for work named `label`: the app's logger and blocking pool.
  bridge_options bridge_options_for(std::string_view label) const;
  /// For an OPTIONS request answered automatically: a route at the same path, whose hooks run.
  std::size_t options_route(const route_match& m, const request& req) const;
  /// The request pipeline (src/app/pipeline.hpp) for a request routed by this app.
  detail::pipeline start_pipeline(request& req, const matched_route& route) const;
  /// The whole pipeline as one coroutine: awaits coroutine slots and calls plain ones inline.
  /// `dispatch` runs it in one bridge run when a hook or error handler of the route is a
  /// coroutine; otherwise a plain loop runs the same steps without a coroutine frame. `req`
  /// and `route` (from this app's `match`) must outlive the task. With `metrics` (on the
  /// event loop), the chain counts itself there, in its own frame.
  task<response> dispatch_async(request& req, const matched_route& route,
                                metrics_registry* metrics = nullptr) const;
  /// The client behind trusted proxies and the request id, set by `match`.
  void prepare_context(request& req) const;
  /// The route index `metrics_registry::end` takes for a request routed as `route`.
  std::size_t metrics_route(const matched_route& route) const noexcept;
  /// `dispatch` without the request id around it: the pipeline.
  response dispatch_request(request& req, const matched_route& route) const;

  app_options options_;
  vial::logger logger_;
  router router_;
  std::vector<route_entry> routes_;
  detail::scope scope_;
  std::vector<const detail::scope*> miss_scopes_{&scope_};  // the scopes of a routing miss
  std::vector<detail::lifecycle_slot> startup_;
  std::vector<detail::lifecycle_slot> shutdown_;
  mutable std::atomic<bool> frozen_{false};
  std::atomic<bool> draining_{false};
  mutable bool miss_chain_async_ = false;  // set once by freeze()
  mutable bool any_event_loop_ = false;    // set once by freeze()
  mutable std::unique_ptr<blocking_pool> blocking_;
  mutable std::unique_ptr<vial::background_executor> background_;
  std::mutex background_creation_;  // guards background_'s creation, for this app only
  mutable std::once_flag freeze_once_;
  std::vector<std::shared_ptr<const detail::scope>> owned_scopes_;  // blueprints' and views'
  std::vector<std::string> blueprint_names_;
  std::unique_ptr<metrics_registry> metrics_;              // null unless add_metrics_route
  std::vector<std::shared_ptr<void>> metrics_collectors_;  // the app's own, and the user's
};

}  // namespace vial
