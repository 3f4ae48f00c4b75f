#include "vial/app/app.hpp"

#include <exception>
#include <string>

#include "vial/app/metrics.hpp"
#include "vial/async/bridge.hpp"
#include "vial/routing/error.hpp"

namespace vial {

app::app(app_options options) : options_(std::move(options)) {}

app::~app() {
  if (background_) background_->drain(std::chrono::milliseconds(0));
}

void app::check_not_frozen(std::string_view what) const {
  if (is_frozen()) {
    throw setup_error("cannot register " + std::string(what) +
                      " after the app started serving; register everything before the first "
                      "request");
  }
}

void app::add_url_rule(std::string_view rule, std::vector<std::string> methods,
                       detail::route_handler handler, route_options options,
                       std::shared_ptr<const detail::scope> view_hooks) {
  std::vector<std::shared_ptr<const detail::scope>> inner;
  if (view_hooks) inner.push_back(std::move(view_hooks));
  add_route(rule, methods, std::move(handler), std::move(options), std::move(inner));
}

detail::scope& app::hooks_for(std::string_view what) {
  check_not_frozen(what);
  return scope_;
}

void app::add_route(std::string_view rule_text, const std::vector<std::string>& methods,
                    detail::route_handler handler, route_options options,
                    std::vector<std::shared_ptr<const detail::scope>> inner) {
  if (methods.empty()) {
    throw setup_error("rule '" + std::string(rule_text) + "' is registered with no methods");
  }
  check_not_frozen("rule '" + std::string(rule_text) + "'");
  // Check the handler against the rule before touching the router, so a rejected route leaves
  // no trace.
  detail::check_params_fit(rule::parse(rule_text), handler.params);
  std::string endpoint = options.endpoint.empty() ? std::string(rule_text) : options.endpoint;
  router_.add(rule_text, methods, endpoint);
  std::string label;
  for (const auto& m : methods) label.append(label.empty() ? "" : ",").append(m);
  label.append(" ").append(rule_text);
  std::vector<const detail::scope*> scopes;
  for (auto& s : inner) {
    scopes.push_back(s.get());
    // The app keeps each scope alive once, whoever else shares it.
    bool owned = false;
    for (const auto& o : owned_scopes_) owned = owned || o == s;
    if (!owned) owned_scopes_.push_back(std::move(s));
  }
  scopes.push_back(&scope_);
  const bool event_loop = handler.is_async() && options.coroutines.value_or(options_.coroutines) ==
                                                    coroutine_mode::event_loop;
  routes_.push_back(route_entry{std::move(handler), std::move(label), std::move(endpoint),
                                std::move(scopes), options.max_body_bytes,
                                options.max_json_bytes.value_or(options_.max_json_bytes), false,
                                event_loop});
}

void app::freeze() const {
  std::call_once(freeze_once_, [this] {
    auto& self = const_cast<app&>(*this);
    blocking_ =
        std::make_unique<blocking_pool>(options_.blocking_threads, options_.max_queued_blocking);
    for (auto& r : self.routes_) {
      // Only hooks and error handlers make the chain a coroutine: a coroutine handler inside
      // a plain chain is bridged on its own, which is the same single run and much cheaper.
      r.chain_async = false;
      for (const auto* s : r.scopes) r.chain_async = r.chain_async || s->has_async();
      r.bridge = bridge_options_for(r.label);
      any_event_loop_ = any_event_loop_ || r.event_loop;
    }
    miss_chain_async_ = scope_.has_async();
    if (metrics_) {
      // Series are per rule ("/users/<int:id>"), the text after the label's methods.
      std::vector<std::string_view> rules;
      for (const auto& r : routes_) {
        const std::string_view label = r.label;
        rules.push_back(label.substr(label.find(' ') + 1));
      }
      metrics_->bind_routes(rules);
    }
    frozen_.store(true, std::memory_order_release);
  });
}

bridge_options app::bridge_options_for(std::string_view label) const {
  return {.label = label, .log = &logger_, .pool = blocking_.get()};
}

blocking_pool& app::blocking() const {
  freeze();
  return *blocking_;
}

void app::startup() {
  freeze();
  draining_.store(false, std::memory_order_release);
  const bridge_options bo = bridge_options_for("startup");
  for (const auto& hook : startup_) {
    if (hook.is_async()) {
      async_to_sync(hook.async(), bo);
    } else {
      hook.sync();
    }
  }
}

std::size_t app::shutdown(std::chrono::milliseconds background_deadline) {
  std::size_t abandoned = 0;
  if (background_) abandoned = background_->drain(background_deadline);
  const bridge_options bo = bridge_options_for("shutdown");
  for (const auto& hook : shutdown_) {
    try {
      if (hook.is_async()) {
        async_to_sync(hook.async(), bo);
      } else {
        hook.sync();
      }
    } catch (const std::exception& e) {
      logger_.error(std::string("shutdown hook failed: ") + e.what());
    }
  }
  return abandoned;
}

vial::background_executor& app::background_executor() {
  std::lock_guard lock(background_creation_);
  if (!background_) {
    background_ =
        std::make_unique<vial::background_executor>(options_.background_threads, &logger_);
  }
  return *background_;
}

background_handle app::background(task<void> work, std::string name) {
  return background_executor().spawn(std::move(work), std::move(name));
}

background_handle app::background(std::function<void()> work, std::string name) {
  return background_executor().submit(std::move(work), std::move(name));
}

std::string app::url_for(std::string_view endpoint, const multi_dict& params) const {
  return router_.url_for(endpoint, params);
}

std::string app::url_for(const request& req, std::string_view endpoint, const multi_dict& params,
                         bool external) const {
  std::string path = router_.url_for(endpoint, params);
  std::string url;
  if (external) url.append(req.scheme()).append("://").append(req.host());
  url.append(req.script_root()).append(path);
  return url;
}

std::optional<detail::request_scope_options> app::event_loop_route(
    const request& req, const matched_route& route) const {
  if (!any_event_loop_ || route.app_ != this || route.entry_ == matched_route::none ||
      route.match_.result != route_match::outcome::found) {
    return std::nullopt;  // the common case: no event-loop route in the app
  }
  const route_entry& r = routes_[route.entry_];
  if (!r.event_loop) return std::nullopt;
  return detail::request_scope_options{.label = r.label,
                                       .log = &logger_,
                                       .pool = blocking_.get(),
                                       .slow_step = options_.slow_step_warning,
                                       .request_id = req.id()};
}

std::optional<std::size_t> app::body_limit(std::string_view method, std::string_view path) const {
  auto m = router_.match(method, path);
  if (m.result != route_match::outcome::found) return std::nullopt;
  return routes_[m.route].max_body_bytes;
}

}  // namespace vial
