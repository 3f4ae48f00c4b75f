#include "vial/http/request.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "http/bad_request.hpp"
#include "text.hpp"
#include "urlencoded.hpp"
#include "vial/http/cookies.hpp"
#include "vial/http/error.hpp"
#include "vial/http/json_view.hpp"
#include "vial/http/url.hpp"

namespace vial {

namespace {

[[noreturn]] void bad_target() { detail::bad_request("malformed request target"); }

// Bytes that can never appear in a request-target: controls, space, DEL, and '#' (a fragment
// is never sent). Raw bytes >= 0x80 are tolerated, as most servers do; they are checked as
// UTF-8 after decoding.
bool has_forbidden_target_byte(std::string_view target) noexcept {
  for (char c : target) {
    auto b = static_cast<unsigned char>(c);
    if (b <= 0x20 || b == 0x7F || c == '#') return true;
  }
  return false;
}

// RFC 9112 3.2.2: absolute-form "http://host:port/path?query". Returns the origin-form part
// ("/path?query"); "/" when the path is empty.
std::string_view strip_absolute_form(std::string_view target) {
  auto sep = target.find("://");
  if (sep == std::string_view::npos) bad_target();
  std::string_view scheme = target.substr(0, sep);
  if (!iequals(scheme, "http") && !iequals(scheme, "https")) bad_target();
  std::string_view rest = target.substr(sep + 3);
  auto path_start = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, path_start);
  if (authority.empty()) bad_target();
  if (path_start == std::string_view::npos) return {};
  return rest.substr(path_start);
}

// Parser error messages can quote the input; keep the description valid UTF-8 so it can be
// sent back in any format, JSON included.
std::string printable(std::string text) {
  if (is_valid_utf8(text)) return text;
  for (char& c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) c = '?';
  }
  return text;
}

bool is_json_mimetype(std::string_view mimetype) noexcept {
  constexpr std::string_view suffix = "+json";
  return mimetype == "application/json" ||
         (mimetype.size() > suffix.size() && mimetype.find('/') != std::string_view::npos &&
          mimetype.substr(mimetype.size() - suffix.size()) == suffix);
}

// Depth of the deepest array or object, stopping early past `limit`. Brackets inside strings
// do not count. Malformed input is left for the parser to report.
std::size_t json_depth(std::string_view text, std::size_t limit) noexcept {
  std::size_t depth = 0, deepest = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size() && deepest <= limit; ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

}  // namespace

request::request(std::string_view method, std::string_view target, vial::headers headers,
                 std::string body)
    : request(method, target, std::move(headers), std::move(body), false) {}

request request::refused_or_valid(std::string_view method, std::string_view target,
                                  vial::headers headers, std::string body) {
  return request(method, target, std::move(headers), std::move(body), true);
}

request::request(std::string_view method, std::string_view target, vial::headers headers,
                 std::string body, bool keep_refusal)
    : method_(parse_method(method)),
      method_name_(method),
      target_(target),
      headers_(std::move(headers)),
      body_(std::move(body)) {
  // Stays empty when the target is refused before its path is known: no route is matched.
  path_.clear();
  try {
    parse_target(target);
  } catch (const http_error& e) {
    if (!keep_refusal) throw;
    set_refusal(e);
  }

  cookies_.set_noun("cookie");
  for (std::string_view header : headers_.get_all("Cookie")) {
    for (auto& [name, value] : parse_cookie_header(header)) cookies_.add(name, value);
  }

  if (auto content_type = headers_.get("Content-Type")) {
    mimetype_ =
        detail::ascii_lower(detail::trim_ows(content_type->substr(0, content_type->find(';'))));
  }
}

