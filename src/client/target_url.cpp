#include "target_url.hpp"

#include <cctype>
#include <charconv>

#include "text.hpp"
#include "vial/client/error.hpp"

namespace vial::detail {

namespace {

[[noreturn]] void invalid(std::string_view url, std::string_view why) {
  throw client_error(client_errc::invalid_url,
                     "invalid URL '" + std::string(url) + "': " + std::string(why));
}

}  // namespace

std::string target_url::authority() const {
  std::string out = ipv6() ? "[" + host + "]" : host;
  if (!default_port()) out += ":" + std::to_string(port);
  return out;
}

std::string target_url::origin() const { return scheme() + "://" + authority(); }

target_url parse_target_url(std::string_view url) {
  target_url out;
  auto colon = url.find("://");
  if (colon == std::string_view::npos) invalid(url, "missing scheme (http:// or https://)");
  const std::string scheme = detail::ascii_lower(url.substr(0, colon));
  if (scheme == "https") {
    out.tls = true;
  } else if (scheme != "http") {
    invalid(url, "scheme '" + scheme + "' is not http or https");
  }
  std::string_view rest = url.substr(colon + 3);
  const auto path_start = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, path_start);
  std::string_view tail =
      path_start == std::string_view::npos ? std::string_view{} : rest.substr(path_start);
  if (auto hash = tail.find('#'); hash != std::string_view::npos) tail = tail.substr(0, hash);
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    invalid(url, "user information in URLs is not supported; send an Authorization header");
  }
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) invalid(url, "unterminated IPv6 address");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') invalid(url, "unexpected characters after IPv6 address");
      port = after.substr(1);
    }
  } else if (auto c = authority.rfind(':'); c != std::string_view::npos) {
    host = authority.substr(0, c);
    port = authority.substr(c + 1);
  }
  if (host.empty()) invalid(url, "missing host");
  out.host = detail::ascii_lower(host);
  out.port = out.tls ? 443 : 80;
  if (!port.empty()) {
    unsigned value = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || p != port.data() + port.size() || value == 0 || value > 65535) {
      invalid(url, "bad port '" + std::string(port) + "'");
    }
    out.port = static_cast<std::uint16_t>(value);
  }
  if (tail.empty() || tail.front() == '?') {
    out.target = "/" + std::string(tail);
  } else {
    out.target = std::string(tail);
  }
  for (char c : out.target) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      invalid(url, "the path contains a space or control character; percent-encode it");
    }
  }
  return out;
}

std::string resolve_location(const target_url& base, std::string_view location) {
  if (location.find("://") != std::string_view::npos) return std::string(location);
  if (location.starts_with("//")) return base.scheme() + ":" + std::string(location);
  if (location.starts_with("/")) return base.origin() + std::string(location);
  std::string path = base.target.substr(0, base.target.find('?'));
  if (location.starts_with("?")) return base.origin() + path + std::string(location);
  path = path.substr(0, path.rfind('/') + 1);
  return base.origin() + path + std::string(location);
}

}  // namespace vial::detail
