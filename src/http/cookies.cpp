#include "vial/http/cookies.hpp"

#include <array>
#include <cstdio>
#include <ctime>
#include <stdexcept>

#include "text.hpp"
#include "vial/http/headers.hpp"

namespace vial {

namespace {

bool is_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s) {
    if (!detail::is_token_char(c)) return false;
  }
  return true;
}

// RFC 6265 cookie-octet: US-ASCII without CTLs, whitespace, DQUOTE, comma, semicolon and
// backslash.
bool is_cookie_octet(char c) noexcept {
  auto b = static_cast<unsigned char>(c);
  return b == 0x21 || (b >= 0x23 && b <= 0x2B) || (b >= 0x2D && b <= 0x3A) ||
         (b >= 0x3C && b <= 0x5B) || (b >= 0x5D && b <= 0x7E);
}

bool is_cookie_value(std::string_view v) noexcept {
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  for (char c : v) {
    if (!is_cookie_octet(c)) return false;
  }
  return true;
}

// Path and Domain attribute values: any CHAR except CTLs and ';' (RFC 6265 av-octet).
bool is_attribute_value(std::string_view v) noexcept {
  for (char c : v) {
    auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b == 0x7F || c == ';') return false;
  }
  return true;
}

[[noreturn]] void reject(std::string_view what, std::string_view name) {
  std::string message(what);
  message += " for '";
  message.append(name);
  message += "' contains a forbidden character";
  throw std::invalid_argument(message);
}

constexpr std::array<std::string_view, 7> day_names{"Sun", "Mon", "Tue", "Wed",
                                                    "Thu", "Fri", "Sat"};
constexpr std::array<std::string_view, 12> month_names{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

bool parse_digits(std::string_view s, int& out) noexcept {
  out = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  return !s.empty();
}

bool is_leap(int year) noexcept { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int days_in_month(int month, int year) noexcept {
  static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 1 && is_leap(year) ? 29 : days[month];
}

}  // namespace

multi_dict parse_cookie_header(std::string_view header) {
  multi_dict out;
  while (!header.empty()) {
    auto semi = header.find(';');
    std::string_view pair = detail::trim_ows(header.substr(0, semi));
    header = semi == std::string_view::npos ? std::string_view{} : header.substr(semi + 1);
    auto eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view name = detail::trim_ows(pair.substr(0, eq));
    std::string_view value = detail::trim_ows(pair.substr(eq + 1));
    if (name.empty()) continue;
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    out.add(std::string(name), std::string(value));
  }
  return out;
}

std::string format_set_cookie(std::string_view name, std::string_view value,
                              const cookie_options& options) {
  if (!is_token(name)) {
    std::string message = "cookie name '";
    message.append(name);
    message += "' is not a valid token";
    throw std::invalid_argument(message);
  }
  if (!is_cookie_value(value)) reject("cookie value", name);
  if (!is_attribute_value(options.path)) reject("cookie path", name);
  if (!is_attribute_value(options.domain)) reject("cookie domain", name);

  std::string same_site;
  if (!options.same_site.empty()) {
    for (std::string_view known : {"Strict", "Lax", "None"}) {
      if (iequals(options.same_site, known)) same_site = known;
    }
    if (same_site.empty()) {
      throw std::invalid_argument("cookie SameSite for '" + std::string(name) +
                                  "' must be Strict, Lax or None, got '" + options.same_site + "'");
    }
    if (same_site == "None" && !options.secure) {
      throw std::invalid_argument("cookie '" + std::string(name) +
                                  "' has SameSite=None, which browsers reject without Secure");
    }
  }

  std::string out;
  out.append(name);
  out += '=';
  out.append(value);
  if (options.expires) {
    out += "; Expires=";
    out += format_http_date(*options.expires);
  }
  if (options.max_age) {
    auto seconds = options.max_age->count();
    out += "; Max-Age=";
    out += std::to_string(seconds < 0 ? 0 : seconds);
  }
  if (!options.domain.empty()) {
    out += "; Domain=";
    out += options.domain;
  }
  if (!options.path.empty()) {
    out += "; Path=";
    out += options.path;
  }
  if (options.secure) out += "; Secure";
  if (options.http_only) out += "; HttpOnly";
  if (!same_site.empty()) {
    out += "; SameSite=";
    out += same_site;
  }
  return out;
}

std::string format_http_date(std::chrono::system_clock::time_point t) {
  std::time_t secs =
      std::chrono::system_clock::to_time_t(std::chrono::floor<std::chrono::seconds>(t));
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT",
                day_names[static_cast<std::size_t>(tm.tm_wday)].data(), tm.tm_mday,
                month_names[static_cast<std::size_t>(tm.tm_mon)].data(), tm.tm_year + 1900,
                tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view s) {
  // "Sun, 06 Nov 1994 08:49:37 GMT": fixed width, 29 characters.
  if (s.size() != 29) return std::nullopt;
  if (s.substr(3, 2) != ", " || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' || s[19] != ':' ||
      s[22] != ':' || s.substr(25) != " GMT") {
    return std::nullopt;
  }
  bool day_ok = false;
  for (auto d : day_names) day_ok = day_ok || s.substr(0, 3) == d;
  if (!day_ok) return std::nullopt;
  int month = -1;
  for (std::size_t i = 0; i < month_names.size(); ++i) {
    if (s.substr(8, 3) == month_names[i]) month = static_cast<int>(i);
  }
  int day, year, hour, minute, second;
  if (month < 0 || !parse_digits(s.substr(5, 2), day) || !parse_digits(s.substr(12, 4), year) ||
      !parse_digits(s.substr(17, 2), hour) || !parse_digits(s.substr(20, 2), minute) ||
      !parse_digits(s.substr(23, 2), second)) {
    return std::nullopt;
  }
  if (day < 1 || day > days_in_month(month, year) || hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  // system_clock counts nanoseconds in 64 bits: years 1678 to 2262. Converting a date outside
  // that would overflow.
  constexpr auto earliest =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::duration::min());
  constexpr auto latest =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::duration::max());
  const std::time_t t = timegm(&tm);
  if (t <= earliest.count() || t >= latest.count()) return std::nullopt;
  return std::chrono::system_clock::from_time_t(t);
}

}  // namespace vial
