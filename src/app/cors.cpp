#include "vial/app/cors.hpp"

#include <algorithm>
#include <memory>
#include <string>
#include <string_view>

#include "text.hpp"

namespace vial {

namespace {

bool printable(std::string_view s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return c > 0x20 && c < 0x7f; });
}

bool listed(const std::vector<std::string>& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out.append(out.empty() ? "" : ", ").append(i);
  return out;
}

struct cors_policy {
  cors_options options;
  bool any_origin = false;

  /// The Access-Control-Allow-Origin value for `origin`, or nullopt when not allowed.
  std::optional<std::string> allow_origin(std::optional<std::string_view> origin) const {
    if (!origin || !printable(*origin)) return std::nullopt;
    if (listed(options.origins, *origin)) return std::string(*origin);
    if (!any_origin) return std::nullopt;
    return options.allow_credentials ? std::string(*origin) : std::string("*");
  }

  void add_common(response& r, const std::string& origin) const {
    r.set_header("Access-Control-Allow-Origin", origin);
    if (origin != "*") r.add_header("Vary", "Origin");
    if (options.allow_credentials) r.set_header("Access-Control-Allow-Credentials", "true");
  }

  /// Requested headers are allowed when every one is listed (case-insensitively).
  bool headers_allowed(std::string_view requested) const {
    if (options.allow_headers.empty()) return true;
    while (!requested.empty()) {
      const auto comma = requested.find(',');
      auto item = requested.substr(0, comma);
      while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
      while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
      if (!item.empty()) {
        const auto wanted = detail::ascii_lower(item);
        const bool ok =
            std::any_of(options.allow_headers.begin(), options.allow_headers.end(),
                        [&](const std::string& h) { return detail::ascii_lower(h) == wanted; });
        if (!ok) return false;
      }
      if (comma == std::string_view::npos) break;
      requested.remove_prefix(comma + 1);
    }
    return true;
  }
};

}  // namespace

void enable_cors(app& a, cors_options options) {
  auto policy = std::make_shared<cors_policy>();
  policy->any_origin = listed(options.origins, "*");
  policy->options = std::move(options);

  a.before_request([policy](request& req) -> std::optional<response> {
    if (req.method() != method::options) return std::nullopt;
    const auto wanted_method = req.header("Access-Control-Request-Method");
    if (!wanted_method) return std::nullopt;  // a plain OPTIONS request
    const auto origin = policy->allow_origin(req.header("Origin"));
    if (!origin || !listed(policy->options.methods, *wanted_method)) return std::nullopt;
    const auto wanted_headers = req.header("Access-Control-Request-Headers");
    if (wanted_headers && !policy->headers_allowed(*wanted_headers)) return std::nullopt;
    response r(std::string(), 204);
    policy->add_common(r, *origin);
    r.set_header("Access-Control-Allow-Methods", join(policy->options.methods));
    if (!policy->options.allow_headers.empty()) {
      r.set_header("Access-Control-Allow-Headers", join(policy->options.allow_headers));
    } else if (wanted_headers) {
      std::string echoed(*wanted_headers);
      std::erase(echoed, ' ');
      if (printable(echoed)) r.set_header("Access-Control-Allow-Headers", *wanted_headers);
    }
    if (policy->options.max_age) {
      r.set_header("Access-Control-Max-Age", std::to_string(policy->options.max_age->count()));
    }
    return r;
  });
  a.after_request([policy](request& req, response& res) {
    // A preflight was answered by the before hook, or refused: either way nothing to add.
    if (req.method() == method::options && req.header("Access-Control-Request-Method")) return;
    const auto origin = policy->allow_origin(req.header("Origin"));
    if (!origin) return;
    policy->add_common(res, *origin);
    if (!policy->options.expose_headers.empty()) {
      res.set_header("Access-Control-Expose-Headers", join(policy->options.expose_headers));
    }
  });
}

}  // namespace vial
