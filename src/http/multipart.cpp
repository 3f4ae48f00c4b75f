#include "vial/http/multipart.hpp"

#include <optional>

#include "http/bad_request.hpp"
#include "text.hpp"
#include "vial/http/error.hpp"
#include "vial/http/url.hpp"

namespace vial {

namespace {

constexpr std::string_view crlf = "\r\n";

[[noreturn]] void too_large(std::string message) { throw http_error(413, std::move(message)); }

// The parameters of a header value such as `form-data; name="a"; filename="b\"c"`.
struct header_value {
  std::string_view type;
  std::vector<std::pair<std::string, std::string>> params;

  const std::string* param(std::string_view name) const noexcept {
    for (const auto& [n, v] : params) {
      if (iequals(n, name)) return &v;
    }
    return nullptr;
  }
};

// Parses `type *( ";" name "=" ( token / quoted-string ) )`; nullopt on an unterminated quote or
// a parameter without '='.
std::optional<header_value> parse_header_value(std::string_view s) {
  header_value out;
  auto semi = s.find(';');
  out.type = detail::trim_ows(s.substr(0, semi));
  std::size_t i = semi == std::string_view::npos ? s.size() : semi + 1;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == ';')) ++i;
    if (i >= s.size()) break;
    auto eq = s.find('=', i);
    if (eq == std::string_view::npos) return std::nullopt;
    std::string name(detail::trim_ows(s.substr(i, eq - i)));
    i = eq + 1;
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    std::string value;
    if (i < s.size() && s[i] == '"') {
      ++i;
      bool closed = false;
      while (i < s.size()) {
        char c = s[i++];
        if (c == '\\' && i < s.size()) {
          value.push_back(s[i++]);
        } else if (c == '"') {
          closed = true;
          break;
        } else {
          value.push_back(c);
        }
      }
      if (!closed) return std::nullopt;
      while (i < s.size() && s[i] != ';') ++i;
    } else {
      auto end = s.find(';', i);
      if (end == std::string_view::npos) end = s.size();
      value = std::string(detail::trim_ows(s.substr(i, end - i)));
      i = end;
    }
    if (name.empty()) return std::nullopt;
    out.params.emplace_back(std::move(name), std::move(value));
  }
  return out;
}

// RFC 2046 bchars.
bool is_boundary_char(char c) noexcept {
  if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("'()+_,-./:=? ").find(c) != std::string_view::npos;
}

// After a delimiter: "--" closes the body, otherwise optional transport padding and CRLF start
// the next part. Returns the position after the line, or npos for the closing delimiter.
std::size_t after_delimiter(std::string_view body, std::size_t pos) {
  if (body.substr(pos, 2) == "--") return std::string_view::npos;
  while (pos < body.size() && (body[pos] == ' ' || body[pos] == '\t')) ++pos;
  if (body.substr(pos, 2) != crlf) detail::bad_request("malformed multipart boundary line");
  return pos + 2;
}

struct part_headers {
  std::string name;
  std::optional<std::string> filename;
  std::string content_type;
};

