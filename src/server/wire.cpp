#include "wire.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <ctime>

#include "text.hpp"
#include "vial/http/headers.hpp"
#include "vial/http/response.hpp"
#include "vial/http/status.hpp"

namespace vial::server_detail {

namespace {

bool has_crlf(std::string_view s) noexcept { return detail::has_line_break(s); }

using detail::byte_set;

// RFC 3986 reg-name (unreserved, sub-delims, and '%' of pct-encoded) and IPv6 literal bytes.
constexpr byte_set reg_name_chars{[](unsigned char c) {
  return detail::is_alnum_byte(c) ||
         std::string_view("-._~!$&'()*+,;=%").find(static_cast<char>(c)) != std::string_view::npos;
}};
constexpr byte_set ip_literal_chars{[](unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' ||
         c == '.';
}};
constexpr byte_set digit_chars{[](unsigned char c) { return c >= '0' && c <= '9'; }};

// A handler's field that the server writes itself: its framing fields would contradict the
// framing and are dropped; its Server and Date replace the server's own. Told apart by length
// first, so most fields cost one switch.
enum class own_field { none, framing, server, date };

own_field classify(std::string_view name) noexcept {
  switch (name.size()) {
    case 4:
      return iequals(name, "Date") ? own_field::date : own_field::none;
    case 6:
      return iequals(name, "Server") ? own_field::server : own_field::none;
    case 10:
      return iequals(name, "Connection") ? own_field::framing : own_field::none;
    case 14:
      return iequals(name, "Content-Length") ? own_field::framing : own_field::none;
    case 17:
      return iequals(name, "Transfer-Encoding") ? own_field::framing : own_field::none;
    default:
      return own_field::none;
  }
}

// "Server: vial\r\nDate: <IMF-fixdate>\r\n", formatted once per second per thread: a response
// without its own Server and Date sends these lines as they are.
class fixed_lines {
 public:
  static const fixed_lines& current() {
    thread_local fixed_lines lines;
    const std::time_t now = std::time(nullptr);
    if (now != lines.second_) lines.format(now);
    return lines;
  }
  std::string_view both() const noexcept { return {text_, size_}; }
  std::string_view server_line() const noexcept { return server; }
  std::string_view date_line() const noexcept { return both().substr(server.size()); }
  std::string_view date() const noexcept {
    return both().substr(server.size() + date_name.size(),
                         size_ - server.size() - date_name.size() - 2);
  }

 private:
  static constexpr std::string_view server = "Server: vial\r\n";
  static constexpr std::string_view date_name = "Date: ";

