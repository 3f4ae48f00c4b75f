#include "vial/http/response.hpp"

#include <stdexcept>

#include <nlohmann/json.hpp>

#include "http/internal_error.hpp"
#include "text.hpp"

namespace vial {

namespace {

bool has_line_break_or_nul(std::string_view s) noexcept {
  return detail::has_line_break(s, /*or_nul=*/true);
}

void check_header(std::string_view name, std::string_view value) {
  if (name.empty() || !detail::token_chars.holds_all(name)) {
    // Escape the name so the message itself carries no raw CR/LF.
    std::string shown;
    for (char c : name) {
      if (c == '\r')
        shown += "\\r";
      else if (c == '\n')
        shown += "\\n";
      else if (c == '\0')
        shown += "\\0";
      else
        shown += c;
    }
    throw std::invalid_argument("header name '" + shown + "' is not a valid token");
  }
  if (has_line_break_or_nul(value)) {
    throw std::invalid_argument("value of header '" + std::string(name) +
                                "' contains CR, LF or NUL");
  }
}

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace

response::response(std::string body, int status, std::string_view content_type)
    : status_(status), body_(std::move(body)) {
  // Content-Type, X-Request-Id and a couple more without growing the vector field by field.
  headers_.reserve(4);
  if (content_type.empty()) return;
  check_header("Content-Type", content_type);
  headers_.add("Content-Type", content_type);  // the first field: nothing to replace
}

response response::text(std::string body, int status) {
  return response(std::move(body), status, "text/plain; charset=utf-8");
}

response response::html(std::string body, int status) {
  return response(std::move(body), status, "text/html; charset=utf-8");
}

response response::json(const nlohmann::json& value, int status) {
  // Strings holding invalid UTF-8 are sent with U+FFFD in place of the bad bytes rather than
  // failing the whole response.
  return response(value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), status,
                  "application/json");
}

response response::from_stream(std::shared_ptr<body_stream> stream, std::string_view content_type,
                               int status) {
  response out({}, status, content_type);
  out.stream_ = std::move(stream);
  return out;
}

response& response::set_header(std::string_view name, std::string_view value) {
  check_header(name, value);
  headers_.set(name, value);
  return *this;
}

response& response::add_header(std::string_view name, std::string_view value) {
  check_header(name, value);
  headers_.add(name, value);
  return *this;
}

response& response::set_cookie(std::string_view name, std::string_view value,
                               const cookie_options& options) {
  headers_.add("Set-Cookie", format_set_cookie(name, value, options));
  return *this;
}

response& response::delete_cookie(std::string_view name, std::string_view path,
                                  std::string_view domain) {
  cookie_options options;
  options.max_age = std::chrono::seconds(0);
  options.expires = std::chrono::system_clock::time_point{};
  options.path = std::string(path);
  options.domain = std::string(domain);
  return set_cookie(name, {}, options);
}

response redirect(std::string_view location, int code) {
  if (has_line_break_or_nul(location)) {
    throw std::invalid_argument("redirect location contains CR, LF or NUL");
  }
  // Location must be ASCII on the wire: percent-encode spaces, controls and non-ASCII bytes
  // (an IRI becomes a URI) and leave everything else, '%' included, as given.
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string encoded;
  for (char c : location) {
    auto b = static_cast<unsigned char>(c);
    if (b <= 0x20 || b >= 0x7F) {
      encoded += '%';
      encoded += digits[b >> 4];
      encoded += digits[b & 0x0F];
    } else {
      encoded += c;
    }
  }
  std::string escaped = html_escape(encoded);
  response out(
      "<!doctype html>\n<html lang=en>\n<title>Redirecting...</title>\n<h1>Redirecting...</h1>\n"
      "<p>You should be redirected automatically to the target URL: <a href=\"" +
          escaped + "\">" + escaped + "</a>. If not, click the link.\n",
      code);
  out.set_header("Location", encoded);
  return out;
}

namespace detail {

response internal_error_response() { return response::text("500 Internal Server Error\n", 500); }

}  // namespace detail

}  // namespace vial
