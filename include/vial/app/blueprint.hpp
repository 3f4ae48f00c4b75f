#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vial/app/app.hpp"
#include "vial/app/scaffold.hpp"
#include "vial/detail/handler.hpp"
#include "vial/detail/scope.hpp"

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
/// Routes, hooks and error handlers are registered as on `app` (scaffold.hpp); a route's rule
/// and handler are checked against each other when the blueprint is registered on an app,
/// which throws `setup_error` as `app::route` does (a literal rule is checked at compile time).
/// Distinct objects: safe. Shared objects: unsafe.
class blueprint : public scaffold<blueprint> {
 public:
  /// Throws `setup_error` when `name` is empty or contains a dot.
  explicit blueprint(std::string name, std::string url_prefix = {});

  const std::string& name() const noexcept { return name_; }
  const std::string& url_prefix() const noexcept { return url_prefix_; }

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

  friend class scaffold<blueprint>;
  /// Records a route for `app::register_blueprint` (the scaffold's registration).
  void add_url_rule(std::string_view rule, std::vector<std::string> methods,
                    detail::route_handler handler, route_options options,
                    std::shared_ptr<const detail::scope> view_hooks);
  detail::scope& hooks_for(std::string_view) noexcept { return *scope_; }

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