  void format(std::time_t now) {
    std::tm tm{};
    gmtime_r(&now, &tm);
    char* p = std::copy(server.begin(), server.end(), text_);
    p = std::copy(date_name.begin(), date_name.end(), p);
    p += std::strftime(p, 40, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    *p++ = '\r';
    *p++ = '\n';
    size_ = static_cast<std::size_t>(p - text_);
    second_ = now;
  }

  std::time_t second_ = -1;
  char text_[80];
  std::size_t size_ = 0;
};

}  // namespace

std::string_view http_date() { return fixed_lines::current().date(); }

// One pass over the handler's fields, written into room made once (resize, then memcpy: an
// append per piece cost about as much as the rest of the head); the Server and Date lines come
// preformatted.
void serialize_head(std::string& out, const response& r, std::size_t content_length,
                    const head_framing& framing) {
  using namespace std::string_view_literals;
  const int status = r.status();
  const std::string_view reason = reason_phrase(status);
  std::size_t room = reason.size() + 192;  // the status line and the server's own lines
  for (const auto& [name, value] : r.headers()) room += name.size() + value.size() + 4;
  const std::size_t start = out.size();
  out.resize(start + room);
  char* p = out.data() + start;
  auto put = [&p](std::string_view s) {
    std::memcpy(p, s.data(), s.size());
    p += s.size();
  };
  auto put_number = [&p](std::size_t n) { p = std::to_chars(p, p + 20, n).ptr; };
  put("HTTP/1.1 "sv);
  put_number(static_cast<std::size_t>(status));
  *p++ = ' ';
  put(reason);
  put("\r\n"sv);
  bool has_server = false;
  bool has_date = false;
  for (const auto& [name, value] : r.headers()) {
    const own_field kind = classify(name);
    if (kind == own_field::framing || has_crlf(name) || has_crlf(value)) continue;
    has_server = has_server || kind == own_field::server;
    has_date = has_date || kind == own_field::date;
    put(name);
    put(": "sv);
    put(value);
    put("\r\n"sv);
  }
  if (!has_server || !has_date) {
    const auto& lines = fixed_lines::current();
    if (!has_server && !has_date) {
      put(lines.both());
    } else {
      put(has_server ? lines.date_line() : lines.server_line());
    }
  }
  if (framing.chunked) {
    put("Transfer-Encoding: chunked\r\n"sv);
  } else if (!framing.no_length) {
    put("Content-Length: "sv);
    put_number(content_length);
    put("\r\n"sv);
  }
  if (!framing.keep_alive) {
    put("Connection: close\r\n"sv);
  } else if (framing.http10) {
    put("Connection: keep-alive\r\n"sv);
  }
  put("\r\n"sv);
  out.resize(static_cast<std::size_t>(p - out.data()));
}

std::string stock_response(int status, bool close, std::string_view extra) {
  std::string body = std::to_string(status);
  body.push_back(' ');
  body.append(reason_phrase(status));
  body.push_back('\n');
  std::string out;
  out.reserve(160 + body.size() + extra.size());
  out.append("HTTP/1.1 ").append(std::to_string(status)).push_back(' ');
  out.append(reason_phrase(status)).append("\r\n");
  out.append("Server: vial\r\nDate: ").append(http_date()).append("\r\n");
  out.append("Content-Type: text/plain; charset=utf-8\r\n");
  out.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  if (close) out.append("Connection: close\r\n");
  out.append(extra);
  out.append("\r\n");
  out.append(body);
  return out;
}

bool valid_host(std::string_view v) noexcept {
  if (v.empty()) return true;  // allowed for origin-form targets without an authority
  std::string_view host = v;
  std::string_view port;
  if (v.front() == '[') {
    auto close = v.find(']');
    if (close == std::string_view::npos) return false;
    if (!ip_literal_chars.holds_all(v.substr(1, close - 1))) return false;
    auto rest = v.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return false;
      port = rest.substr(1);
    }
    host = {};
  } else if (auto colon = v.find(':'); colon != std::string_view::npos) {
    host = v.substr(0, colon);
    port = v.substr(colon + 1);
    if (port.find(':') != std::string_view::npos) return false;
  }
  if (!reg_name_chars.holds_all(host)) return false;
  if (v.front() != '[' && host.empty()) return false;
  if (port.size() > 5) return false;
  return digit_chars.holds_all(port);
}

coding_check check_transfer_codings(const std::vector<std::string_view>& fields) {
  std::vector<std::string_view> codings;
  for (auto field : fields) {
    while (!field.empty()) {
      auto comma = field.find(',');
      auto item = detail::trim_ows(field.substr(0, comma));
      field = comma == std::string_view::npos ? std::string_view{} : field.substr(comma + 1);
      if (auto semi = item.find(';'); semi != std::string_view::npos)
        item = detail::trim_ows(item.substr(0, semi));
      if (!item.empty()) codings.push_back(item);
    }
  }
  if (codings.empty()) return coding_check::bad_request;
  std::size_t chunked = 0;
  for (auto c : codings) chunked += iequals(c, "chunked") ? 1 : 0;
  if (chunked != 1 || !iequals(codings.back(), "chunked")) return coding_check::bad_request;
  if (codings.size() > 1) return coding_check::not_implemented;
  return coding_check::ok;
}

}  // namespace vial::server_detail
