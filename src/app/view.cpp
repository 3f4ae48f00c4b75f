#include <memory>
#include <string>

#include "vial/detail/view_routes.hpp"
#include "vial/http/error.hpp"
#include "vial/routing/error.hpp"

namespace vial {

namespace detail {

namespace {

using method_table = std::vector<std::pair<std::string, route_handler>>;

const route_handler* find_method(const method_table& t, std::string_view method) {
  // HEAD is served by GET, as the router does for plain routes.
  if (method == "HEAD") method = "GET";
  for (const auto& [name, h] : t) {
    if (name == method) return &h;
  }
  return nullptr;
}

[[noreturn]] void throw_not_allowed(const method_table& t) {
  std::string allow;
  for (const auto& [name, h] : t) allow.append(allow.empty() ? "" : ", ").append(name);
  throw http_error(405, "The method is not allowed for the requested URL.",
                   vial::headers{{"Allow", allow}});
}

task<response> run_view_async(std::shared_ptr<const method_table> t, request& req) {
  const route_handler* h = find_method(*t, req.method_name());
  if (!h) throw_not_allowed(*t);
  if (h->is_async()) {
    auto op = h->async(req);
    co_return co_await std::move(op);
  }
  co_return h->sync(req);
}

}  // namespace

std::vector<std::string> view_method_names(const view_routes& v) {
  std::vector<std::string> names;
  for (const auto& [name, h] : v.methods) names.push_back(name);
  return names;
}

route_handler combine_view_methods(const view_routes& v, std::string_view rule) {
  if (v.methods.empty()) {
    throw setup_error("view " + v.name + " on rule '" + std::string(rule) + "' has no methods");
  }
  route_handler combined;
  combined.params = v.methods.front().second.params;
  bool any_async = false;
  for (const auto& [name, h] : v.methods) {
    if (h.params != combined.params) {
      throw setup_error("view " + v.name + " on rule '" + std::string(rule) + "': method " + name +
                        " takes different parameters than " + v.methods.front().first +
                        "; every method of a view binds the same rule");
    }
    any_async = any_async || h.is_async();
  }
  auto table = std::make_shared<const method_table>(v.methods);
  if (any_async) {
    combined.async = [table](request& req) { return run_view_async(table, req); };
  } else {
    combined.sync = [table](request& req) {
      const route_handler* h = find_method(*table, req.method_name());
      if (!h) throw_not_allowed(*table);
      return h->sync(req);
    };
  }
  return combined;
}

}  // namespace detail

}  // namespace vial
