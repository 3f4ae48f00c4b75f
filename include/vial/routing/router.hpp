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
  /// Methods the path answers to, "GET, HEAD, OPTIONS" form (method_not_allowed, and found).
  std::string allowed;
  /// Where to send the client (redirect: 308 to the rule with the trailing slash), encoded.
  std::string location;
};

/// Maps (method, path) to routes, Werkzeug-style: static segments beat converters whatever
/// the registration order, then more specific converters beat `string`, which beats `path`.
/// GET routes also answer HEAD. Matching cost grows with the path's depth, not the number of
/// rules. Configure on one thread; after that `match` and `url_for` are safe from any thread.
class router {
 public:
  router();
  ~router();
  router(router&&) noexcept;
  router& operator=(router&&) noexcept;

  /// Adds a route for `methods` (upper-case tokens) and returns its id (0, 1, 2...).
  /// `endpoint` names the route for `url_for`; endpoints may be shared by several rules (the
  /// first one added builds URLs). Throws `setup_error` naming the rule on a bad pattern, or
  /// when a rule that matches exactly the same URLs already has one of these methods.
  std::size_t add(std::string_view pattern, const std::vector<std::string>& methods,
                  std::string endpoint);

  /// Matches a percent-decoded path. `/docs` with only `/docs/` registered redirects; `/docs/`
  /// with only `/docs` registered is not found.
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
