#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "vial/http/multi_dict.hpp"
#include "vial/http/path_params.hpp"
#include "vial/routing/error.hpp"
#include "vial/routing/rule.hpp"

namespace vial {

/// What `router::match` found. A miss is a value, not an exception.
struct route_match {
  enum class outcome { found, not_found, method_not_allowed, redirect };

  outcome result = outcome::not_found;
  std::size_t route = 0;  ///< the id `router::add` returned (found)
  path_params params;     ///< converted values, in rule order (found)
  /// Methods the path answers to, "GET, HEAD, OPTIONS" form (method_not_allowed only, as
  /// Werkzeug's MethodNotAllowed: a match that is found stops at the first route that takes
  /// the method, without visiting the other rules the path fits).
  std::string allowed;
  /// Where to send the client (redirect: 308 to the rule with the trailing slash), encoded.
  std::string location;
};

/// Maps (method, path) to routes, Werkzeug-style: static segments beat converters whatever
/// the registration order, then more specific converters beat `string`, which beats `path`.
/// GET routes also answer HEAD. Matching cost grows with the path's depth, not the number of
/// rules. Configure on one thread; after that `match` and `url_for` are safe from any thread.
/// A moved-from router may only be assigned to or destroyed.
class router {
 public:
  router();
  ~router();
  router(router&&) noexcept;
  router& operator=(router&&) noexcept;

  /// Adds a route for `methods` (upper-case tokens) and returns its id (0, 1, 2...).
  /// `endpoint` names the route for `url_for`; endpoints may be shared by several rules (the
  /// first one added builds URLs). Throws `setup_error` naming the rule on a bad pattern, a
  /// method that is not an upper-case token, no methods, or when a rule of the same shape
  /// (same literals, same converters in the same places, whatever the parameter names) already
  /// has one of these methods. A failed `add` leaves the router unchanged.
  std::size_t add(std::string_view pattern, const std::vector<std::string>& methods,
                  std::string endpoint);

  /// Matches a percent-decoded path. `/docs` with only `/docs/` registered redirects (when
  /// that rule takes the method; `location` is the encoded path, without the query string,
  /// which the caller appends); `/docs/` with only `/docs` registered is not found.
  ///
  /// Among the rules that match the path, the first in precedence order that takes `method`
  /// is found; HEAD is taken by a rule registered for HEAD, else by a GET rule. When rules
  /// match the path but none takes the method, the result is method_not_allowed. OPTIONS is
  /// found only when a rule registers it; otherwise it is method_not_allowed with `allowed`
  /// filled, and the app answers it itself (Flask's automatic OPTIONS).
  route_match match(std::string_view method, std::string_view path) const;

  /// Builds the URL of `endpoint`: parameters named by the rule fill it (percent-encoded), the
  /// others become the query string. Throws `build_error` on an unknown endpoint, a missing
  /// parameter, or a value the converter would not match.
  std::string url_for(std::string_view endpoint, const multi_dict& params = {}) const;

  /// The parsed rule of route `id`.
  const rule& rule_of(std::size_t id) const;
  std::size_t size() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace vial
