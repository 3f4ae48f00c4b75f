#pragma once

#include <cstddef>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "vial/app/rule_for.hpp"
#include "vial/app/websocket.hpp"
#include "vial/detail/handler.hpp"
#include "vial/detail/hooks.hpp"
#include "vial/detail/scope.hpp"
#include "vial/detail/view_routes.hpp"

namespace vial {

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

/// The registration surface `app` and `blueprint` share (Flask's `Scaffold`): routes, WebSocket
/// endpoints, class-based views, hooks and error handlers. Each method is written once, here,
/// so the two cannot drift; `Derived` decides what registering means (the app adds the route
/// at once, a blueprint records it for `app::register_blueprint`).
///
/// `Derived` gives this class, and only it, two members:
/// `add_url_rule(rule, methods, handler, options, view_hooks)` and `hooks_for(what)`, the scope
/// hooks and error handlers go to (the app refuses once frozen).
/// Thread-safety: that of `Derived`; register on one thread.
template <class Derived>
class scaffold {
 public:
  /// Registers `handler` for `rule` and `methods`. The handler takes an optional leading
  /// `request&` (or `const request&`) and then one parameter per converter in the rule, in
  /// order: integers for `int`, floating point for `float`, `std::string`/`std::string_view`
  /// for `string`/`path`/`any`, `vial::uuid` for `uuid`. It returns anything `make_response`
  /// accepts, or `task<...>` of it.
  ///
  /// A literal rule is checked at compile time: a malformed one, or one whose converters do not
  /// fit the handler's parameters, does not compile (`rule_for`). A `runtime_rule` is checked
  /// here. Throws `setup_error` naming the rule when it is malformed, conflicts with another,
  /// or does not fit the handler (for a blueprint: when it is registered on an app).
  template <class F>
  Derived& route(rule_for<F> rule, std::initializer_list<std::string_view> methods, F&& handler,
                 route_options options = {}) {
    return add(rule.pattern(), std::vector<std::string>(methods.begin(), methods.end()),
               detail::make_route_handler(std::forward<F>(handler)), std::move(options), nullptr);
  }
  template <class F>
  Derived& get(rule_for<F> rule, F&& h, route_options o = {}) {
    return route<F>(rule, {"GET"}, std::forward<F>(h), std::move(o));
  }
  template <class F>
  Derived& post(rule_for<F> rule, F&& h, route_options o = {}) {
    return route<F>(rule, {"POST"}, std::forward<F>(h), std::move(o));
  }
  template <class F>
  Derived& put(rule_for<F> rule, F&& h, route_options o = {}) {
    return route<F>(rule, {"PUT"}, std::forward<F>(h), std::move(o));
  }
  template <class F>
  Derived& patch(rule_for<F> rule, F&& h, route_options o = {}) {
    return route<F>(rule, {"PATCH"}, std::forward<F>(h), std::move(o));
  }
  template <class F>
  Derived& delete_(rule_for<F> rule, F&& h, route_options o = {}) {
    return route<F>(rule, {"DELETE"}, std::forward<F>(h), std::move(o));
  }

  /// Registers a WebSocket endpoint at `rule` (GET). The upgrade request goes through the
  /// whole pipeline first (before_request hooks may refuse it, after_request hooks may add
  /// headers such as Set-Cookie to the 101); then `handler`, a coroutine
  /// `task<void>(websocket&, Params...)` with one parameter per converter as for `route`, runs
  /// on the connection's event loop and holds no worker while it waits (docs/websockets.md).
  /// The rule is checked when registered.
  template <class F>
  Derived& websocket(std::string_view rule, F&& handler, websocket_options options = {}) {
    route_options route{.endpoint = options.endpoint};
    return add(rule, {"GET"},
               detail::make_websocket_handler(std::forward<F>(handler), std::move(options)),
               std::move(route), nullptr);
  }

