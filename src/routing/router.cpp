#include "vial/routing/router.hpp"

#include <algorithm>
#include <atomic>
#include <functional>
#include <unordered_map>
#include <utility>

#include "match_count.hpp"
#include "matcher.hpp"
#include "path_encoding.hpp"
#include "vial/http/url.hpp"

namespace vial {

namespace {

#ifndef NDEBUG
std::atomic<std::uint64_t> match_count{0};
#endif

bool is_method_char(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

std::vector<std::string> checked_methods(const rule& r, const std::vector<std::string>& methods) {
  if (methods.empty()) throw setup_error("rule '" + r.pattern() + "' has no methods");
  std::vector<std::string> out;
  for (const auto& m : methods) {
    if (m.empty() || !std::all_of(m.begin(), m.end(), is_method_char)) {
      throw setup_error("rule '" + r.pattern() + "' has method '" + m +
                        "'; methods are upper-case tokens such as GET");
    }
    if (std::find(out.begin(), out.end(), m) == out.end()) out.push_back(m);
  }
  return out;
}

}  // namespace

struct router::impl {
  struct route {
    rule pattern;
    std::vector<std::string> methods;
    std::string endpoint;
  };

  std::vector<route> routes;
  std::unordered_map<std::string, std::size_t, detail::string_hash, std::equal_to<>> endpoints;
  detail::route_tree tree;
};

router::router() : impl_(std::make_unique<impl>()) {}
router::~router() = default;
router::router(router&&) noexcept = default;
router& router::operator=(router&&) noexcept = default;

std::size_t router::add(std::string_view pattern, const std::vector<std::string>& methods,
                        std::string endpoint) {
  rule parsed = rule::parse(pattern);
  std::vector<std::string> unique_methods = checked_methods(parsed, methods);
  for (const auto& existing : impl_->tree.find(parsed)) {
    for (const auto& m : unique_methods) {
      if (std::find(existing.methods.begin(), existing.methods.end(), m) !=
          existing.methods.end()) {
        throw setup_error("rule '" + parsed.pattern() + "' conflicts with '" +
                          impl_->routes[existing.route].pattern.pattern() + "' for method " + m);
      }
    }
  }
  std::size_t id = impl_->routes.size();
  impl_->routes.push_back({std::move(parsed), unique_methods, endpoint});
  try {
    impl_->tree.insert(impl_->routes.back().pattern, {id, std::move(unique_methods)});
    impl_->endpoints.try_emplace(std::move(endpoint), id);
  } catch (...) {
    impl_->routes.pop_back();
    throw;
  }
  return id;
}

route_match router::match(std::string_view method, std::string_view path) const {
#ifndef NDEBUG
  match_count.fetch_add(1, std::memory_order_relaxed);
#endif
  route_match out;
  detail::tree_match found = impl_->tree.match(method, path);
  using tree_outcome = detail::tree_match::outcome;
  if (found.result != tree_outcome::found && !path.empty() && path.back() != '/') {
    // Flask's strict slashes: "/docs" for a rule "/docs/" redirects, when that rule takes the
    // method (a redirect to a 405 would help nobody).
    std::string slashed;
    slashed.reserve(path.size() + 1);
    slashed.append(path);
    slashed.push_back('/');
    if (impl_->tree.match(method, slashed).result == tree_outcome::found) {
      out.result = route_match::outcome::redirect;
      out.location = detail::encode_path(slashed);
      return out;
    }
  }
  switch (found.result) {
    case tree_outcome::not_found:
      return out;
    case tree_outcome::method_not_allowed:
      out.result = route_match::outcome::method_not_allowed;
      out.allowed = std::move(found.allowed);
      return out;
    case tree_outcome::found:
      break;
  }
  out.result = route_match::outcome::found;
  out.route = found.route;
  out.allowed = std::move(found.allowed);
  const rule& r = impl_->routes[found.route].pattern;
  out.params.reserve(found.captures.size());
  std::size_t i = 0;
  for (const auto& seg : r.segments()) {
    if (!seg.is_param) continue;
    // The walk only reaches a terminal through converters that accepted these captures.
    auto value = seg.conv.convert(found.captures[i++]);
    out.params.push_back({seg.text, std::move(*value)});
  }
  return out;
}

std::string router::url_for(std::string_view endpoint, const multi_dict& params) const {
  auto it = impl_->endpoints.find(endpoint);
  if (it == impl_->endpoints.end()) {
    throw build_error("unknown endpoint '" + std::string(endpoint) + "'");
  }
  const rule& r = impl_->routes[it->second].pattern;
  std::string url;
  for (const auto& seg : r.segments()) {
    url.push_back('/');
    if (!seg.is_param) {
      url += detail::encode_path_segment(seg.text);
      continue;
    }
    auto value = params.get(seg.text);
    if (!value) {
      throw build_error("missing parameter '" + seg.text + "' for rule '" + r.pattern() +
                        "' (endpoint '" + std::string(endpoint) + "')");
    }
    auto piece = seg.conv.to_url(*value);
    if (!piece) {
      throw build_error("value '" + std::string(*value) + "' is not valid for converter " +
                        std::string(seg.conv.name()) + " (parameter '" + seg.text + "' of rule '" +
                        r.pattern() + "')");
    }
    url += *piece;
  }
  multi_dict query;
  // Not a structured binding: clang before 16 cannot capture one in a lambda.
  for (const auto& item : params) {
    bool in_rule = std::any_of(r.segments().begin(), r.segments().end(), [&](const auto& seg) {
      return seg.is_param && seg.text == item.first;
    });
    if (!in_rule) query.add(item.first, item.second);
  }
  if (!query.empty()) {
    url.push_back('?');
    url += encode_query(query);
  }
  return url;
}

const rule& router::rule_of(std::size_t id) const { return impl_->routes.at(id).pattern; }

std::size_t router::size() const noexcept { return impl_->routes.size(); }

std::uint64_t detail::router_match_count() noexcept {
#ifndef NDEBUG
  return match_count.load(std::memory_order_relaxed);
#else
  return 0;
#endif
}

}  // namespace vial