part_headers parse_part_headers(std::string_view block) {
  part_headers out;
  std::optional<std::string> disposition;
  std::string* last_value = nullptr;
  std::string content_type;
  while (!block.empty()) {
    auto end = block.find(crlf);
    std::string_view line = block.substr(0, end);
    block = end == std::string_view::npos ? std::string_view{} : block.substr(end + 2);
    if (!line.empty() && (line.front() == ' ' || line.front() == '\t') && last_value) {
      // Obsolete line folding: the line continues the previous header's value, joined by one
      // space. The value stays trimmed: no space before the first word, none for a blank line.
      const std::string_view more = detail::trim_ows(line);
      if (!more.empty()) {
        if (!last_value->empty()) *last_value += ' ';
        *last_value += more;
      }
      continue;
    }
    auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      detail::bad_request("malformed header line in multipart part");
    }
    std::string_view name = line.substr(0, colon);
    std::string value(detail::trim_ows(line.substr(colon + 1)));
    if (iequals(name, "Content-Disposition")) {
      disposition = std::move(value);
      last_value = &*disposition;
    } else if (iequals(name, "Content-Type")) {
      content_type = std::move(value);
      last_value = &content_type;
    } else {
      last_value = nullptr;
    }
  }
  if (!disposition) detail::bad_request("multipart part has no Content-Disposition header");
  auto parsed = parse_header_value(*disposition);
  if (!parsed) detail::bad_request("malformed Content-Disposition in multipart part");
  if (!iequals(parsed->type, "form-data")) {
    // Quoted back as sent unless that would put invalid UTF-8 into the description, which may
    // be answered as JSON.
    const std::string type = is_valid_utf8(parsed->type) ? std::string(parsed->type)
                                                         : percent_encode(parsed->type, " /;=");
    detail::bad_request("multipart part has Content-Disposition '" + type +
                        "', expected form-data");
  }
  const std::string* name = parsed->param("name");
  if (!name) detail::bad_request("multipart part has no Content-Disposition name");
  if (!is_valid_utf8(*name)) detail::bad_request("multipart part name is not valid UTF-8");
  out.name = *name;
  if (const std::string* filename = parsed->param("filename")) {
    if (!is_valid_utf8(*filename)) {
      detail::bad_request("multipart file name of field '" + out.name + "' is not valid UTF-8");
    }
    out.filename = *filename;
  }
  out.content_type = content_type.empty() ? "application/octet-stream" : std::move(content_type);
  return out;
}

}  // namespace

std::string multipart_boundary(std::string_view content_type) {
  auto parsed = parse_header_value(content_type);
  if (!parsed) return {};
  const std::string* boundary = parsed->param("boundary");
  if (!boundary || boundary->empty() || boundary->size() > 70 || boundary->back() == ' ') {
    return {};
  }
  for (char c : *boundary) {
    if (!is_boundary_char(c)) return {};
  }
  return *boundary;
}

multipart_data parse_multipart(std::string_view body, std::string_view boundary,
                               const multipart_limits& limits) {
  if (boundary.empty()) detail::bad_request("multipart body has no boundary");
  const std::string delimiter = "--" + std::string(boundary);
  const std::string inner_delimiter = "\r\n" + delimiter;

  // The first delimiter starts the body or a line after the preamble.
  std::size_t pos;
  if (body.substr(0, delimiter.size()) == delimiter) {
    pos = delimiter.size();
  } else {
    pos = body.find(inner_delimiter);
    if (pos == std::string_view::npos)
      detail::bad_request("multipart body does not contain the boundary");
    pos += inner_delimiter.size();
  }

  multipart_data out;
  std::size_t parts = 0;
  for (std::size_t start = after_delimiter(body, pos); start != std::string_view::npos;) {
    if (++parts > limits.max_parts) {
      too_large("multipart body has more than " + std::to_string(limits.max_parts) + " parts");
    }
    auto end = body.find(inner_delimiter, start);
    if (end == std::string_view::npos)
      detail::bad_request("multipart body has no closing boundary");
    std::string_view part = body.substr(start, end - start);

    std::string_view header_block;
    std::string_view content;
    if (part.substr(0, 2) == crlf) {
      content = part.substr(2);
    } else {
      auto blank = part.find("\r\n\r\n");
      if (blank == std::string_view::npos)
        detail::bad_request("multipart part headers are not terminated");
      header_block = part.substr(0, blank);
      content = part.substr(blank + 4);
    }
    part_headers h = parse_part_headers(header_block);

    if (h.filename) {
      if (content.size() > limits.max_part_bytes) {
        too_large("multipart file '" + h.name + "' is larger than " +
                  std::to_string(limits.max_part_bytes) + " bytes");
      }
      out.files.push_back(uploaded_file{std::move(h.name), std::move(*h.filename),
                                        std::move(h.content_type), std::string(content)});
    } else {
      if (content.size() > limits.max_field_bytes) {
        too_large("multipart field '" + h.name + "' is larger than " +
                  std::to_string(limits.max_field_bytes) + " bytes");
      }
      if (!is_valid_utf8(content)) {
        detail::bad_request("multipart field '" + h.name + "' is not valid UTF-8");
      }
      out.fields.add(std::move(h.name), std::string(content));
    }
    start = after_delimiter(body, end + inner_delimiter.size());
  }
  return out;
}

}  // namespace vial
