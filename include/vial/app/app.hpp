#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "vial/app/handler.hpp"
#include "vial/app/hooks.hpp"
#include "vial/app/scope.hpp"
#include "vial/app/to_response.hpp"
#include "vial/app/websocket.hpp"
#include "vial/async/background.hpp"
#include "vial/async/task.hpp"
#include "vial/async/to_thread.hpp"
#include "vial/detail/request_executor.hpp"
#include "vial/http/multi_dict.hpp"
#include "vial/http/proxy.hpp"
#include "vial/http/request.hpp"
#include "vial/http/response.hpp"
#include "vial/log.hpp"
#include "vial/routing/router.hpp"
#include "vial/server/options.hpp"

namespace vial {

class app;
class blueprint;
struct blueprint_options;
namespace detail {
struct view_routes;
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

/// Where a route with a coroutine handler runs, with its whole chain (hooks, error handlers,
/// view methods). A route with a plain handler always runs on a server worker.
enum class coroutine_mode {
  /// Through `async_to_sync` on the worker that dispatched the request, which it holds until
  /// the response is ready. For coroutines that call blocking code (without `to_thread`).
  bridge,
  /// On the server's event loop (the connection's strand): while the coroutine awaits it holds
  /// no thread, so thousands of requests can be in flight. Sync hooks and error handlers in
  /// the chain then run inline on an I/O thread, so they must be short; blocking work goes
  /// through `to_thread`. docs/async.md ("Bridge or event loop").
  event_loop,
};

/// Per-route settings, set with designated initializers: `{.endpoint = "user"}`.
struct route_options {
  /// The name `url_for` knows the route by. Default: the rule text ("/users/<int:id>").
  std::string endpoint{};
  /// Overrides the server's body limit for this route (uploads); 413 past it, answered through
  /// the app's error handlers.
  std::optional<std::size_t> max_body_bytes{};
  /// Overrides `app_options::max_json_bytes` for this route: `req.json()` answers 413 past it.
  std::optional<std::size_t> max_json_bytes{};
  /// Where a coroutine handler runs. Default: the blueprint's setting, else the app's.
  std::optional<coroutine_mode> coroutines{};
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
/// Configure on one thread, then serve: the first `dispatch` freezes the app, and registering
/// after that throws `setup_error`. Once frozen, `dispatch` is safe from any number of threads.
class app {
 public:
  explicit app(app_options options = {});
  ~app();
  app(const app&) = delete;
  app& operator=(const app&) = delete;

  /// Registers `handler` for `rule` and `methods`. The handler takes an optional leading
  /// `request&` (or `const request&`) and then one parameter per converter in the rule, in
  /// order: integers for `int`, floating point for `float`, `std::string`/`std::string_view`
  /// for `string`/`path`/`any`, `vial::uuid` for `uuid`. It returns anything `make_response`
  /// accepts, or `task<...>` of it. Throws `setup_error` naming the rule when the rule is
  /// malformed, conflicts with another, or does not fit the handler's parameters.
  template <class F>
  app& route(std::string_view rule, std::initializer_list<std::string_view> methods, F&& handler,
             route_options options = {});
  template <class F>
  app& get(std::string_view rule, F&& h, route_options o = {}) {
    return route(rule, {"GET"}, std::forward<F>(h), std::move(o));
  }
  template <class F>
  app& post(std::string_view rule, F&& h, route_options o = {}) {
    return route(rule, {"POST"}, std::forward<F>(h), std::move(o));
  }
  template <class F>
  app& put(std::string_view rule, F&& h, route_options o = {}) {
    return route(rule, {"PUT"}, std::forward<F>(h), std::move(o));
  }
  template <class F>
  app& patch(std::string_view rule, F&& h, route_options o = {}) {
    return route(rule, {"PATCH"}, std::forward<F>(h), std::move(o));
  }
  template <class F>
  app& delete_(std::string_view rule, F&& h, route_options o = {}) {
    return route(rule, {"DELETE"}, std::forward<F>(h), std::move(o));
  }

  /// Registers a WebSocket endpoint at `rule` (GET). The upgrade request goes through the
  /// whole pipeline first (before_request hooks may refuse it, after_request hooks may add
  /// headers such as Set-Cookie to the 101); then `handler`, a coroutine
  /// `task<void>(websocket&, Params...)` with one parameter per converter as for `route`, runs
  /// on the connection's event loop and holds no worker while it waits (docs/websockets.md).
  template <class F>
  app& websocket(std::string_view rule, F&& handler, websocket_options options = {}) {
    route_options route{.endpoint = options.endpoint};
    add_route(rule, {"GET"}, detail::make_websocket_handler(std::forward<F>(handler), std::move(options)),
              std::move(route));
    return *this;
  }