  /// Registers a class-based view (Flask's MethodView) on `rule`: each of the members `get`,
  /// `post`, `put`, `patch` and `delete_` that `V` has becomes the handler for that method, and
  /// the others answer 405 with Allow. Optional members `before(request&)` and
  /// `after(request&, response&)` run around every method, like hooks scoped to this view
  /// (view.hpp). The rule is checked when registered, which throws `setup_error` like `route`.
  template <class V>
  Derived& add_view(std::string_view rule, std::shared_ptr<V> view, route_options options = {}) {
    return add_view_routes(rule, detail::make_view_routes(std::move(view)), std::move(options));
  }
  /// The same view on several rules (one endpoint, the first rule builds URLs).
  template <class V>
  Derived& add_view(std::initializer_list<std::string_view> rules, std::shared_ptr<V> view,
                    route_options options = {}) {
    const auto routes = detail::make_view_routes(std::move(view));
    if (options.endpoint.empty() && rules.size() != 0) options.endpoint = *rules.begin();
    for (auto rule : rules) add_view_routes(rule, routes, options);
    return self();
  }
  /// Constructs `V` from `args` and registers it on `rule`.
  template <class V, class... Args>
    requires std::is_constructible_v<V, Args...>
  Derived& add_view(std::string_view rule, Args&&... args) {
    return add_view(rule, std::make_shared<V>(std::forward<Args>(args)...));
  }

  /// Runs before every request (of a blueprint: before each of its routes), in registration
  /// order, even when no route matched. Takes `request&`; returning a non-empty
  /// `std::optional<X>` answers the request with X and skips the handler (after_request hooks
  /// still run).
  template <class F>
  Derived& before_request(F&& hook) {
    self()
        .hooks_for("a before_request hook")
        .before.push_back(detail::make_slot<detail::before_kind>(std::forward<F>(hook)));
    return self();
  }
  /// Runs after every request that produced a response, in reverse registration order. Takes
  /// `(request&, response&)` or `(response&)`; returns void (the response, modified in place,
  /// goes on) or a new response value.
  template <class F>
  Derived& after_request(F&& hook) {
    self()
        .hooks_for("an after_request hook")
        .after.push_back(detail::make_slot<detail::after_kind>(std::forward<F>(hook)));
    return self();
  }
  /// Always runs last, in reverse registration order, even when the request failed. Takes
  /// `(request&, std::exception_ptr)`: the exception that escaped every error handler, or null.
  /// What it throws is logged and ignored.
  template <class F>
  Derived& teardown_request(F&& hook) {
    self()
        .hooks_for("a teardown_request hook")
        .teardown.push_back(detail::make_slot<detail::teardown_kind>(std::forward<F>(hook)));
    return self();
  }
  /// Handles responses with `status` (404, 405, 500, 504...), raised with `abort` or produced by
  /// routing. Takes `(request&, const http_error&)` or `(const http_error&)`.
  template <class F>
  Derived& errorhandler(int status, F&& handler) {
    auto slot = detail::make_slot<detail::status_kind>(std::forward<F>(handler));
    self().hooks_for("an error handler").by_status[status] = std::move(slot);
    return self();
  }
  /// Handles exceptions of type `E` and types derived from it; the most derived registered
  /// type wins. Takes `(request&, const E&)` or `(const E&)`.
  template <class E, class F>
  Derived& errorhandler(F&& handler) {
    auto slot = detail::make_slot<detail::error_kind<E>>(std::forward<F>(handler));
    self()
        .hooks_for("an error handler")
        .add_type_handler(detail::make_type_error_handler<E>(std::move(slot)));
    return self();
  }

 protected:
  scaffold() = default;
  ~scaffold() = default;
  scaffold(const scaffold&) = default;
  scaffold& operator=(const scaffold&) = default;

 private:
  Derived& self() noexcept { return static_cast<Derived&>(*this); }
  Derived& add(std::string_view rule, std::vector<std::string> methods,
               detail::route_handler handler, route_options options,
               std::shared_ptr<const detail::scope> view_hooks) {
    self().add_url_rule(rule, std::move(methods), std::move(handler), std::move(options),
                        std::move(view_hooks));
    return self();
  }
  Derived& add_view_routes(std::string_view rule, const detail::view_routes& view,
                           route_options options) {
    return add(rule, detail::view_method_names(view), detail::combine_view_methods(view, rule),
               std::move(options), view.hooks);
  }
};

}  // namespace vial