void request::parse_target(std::string_view target) {
  if (target.empty() || has_forbidden_target_byte(target)) bad_target();

  std::string_view origin;
  if (target == "*") {
    if (method_ != vial::method::options) bad_target();
    path_ = "*";
  } else {
    origin = target.front() == '/' ? target : strip_absolute_form(target);
    auto question = origin.find('?');
    std::string_view raw_path = origin.substr(0, question);
    if (question != std::string_view::npos)
      query_string_ = std::string(origin.substr(question + 1));

    if (raw_path.find('%') == std::string_view::npos) {
      // Nothing to decode (most paths): checked in place, copied once. It holds no NUL, a
      // forbidden target byte.
      if (!is_valid_utf8(raw_path)) detail::bad_request("invalid UTF-8 in path");
      path_.assign(raw_path.empty() ? std::string_view("/") : raw_path);
    } else {
      auto decoded = percent_decode(raw_path);
      if (!decoded) detail::bad_request("malformed percent-encoding in path");
      if (!is_valid_utf8(*decoded)) detail::bad_request("invalid UTF-8 in path");
      if (decoded->find('\0') != std::string::npos) detail::bad_request("NUL byte in path");
      path_ = decoded->empty() ? std::string("/") : std::move(*decoded);
    }
    if (!query_string_.empty()) args_ = parse_query(query_string_);
  }
}

std::string_view request::host() const noexcept {
  if (host_) return *host_;
  return headers_.get_or("Host", {});
}

std::string request::url_root() const {
  std::string root(scheme_);
  root.append("://").append(host()).append(script_root_).push_back('/');
  return root;
}

void request::set_refusal(const http_error& error) {
  refusal_ = std::make_shared<const http_error>(error);
}

void request::throw_refusal() const {
  if (refusal_) throw *refusal_;
}

void request::set_body(std::string body) {
  body_ = std::move(body);
  json_.reset();
  form_.reset();
  files_.reset();
}

// The body and the view handed out, allocated together once; the view points into the value.
struct request::parsed_json {
  explicit parsed_json(nlohmann::json v) : value(std::move(v)), view(value) {}
  parsed_json(const parsed_json&) = delete;
  parsed_json& operator=(const parsed_json&) = delete;
  nlohmann::json value;
  json_view view;
};

const json_view& request::json() const {
  if (json_) return json_->view;
  throw_refusal();
  if (!is_json_mimetype(mimetype_)) {
    std::string got = mimetype_.empty() ? std::string("none") : "'" + printable(mimetype_) + "'";
    throw http_error(415, "expected Content-Type application/json, got " + got);
  }
  if (body_.size() > max_json_bytes_) {
    throw http_error(413, "JSON body of " + std::to_string(body_.size()) +
                              " bytes is larger than the limit of " +
                              std::to_string(max_json_bytes_) + " bytes");
  }
  if (body_.empty()) detail::bad_request("request body is empty; expected JSON");
  if (json_depth(body_, max_json_depth) > max_json_depth) {
    detail::bad_request("invalid JSON body: nested deeper than " + std::to_string(max_json_depth) +
                        " levels");
  }
  try {
    json_ = std::make_shared<const parsed_json>(nlohmann::json::parse(body_));
  } catch (const nlohmann::json::exception& e) {
    // A syntax error is a parse_error, a number too large for a double ("1e999") an
    // out_of_range: both are the client's. what() is "[json.exception.parse_error.101] parse
    // error at line 1, column 2: ..."; the bracketed id means nothing to a client.
    std::string_view what = e.what();
    if (auto close = what.find("] "); what.starts_with("[json.exception") && close != what.npos) {
      what.remove_prefix(close + 2);
    }
    detail::bad_request(printable("invalid JSON body: " + std::string(what)));
  }
  return json_->view;
}

void request::parse_form() const {
  auto fields = std::make_shared<multi_dict>();
  auto files = std::make_shared<std::vector<uploaded_file>>();
  if (mimetype_ == "application/x-www-form-urlencoded") {
    *fields = detail::parse_urlencoded(body_, "form field");
  } else if (mimetype_ == "multipart/form-data") {
    std::string boundary = multipart_boundary(headers_.get_or("Content-Type", {}));
    if (boundary.empty())
      detail::bad_request("multipart/form-data request has no valid boundary parameter");
    multipart_data data = parse_multipart(body_, boundary, form_limits_);
    *fields = std::move(data.fields);
    *files = std::move(data.files);
  }
  fields->set_noun("form field");
  form_ = std::move(fields);
  files_ = std::move(files);
}

const multi_dict& request::form() const {
  throw_refusal();
  if (!form_) parse_form();
  return *form_;
}

const std::vector<uploaded_file>& request::files() const {
  throw_refusal();
  if (!files_) parse_form();
  return *files_;
}

}  // namespace vial
