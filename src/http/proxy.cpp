// Werkzeug's ProxyFix: each forwarding header is a list to which every proxy appends what it
// saw; with N trusted proxies the value N from the end is the one the outermost trusted proxy
// wrote. Anything to the left of it came from the client and is never read.

#include "vial/http/proxy.hpp"

#include <arpa/inet.h>

#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "text.hpp"
#include "vial/http/request.hpp"

namespace vial {

namespace {

// Every comma-separated value of every field `name`, trimmed, in order (fields joined as one
// list, RFC 9110 5.3).
std::vector<std::string_view> list_values(const request& req, std::string_view name) {
  std::vector<std::string_view> values;
  for (std::string_view field : req.headers().get_all(name)) {
    while (true) {
      auto comma = field.find(',');
      values.push_back(detail::trim_ows(field.substr(0, comma)));
      if (comma == std::string_view::npos) break;
      field.remove_prefix(comma + 1);
    }
  }
  return values;
}

// The value `hops` from the end, or nothing when the list is shorter (a chain that did not
// pass through every trusted proxy is not trusted at all).
std::optional<std::string_view> trusted_value(const std::vector<std::string_view>& values,
                                              std::size_t hops) {
  if (hops == 0 || values.size() < hops) return std::nullopt;
  return values[values.size() - hops];
}

bool is_ipv4(std::string_view s) {
  if (s.size() > 15) return false;
  in_addr out{};
  return inet_pton(AF_INET, std::string(s).c_str(), &out) == 1;
}

bool is_ipv6(std::string_view s) {
  if (s.size() > 45) return false;
  in6_addr out{};
  return inet_pton(AF_INET6, std::string(s).c_str(), &out) == 1;
}

bool is_port(std::string_view s) {
  if (s.empty() || s.size() > 5) return false;
  unsigned value = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  return value <= 65535;
}

// An address as X-Forwarded-For carries it: a bare IPv4 or IPv6 address. The result is what
// `remote_address()` reports.
std::optional<std::string> forwarded_for_address(std::string_view v) {
  if (is_ipv4(v) || is_ipv6(v)) return std::string(v);
  return std::nullopt;
}

// RFC 7239 6: node = nodename [ ":" node-port ], IPv6 in brackets. Obfuscated names and
// "unknown" say nothing usable: ignored like malformed values.
std::optional<std::string> forwarded_node(std::string_view v) {
  if (v.starts_with('[')) {
    auto close = v.find(']');
    if (close == std::string_view::npos || !is_ipv6(v.substr(1, close - 1))) return std::nullopt;
    std::string_view rest = v.substr(close + 1);
    if (!rest.empty() && !(rest.front() == ':' && is_port(rest.substr(1)))) return std::nullopt;
    return std::string(v);
  }
  auto colon = v.find(':');
  if (!is_ipv4(v.substr(0, colon))) return std::nullopt;
  if (colon != std::string_view::npos && !is_port(v.substr(colon + 1))) return std::nullopt;
  return std::string(v);
}

std::optional<std::string> forwarded_scheme(std::string_view v) {
  if (iequals(v, "http")) return std::string("http");
  if (iequals(v, "https")) return std::string("https");
  return std::nullopt;
}

// uri-host [ ":" port ] (RFC 9110 7.2): a reg-name of unreserved and sub-delims bytes or a
// bracketed IPv6 literal. Percent-escapes are refused: nothing downstream needs them.
std::optional<std::string> forwarded_host(std::string_view v) {
  if (v.empty() || v.size() > 255) return std::nullopt;
  std::string_view name = v, port;
  if (v.front() == '[') {
    auto close = v.find(']');
    if (close == std::string_view::npos || !is_ipv6(v.substr(1, close - 1))) return std::nullopt;
    name = {};
    port = v.substr(close + 1);
  } else if (auto colon = v.rfind(':'); colon != std::string_view::npos) {
    name = v.substr(0, colon);
    port = v.substr(colon);
    if (name.empty()) return std::nullopt;
  }
  if (!port.empty() && !(port.front() == ':' && is_port(port.substr(1)))) return std::nullopt;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view("-._~!$&'()*+,;=").find(c) != std::string_view::npos;
    if (!ok) return std::nullopt;
  }
  return std::string(v);
}

// "/api" or "/api/" (stored without the trailing slash); printable ASCII path bytes only, so
// the prefix can go in front of any URL the app builds.
std::optional<std::string> forwarded_prefix(std::string_view v) {
  if (v.empty() || v.front() != '/' || v.size() > 1024) return std::nullopt;
  for (char c : v) {
    auto b = static_cast<unsigned char>(c);
    if (b <= 0x20 || b >= 0x7f || c == '?' || c == '#' || c == '\\' || c == '"') {
      return std::nullopt;
    }
  }
  if (v.find("//") != std::string_view::npos) return std::nullopt;
  while (v.ends_with('/')) v.remove_suffix(1);
  return std::string(v);
}

// A port from X-Forwarded-Port: 1 to 65535, digits only.
std::optional<std::string> forwarded_port(std::string_view v) {
  if (!is_port(v) || v.find_first_not_of('0') == std::string_view::npos) return std::nullopt;
  return std::string(v);
}

// `host` with its port replaced by `port`, or dropped when `port` is the default of `scheme`
// (so an external URL reads https://example.com/, not https://example.com:443/).
std::string host_with_port(std::string_view host, std::string_view port, std::string_view scheme) {
  std::string_view name = host;
  if (host.starts_with('[')) {
    name = host.substr(0, host.find(']') + 1);
  } else if (auto colon = host.rfind(':'); colon != std::string_view::npos) {
    name = host.substr(0, colon);
  }
  const bool default_port =
      (scheme == "https" && port == "443") || (scheme == "http" && port == "80");
  std::string out(name);
  if (!default_port) out.append(":").append(port);
  return out;
}

struct forwarded_element {
  std::optional<std::string_view> for_, proto, host;
};

// One forwarded-element: pairs separated by ';', each token=value with the value a token or
// a quoted-string. Nothing on malformed syntax or a repeated parameter.
std::optional<forwarded_element> parse_element(std::string_view element,
                                               std::deque<std::string>& unquoted) {
  forwarded_element out;
  while (!element.empty()) {
    auto eq = element.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    std::string_view name = detail::trim_ows(element.substr(0, eq));
    if (name.empty()) return std::nullopt;
    for (char c : name) {
      if (!detail::is_token_char(c)) return std::nullopt;
    }
    element.remove_prefix(eq + 1);
    std::string_view value;
    if (element.starts_with('"')) {
      std::string text;
      std::size_t i = 1;
      for (; i < element.size() && element[i] != '"'; ++i) {
        if (element[i] == '\\' && i + 1 < element.size()) ++i;
        text.push_back(element[i]);
      }
      if (i == element.size()) return std::nullopt;  // no closing quote
      unquoted.push_back(std::move(text));
      value = unquoted.back();
      element.remove_prefix(i + 1);
    } else {
      std::string_view raw = element.substr(0, element.find(';'));
      value = detail::trim_ows(raw);
      if (value.empty()) return std::nullopt;
      for (char c : value) {
        if (!detail::is_token_char(c)) return std::nullopt;
      }
      element.remove_prefix(raw.size());
    }
    element = detail::trim_ows(element);
    if (!element.empty()) {
      if (element.front() != ';') return std::nullopt;
      element.remove_prefix(1);
    }
    auto set = [&](std::optional<std::string_view>& slot) {
      if (slot) return false;
      slot = value;
      return true;
    };
    if (iequals(name, "for")) {
      if (!set(out.for_)) return std::nullopt;
    } else if (iequals(name, "proto")) {
      if (!set(out.proto)) return std::nullopt;
    } else if (iequals(name, "host")) {
      if (!set(out.host)) return std::nullopt;
    }
  }
  return out;
}

// The elements of every Forwarded field, split on commas outside quoted strings.
std::vector<std::string_view> forwarded_elements(const request& req) {
  std::vector<std::string_view> out;
  for (std::string_view field : req.headers().get_all("Forwarded")) {
    bool quoted = false;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= field.size(); ++i) {
      if (i < field.size() && field[i] == '\\' && quoted) {
        ++i;
      } else if (i < field.size() && field[i] == '"') {
        quoted = !quoted;
      } else if (i == field.size() || (field[i] == ',' && !quoted)) {
        out.push_back(detail::trim_ows(field.substr(start, i - start)));
        start = i + 1;
      }
    }
  }
  return out;
}