  /// Runs before every request, in registration order, even when no route matched. Takes
  /// `request&`; returning a non-empty `std::optional<X>` answers the request with X and skips
  /// the handler (after_request hooks still run).
  template <class F>
  app& before_request(F&& hook) {
    check_not_frozen("a before_request hook");
    scope_.before.push_back(detail::make_slot<detail::before_kind>(std::forward<F>(hook)));
    return *this;
  }
  /// Runs after every request that produced a response, in reverse registration order. Takes
  /// `(request&, response&)` or `(response&)`; returns void (the response, modified in place,
  /// goes on) or a new response value.
  template <class F>
  app& after_request(F&& hook) {
    check_not_frozen("an after_request hook");
    scope_.after.push_back(detail::make_slot<detail::after_kind>(std::forward<F>(hook)));
    return *this;
  }
  /// Always runs last, in reverse registration order, even when the request failed. Takes
  /// `(request&, std::exception_ptr)`: the exception that escaped every error handler, or null.
  /// What it throws is logged and ignored.
  template <class F>
  app& teardown_request(F&& hook) {
    check_not_frozen("a teardown_request hook");
    scope_.teardown.push_back(detail::make_slot<detail::teardown_kind>(std::forward<F>(hook)));
    return *this;
  }
  /// Handles responses with `status` (404, 405, 500, 504...), raised with `abort` or produced by
  /// routing. Takes `(request&, const http_error&)` or `(const http_error&)`.
  template <class F>
  app& errorhandler(int status, F&& handler) {
    check_not_frozen("an error handler");
    scope_.by_status[status] = detail::make_slot<detail::status_kind>(std::forward<F>(handler));
    return *this;
  }
  /// Handles exceptions of type `E` and types derived from it; the most derived registered
  /// type wins. Takes `(request&, const E&)` or `(const E&)`.
  template <class E, class F>
  app& errorhandler(F&& handler) {
    check_not_frozen("an error handler");
    scope_.add_type_handler(detail::make_type_error_handler<E>(
        detail::make_slot<detail::error_kind<E>>(std::forward<F>(handler))));
    return *this;
  }

  /// Registers a class-based view (Flask's MethodView) on `rule`: each of the members `get`,
  /// `post`, `put`, `patch` and `delete_` that `V` has becomes the handler for that method, and
  /// the others answer 405 with Allow. Optional members `before(request&)` and
  /// `after(request&, response&)` run around every method, like hooks scoped to this view.
  /// Defined in view.hpp. Throws `setup_error` like `route`.
  template <class V>
  app& add_view(std::string_view rule, std::shared_ptr<V> view, route_options options = {});
  /// The same view on several rules (one endpoint, the first rule builds URLs).
  template <class V>
  app& add_view(std::initializer_list<std::string_view> rules, std::shared_ptr<V> view,
                route_options options = {});
  /// Constructs `V` from `args` and registers it on `rule`.
  template <class V, class... Args>
    requires std::is_constructible_v<V, Args...>
  app& add_view(std::string_view rule, Args&&... args);

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

  /// Serves until SIGINT/SIGTERM (or a server stop), then shuts down gracefully: stops
  /// accepting, finishes in-flight requests, drains background work, runs shutdown hooks.
  /// Runs the startup hooks first. Defined by the server module (server/server.hpp).
  void run(const server_options& options = {});

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
  std::optional<detail::request_scope_options> event_loop_route(
      const request& req, const matched_route& route) const;
  /// `dispatch` as a coroutine, for a request `event_loop_route` accepted: the whole chain
  /// runs on the awaiting executor. `req` and `route` must outlive the task.
  task<response> dispatch_on_loop(request& req, const matched_route& route) const;

  /// Builds the URL of `endpoint` (see `router::url_for`). Throws `build_error`.
  std::string url_for(std::string_view endpoint, const multi_dict& params = {}) const;
  /// The URL of `endpoint` as the client of `req` sees it: under `req.script_root()`, and with
  /// `external` as an absolute URL on `req.scheme()` and `req.host()` (for links in emails,
  /// OAuth callbacks). Behind a proxy, set `app_options::proxy` so these are the public ones.
  std::string url_for(const request& req, std::string_view endpoint,
                      const multi_dict& params = {}, bool external = false) const;

  /// The per-route body limit for a request line, if the matched route sets one (a server that
  /// dispatches the request afterwards uses `match(req).body_limit()`, which routes it once).
  std::optional<std::size_t> body_limit(std::string_view method, std::string_view path) const;

  const app_options& options() const noexcept { return options_; }
  const vial::logger& logger() const noexcept { return logger_; }
  void set_logger(vial::logger l) { logger_ = std::move(l); }
  blocking_pool& blocking() const;
  bool is_frozen() const noexcept { return frozen_.load(std::memory_order_acquire); }

 private:
  struct route_entry {
    detail::route_handler handler;
    std::string label;  // "GET /users/<int:id>", for logs
    std::vector<const detail::scope*> scopes;
    std::optional<std::size_t> max_body_bytes;
    std::size_t max_json_bytes = request::default_max_json_bytes;
    bool chain_async = false;  // a hook or error handler in its scopes is a coroutine
    bool event_loop = false;   // a coroutine handler set to run on the event loop
    bridge_options bridge{};   // the route's bridge runs: its label, the app's logger and pool
  };

  std::size_t add_route(std::string_view rule, std::initializer_list<std::string_view> methods,
                        detail::route_handler handler, route_options options);
  /// Adds a route whose hooks and error handlers are `inner` (innermost first), then the app's.
  std::size_t add_scoped_route(std::string_view rule, const std::vector<std::string>& methods,
                               detail::route_handler handler, route_options options,
                               std::vector<std::shared_ptr<const detail::scope>> inner);
  void add_view_routes(std::string_view rule, const detail::view_routes& view,
                       route_options options);
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
  /// and `route` (from this app's `match`) must outlive the task.
  task<response> dispatch_async(request& req, const matched_route& route) const;
  /// The client behind trusted proxies and the request id, set by `match`.
  void prepare_context(request& req) const;
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
};

template <class F>
app& app::route(std::string_view rule, std::initializer_list<std::string_view> methods,
                F&& handler, route_options options) {
  add_route(rule, methods, detail::make_route_handler(std::forward<F>(handler)), std::move(options));
  return *this;
}

}  // namespace vial
