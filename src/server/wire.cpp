#include "wire.hpp"

#include <charconv>
#include <ctime>

#include "text.hpp"
#include "vial/http/headers.hpp"
#include "vial/http/response.hpp"
#include "vial/http/status.hpp"

namespace vial::server_detail {

namespace {

bool has_crlf(std::string_view s) noexcept {
  return s.find_first_of("\r\n") != std::string_view::npos;
}

void append_number(std::string& out, std::size_t n) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
  (void)ec;
  out.append(buf, end);
}

// Fields the server frames itself; a handler's copies would contradict the framing.
bool framing_field(std::string_view name) noexcept {
  return iequals(name, "Content-Length") || iequals(name, "Transfer-Encoding") ||
         iequals(name, "Connection");
}

}  // namespace

std::string_view http_date() {
  thread_local std::time_t cached_second = 0;
  thread_local char buf[40];
  thread_local std::size_t len = 0;
  std::time_t now = std::time(nullptr);
  if (now != cached_second) {
    std::tm tm{};
    gmtime_r(&now, &tm);
    len = std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    cached_second = now;
  }
  return {buf, len};
}

void serialize_head(std::string& out, const response& r, std::size_t content_length,
                    const head_framing& framing) {
  const int status = r.status();
  out.append("HTTP/1.1 ");
  append_number(out, static_cast<std::size_t>(status));
  out.push_back(' ');
  out.append(reason_phrase(status));
  out.append("\r\n");
  bool has_server = false;
  bool has_date = false;
  for (const auto& [name, value] : r.headers()) {
    if (framing_field(name) || has_crlf(name) || has_crlf(value)) continue;
    has_server = has_server || iequals(name, "Server");
    has_date = has_date || iequals(name, "Date");
    out.append(name);
    out.append(": ");
    out.append(value);
    out.append("\r\n");
  }
  if (!has_server) out.append("Server: vial\r\n");
  if (!has_date) {
    out.append("Date: ");
    out.append(http_date());
    out.append("\r\n");
  }
  if (framing.chunked) {
    out.append("Transfer-Encoding: chunked\r\n");
  } else if (!framing.no_length) {
    out.append("Content-Length: ");
    append_number(out, content_length);
    out.append("\r\n");
  }
  if (!framing.keep_alive) {
    out.append("Connection: close\r\n");
  } else if (framing.http10) {
    out.append("Connection: keep-alive\r\n");
  }
  out.append("\r\n");
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
    for (char c : v.substr(1, close - 1)) {
      bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
                c == ':' || c == '.';
      if (!ok) return false;
    }
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
  for (char c : host) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              std::string_view("-._~!$&'()*+,;=%").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  if (v.front() != '[' && host.empty()) return false;
  if (port.size() > 5) return false;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
  }
  return true;
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
