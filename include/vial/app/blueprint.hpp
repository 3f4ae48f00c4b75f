#pragma once

#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vial/app/app.hpp"
#include "vial/app/handler.hpp"
#include "vial/app/hooks.hpp"
#include "vial/app/scope.hpp"
#include "vial/app/view.hpp"

namespace vial {

/// How a blueprint is mounted: overrides its own name and URL prefix when non-empty.
struct blueprint_options {
  /// Prepended to every rule of the blueprint ("/api" + "/users" = "/api/users").
  std::string url_prefix{};
  /// The endpoint prefix: routes are known to `url_for` as "name.endpoint". Registering the
  /// same blueprint twice needs a distinct name the second time.
  std::string name{};
  /// Where the blueprint's coroutine handlers run, unless a route says otherwise. Default: the
  /// enclosing blueprint's setting, else the app's.
  std::optional<coroutine_mode> coroutines{};
};

/// A group of routes with its own URL prefix, hooks and error handlers (Flask's Blueprint).
/// Its hooks and error handlers apply only to its own routes (and those of blueprints nested
/// in it); the app's still apply around them. Nothing is served until the blueprint is passed
/// to `app::register_blueprint`, which copies what it needs: the blueprint may then be changed
/// or destroyed without affecting the app.
///
/// A route's endpoint is "name.endpoint", where endpoint is `route_options::endpoint` or, by
/// default, the rule as written in the blueprint ("admin./users"). Nested blueprints chain
/// names ("api.v1.users") and prefixes.
/// Distinct objects: safe. Shared objects: unsafe.
class blueprint {
 public:
  /// Throws `setup_error` when `name` is empty or contains a dot.
  explicit blueprint(std::string name, std::string url_prefix = {});

  const std::string& name() const noexcept { return name_; }
  const std::string& url_prefix() const noexcept { return url_prefix_; }

  /// Records a route, as `app::route`. The rule (with the prefix) and the handler are checked
  /// when the blueprint is registered on an app, which throws `setup_error` as `app::route`.
  template <class F>
  blueprint& route(std::string_view rule, std::initializer_list<std::string_view> methods,
                   F&& handler, route_options options = {}) {
    record(rule, std::vector<std::string>(methods.begin(), methods.end()),
           detail::make_route_handler(std::forward<F>(handler)), std::move(options), nullptr);
    return *this;
  }
  template <class F>
  blueprint& get(std::string_view rule, F&& h, route_options o = {}) {
    return route(rule, {"GET"}, std::forward<F>(h), std::move(o));
  }
  template <class F>
  blueprint& post(std::string_view rule, F&& h, route_options o = {}) {
    return route(rule, {"POST"}, std::forward<F>(h), std::move(o));
  }
  template <class F>
  blueprint& put(std::string_view rule, F&& h, route_options o = {}) {
    return route(rule, {"PUT"}, std::forward<F>(h), std::move(o));
  }
  template <class F>
  blueprint& patch(std::string_view rule, F&& h, route_options o = {}) {
    return route(rule, {"PATCH"}, std::forward<F>(h), std::move(o));
  }
  template <class F>
  blueprint& delete_(std::string_view rule, F&& h, route_options o = {}) {
    return route(rule, {"DELETE"}, std::forward<F>(h), std::move(o));
  }

  /// A WebSocket endpoint under this blueprint's prefix, its hooks run on the upgrade (see
  /// `app::websocket`).
  template <class F>
  blueprint& websocket(std::string_view rule, F&& handler, websocket_options options = {}) {
    route_options route{.endpoint = options.endpoint};
    record(rule, {"GET"}, detail::make_websocket_handler(std::forward<F>(handler), std::move(options)),
           std::move(route), nullptr);
    return *this;
  }

  /// A class-based view (see `app::add_view`) under this blueprint.
  template <class V>
  blueprint& add_view(std::string_view rule, std::shared_ptr<V> view, route_options options = {}) {
    auto routes = detail::make_view_routes(std::move(view));
    record(rule, detail::view_method_names(routes), detail::combine_view_methods(routes, rule),
           std::move(options), routes.hooks);
    return *this;
  }

  /// Hooks and error handlers as on `app`, for this blueprint's routes only.
  template <class F>
  blueprint& before_request(F&& hook) {
    scope_->before.push_back(detail::make_slot<detail::before_kind>(std::forward<F>(hook)));
    return *this;
  }
  template <class F>
  blueprint& after_request(F&& hook) {
    scope_->after.push_back(detail::make_slot<detail::after_kind>(std::forward<F>(hook)));
    return *this;
  }
  template <class F>
  blueprint& teardown_request(F&& hook) {
    scope_->teardown.push_back(detail::make_slot<detail::teardown_kind>(std::forward<F>(hook)));
    return *this;
  }
  template <class F>
  blueprint& errorhandler(int status, F&& handler) {
    scope_->by_status[status] = detail::make_slot<detail::status_kind>(std::forward<F>(handler));
    return *this;
  }
  template <class E, class F>
  blueprint& errorhandler(F&& handler) {
    scope_->add_type_handler(detail::make_type_error_handler<E>(
        detail::make_slot<detail::error_kind<E>>(std::forward<F>(handler))));
    return *this;
  }

  /// Nests `child` (copied now) under this blueprint: its prefix follows this one's and its
  /// endpoints are "this.child.endpoint".
  blueprint& register_blueprint(const blueprint& child, const blueprint_options& options = {});

 private:
  friend class app;
  struct route_record {
    std::string rule;
    std::vector<std::string> methods;
    detail::route_handler handler;
    route_options options;
    std::shared_ptr<const detail::scope> view_hooks;  // a view's before/after, or null
  };
  struct child {
    std::shared_ptr<const blueprint> bp;
    blueprint_options options;
  };

  void record(std::string_view rule, std::vector<std::string> methods,
              detail::route_handler handler, route_options options,
              std::shared_ptr<const detail::scope> view_hooks);

  std::string name_;
  std::string url_prefix_;
  // Copied at each registration, so later changes never reach an app already registered with.
  std::shared_ptr<detail::scope> scope_ = std::make_shared<detail::scope>();
  std::vector<route_record> routes_;
  std::vector<child> children_;
};

/// Joins a URL prefix and a rule as Flask does: "/bp" + "/" is "/bp/", "/bp/" + "/x" is "/bp/x".
std::string join_rule(std::string_view prefix, std::string_view rule);

}  // namespace vial
