#include "vial/app/blueprint.hpp"

#include <algorithm>
#include <string>

#include "vial/routing/error.hpp"

namespace vial {

blueprint::blueprint(std::string name, std::string url_prefix)
    : name_(std::move(name)), url_prefix_(std::move(url_prefix)) {
  if (name_.empty() || name_.find('.') != std::string::npos) {
    throw setup_error("blueprint name '" + name_ +
                      "' must be non-empty and contain no '.' (dots separate nested names)");
  }
}

void blueprint::add_url_rule(std::string_view rule, std::vector<std::string> methods,
                             detail::route_handler handler, route_options options,
                             std::shared_ptr<const detail::scope> view_hooks) {
  routes_.push_back(route_record{std::string(rule), std::move(methods), std::move(handler),
                                 std::move(options), std::move(view_hooks)});
}

blueprint& blueprint::register_blueprint(const blueprint& child_bp,
                                         const blueprint_options& options) {
  if (&child_bp == this) {
    throw setup_error("blueprint '" + name_ + "' cannot be registered on itself");
  }
  children_.push_back(child{std::make_shared<const blueprint>(child_bp), options});
  return *this;
}

std::string join_rule(std::string_view prefix, std::string_view rule) {
  if (prefix.empty()) return std::string(rule);
  if (rule.empty()) return std::string(prefix);
  while (!prefix.empty() && prefix.back() == '/') prefix.remove_suffix(1);
  while (!rule.empty() && rule.front() == '/') rule.remove_prefix(1);
  return std::string(prefix) + "/" + std::string(rule);
}

app& app::register_blueprint(const blueprint& bp) { return register_blueprint(bp, {}); }

app& app::register_blueprint(const blueprint& bp, const blueprint_options& options) {
  check_not_frozen("blueprint '" + bp.name() + "'");
  const std::string name = options.name.empty() ? bp.name() : options.name;
  if (name.find('.') != std::string::npos) {
    throw setup_error("blueprint name '" + name + "' must contain no '.'");
  }
  const std::string prefix = options.url_prefix.empty() ? bp.url_prefix() : options.url_prefix;
  register_blueprint_at(bp, name, prefix, {}, options.coroutines);
  return *this;
}

void app::register_blueprint_at(const blueprint& bp, const std::string& name,
                                const std::string& prefix,
                                std::vector<std::shared_ptr<const detail::scope>> outer,
                                std::optional<coroutine_mode> coroutines) {
  if (std::find(blueprint_names_.begin(), blueprint_names_.end(), name) != blueprint_names_.end()) {
    throw setup_error("a blueprint named '" + name +
                      "' is already registered; register it again with a distinct "
                      "blueprint_options::name");
  }
  blueprint_names_.push_back(name);
  std::vector<std::shared_ptr<const detail::scope>> chain;
  chain.push_back(std::make_shared<const detail::scope>(*bp.scope_));
  chain.insert(chain.end(), outer.begin(), outer.end());
  for (const auto& r : bp.routes_) {
    std::vector<std::shared_ptr<const detail::scope>> inner;
    if (r.view_hooks) inner.push_back(r.view_hooks);
    inner.insert(inner.end(), chain.begin(), chain.end());
    route_options o = r.options;
    o.endpoint = name + "." + (r.options.endpoint.empty() ? r.rule : r.options.endpoint);
    if (!o.coroutines) o.coroutines = coroutines;
    add_route(join_rule(prefix, r.rule), r.methods, r.handler, std::move(o), std::move(inner));
  }
  for (const auto& c : bp.children_) {
    const std::string child_name =
        name + "." + (c.options.name.empty() ? c.bp->name() : c.options.name);
    const std::string child_prefix =
        join_rule(prefix, c.options.url_prefix.empty() ? c.bp->url_prefix() : c.options.url_prefix);
    register_blueprint_at(*c.bp, child_name, child_prefix, chain,
                          c.options.coroutines ? c.options.coroutines : coroutines);
  }
}

}  // namespace vial