// Applies a value only when it validates; a malformed one leaves the request as it was.
template <class Parse, class Set>
void apply(std::optional<std::string_view> value, Parse parse, Set set) {
  if (!value) return;
  if (auto parsed = parse(*value)) set(std::move(*parsed));
}

}  // namespace

void apply_proxy_headers(request& req, const proxy_options& trust) {
  if (!trust.any()) return;
  auto set_remote = [&](std::string v) { req.set_remote_address(std::move(v)); };
  auto set_scheme = [&](std::string v) { req.set_scheme(std::move(v)); };
  auto set_host = [&](std::string v) { req.set_host(std::move(v)); };

  if (trust.x_for) {
    apply(trusted_value(list_values(req, "X-Forwarded-For"), trust.x_for), forwarded_for_address,
          set_remote);
  }
  if (trust.x_proto) {
    apply(trusted_value(list_values(req, "X-Forwarded-Proto"), trust.x_proto), forwarded_scheme,
          set_scheme);
  }
  if (trust.x_host) {
    apply(trusted_value(list_values(req, "X-Forwarded-Host"), trust.x_host), forwarded_host,
          set_host);
  }
  if (trust.x_port) {
    apply(trusted_value(list_values(req, "X-Forwarded-Port"), trust.x_port), forwarded_port,
          [&](std::string port) {
            if (!req.host().empty()) req.set_host(host_with_port(req.host(), port, req.scheme()));
          });
  }
  if (trust.x_prefix) {
    apply(trusted_value(list_values(req, "X-Forwarded-Prefix"), trust.x_prefix), forwarded_prefix,
          [&](std::string v) { req.set_script_root(std::move(v)); });
  }
  if (trust.forwarded) {
    auto elements = forwarded_elements(req);
    std::deque<std::string> unquoted;  // grows without moving what views point at
    if (auto element = trusted_value(elements, trust.forwarded)) {
      if (auto e = parse_element(*element, unquoted)) {
        apply(e->for_, forwarded_node, set_remote);
        apply(e->proto, forwarded_scheme, set_scheme);
        apply(e->host, forwarded_host, set_host);
      }
    }
  }
}

}  // namespace vial
