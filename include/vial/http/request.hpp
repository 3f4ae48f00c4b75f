#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <typeinfo>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "vial/http/headers.hpp"
#include "vial/http/method.hpp"
#include "vial/http/multi_dict.hpp"
#include "vial/http/multipart.hpp"
#include "vial/http/path_params.hpp"

namespace vial {

class http_error;
class json_view;
namespace detail {
struct request_access;
}

/// One HTTP request as the application sees it: everything is parsed and decoded once, when it
/// is built, except the body's JSON and form data, which are parsed on first use.
/// A request is handled by one thread at a time. Distinct objects: safe. Shared objects: unsafe.
class request {
 public:
  request() = default;
  /// Builds a request from its wire parts. `target` is the request-target as sent
  /// ("/a%20b?x=1"). Throws `http_error` 400 when the target is not origin-form or its path or
  /// query holds a malformed escape or invalid UTF-8.
  request(std::string_view method, std::string_view target, vial::headers headers = {},
          std::string body = {});
  /// Builds a request from its wire parts without throwing for a malformed target: the
  /// `http_error` the constructor would throw becomes `refusal()`, and what could not be parsed
  /// is left empty (the path is "" when it is malformed, and matches no route). The server and
  /// the test client build requests this way, so that the app answers them through its hooks
  /// and error handlers.
  static request refused_or_valid(std::string_view method, std::string_view target,
                                  vial::headers headers = {}, std::string body = {});

  vial::method method() const noexcept { return method_; }
  /// The method token as sent ("GET", "PROPFIND").
  std::string_view method_name() const noexcept { return method_name_; }
  /// The raw request-target, as sent.
  std::string_view target() const noexcept { return target_; }
  /// The percent-decoded path ("/a b").
  std::string_view path() const noexcept { return path_; }
  /// The raw query string without '?'.
  std::string_view query_string() const noexcept { return query_string_; }
  /// Decoded query arguments, multi-valued and in order.
  const multi_dict& args() const noexcept { return args_; }
  const vial::headers& headers() const noexcept { return headers_; }
  /// The first value of header `name`, if any.
  std::optional<std::string_view> header(std::string_view name) const noexcept {
    return headers_.get(name);
  }
  /// Cookies from the Cookie header(s).
  const multi_dict& cookies() const noexcept { return cookies_; }
  const std::string& body() const noexcept { return body_; }
  /// Replaces the body, dropping JSON and form data parsed from the old one. (The server builds
  /// the request when its header has arrived and sets the body once it has been read.)
  void set_body(std::string body);
  /// The media type of the body without parameters, lower-cased ("application/json").
  std::string_view mimetype() const noexcept { return mimetype_; }
  /// Why this request must be refused (a malformed query, a body over the limit), or null.
  /// Dispatch answers it in place of the handler, through the app's hooks and error handlers;
  /// `json()`, `form()` and `files()` throw it.
  const http_error* refusal() const noexcept { return refusal_.get(); }
  void set_refusal(const http_error& error);
  /// HTTP version as major*10+minor (11 for HTTP/1.1).
  int version() const noexcept { return version_; }

  /// Deepest nesting of arrays and objects `json()` accepts. nlohmann::json copies and dumps
  /// recursively, so an unbounded depth would let a client overflow the stack.
  static constexpr std::size_t max_json_depth = 512;
  /// The default for `max_json_bytes()`: 1 MiB. Parsed JSON takes up to ~10-20 times its
  /// size in memory (docs/design.md), so JSON bodies get a lower limit than other bodies.
  static constexpr std::size_t default_max_json_bytes = 1024 * 1024;
  /// The longest body `json()` parses; 413 past it. Dispatch sets it from `route_options` or
  /// `app_options`.
  std::size_t max_json_bytes() const noexcept { return max_json_bytes_; }
  void set_max_json_bytes(std::size_t limit) noexcept { max_json_bytes_ = limit; }

  /// The body parsed as JSON, parsed once on first use, as a view whose reads answer a
  /// client's mistake with 400 (`req.json()["title"]` on a body without it: "missing field
  /// 'title'"). Include <vial/http/json.hpp> (or <vial/vial.hpp>) to use it.
  /// Throws `http_error` 415 when the Content-Type is not JSON (application/json or any
  /// `+json` type), 413 when the body is longer than `max_json_bytes()`, and 400 with the
  /// parse position when the body is empty, not valid JSON or nested deeper than
  /// `max_json_depth`.
  const json_view& json() const;

  /// Form fields of an application/x-www-form-urlencoded or multipart/form-data body, parsed on
  /// first use; empty for other content types. Throws `http_error` 400 on malformed data
  /// and 413 when a part exceeds `form_limits`.
  const multi_dict& form() const;
  /// Uploaded files of a multipart/form-data body (parsed with `form()`).
  const std::vector<uploaded_file>& files() const;
  /// Limits applied when `form()` parses multipart data.
  void set_form_limits(const multipart_limits& limits) noexcept { form_limits_ = limits; }

  /// The client's address: the peer's ("127.0.0.1:53122"), or behind trusted proxies the one
  /// they forwarded ("203.0.113.7", see `proxy_options`); empty for in-process requests.
  std::string_view remote_address() const noexcept { return remote_address_; }
  void set_remote_address(std::string address) { remote_address_ = std::move(address); }
  /// "http", or what trusted proxies forwarded ("https" behind TLS termination).
  std::string_view scheme() const noexcept { return scheme_; }
  void set_scheme(std::string scheme) { scheme_ = std::move(scheme); }
  /// True when the client's connection is https (to the proxy, behind one).
  bool is_secure() const noexcept { return scheme_ == "https"; }
  /// The host the client asked for ("example.com:8443"): the Host header, or what trusted
  /// proxies forwarded; empty when neither is known.
  std::string_view host() const noexcept;
  void set_host(std::string host) { host_ = std::move(host); }
  /// The path the app is mounted under, without a trailing slash ("/api"), set from
  /// X-Forwarded-Prefix by trusted proxies; empty when the app is at the root. `path()` is
  /// relative to it, and `app::url_for(req, ...)` puts it in front.
  std::string_view script_root() const noexcept { return script_root_; }
  void set_script_root(std::string root) { script_root_ = std::move(root); }
  /// "scheme://host/script_root/": the root of the app's URLs as the client sees them.
  std::string url_root() const;
  /// This request's id, for logs and for calls it makes to other services: a trusted
  /// X-Request-Id, else one generated by the app (see `app_options::proxy`). Empty before
  /// dispatch.
  std::string_view id() const noexcept { return id_; }
  void set_id(std::string id) { id_ = std::move(id); }

  /// Parameters bound from the matched rule, in rule order (set by routing).
  const path_params& params() const noexcept { return params_; }
  /// The endpoint name of the matched route (Flask's `request.endpoint`): `route_options::endpoint`
  /// or the rule, "bp.endpoint" in a blueprint. Set by routing; empty before it, on a miss
  /// (404, 405, automatic OPTIONS) and for a request no app has routed.
  std::string_view endpoint() const noexcept { return endpoint_; }

  /// Per-request storage, one slot per type (Flask's `g`): hooks put data here for the handler
  /// and for later hooks. `g<T>()` default-constructs the slot on first use.
  template <class T>
  T& g();
  /// The slot for `T`, or nullptr when nothing was stored.
  template <class T>
  T* find_g() const noexcept;

 private:
  friend struct detail::request_access;
  struct slot {
    const std::type_info* type;
    std::shared_ptr<void> value;
  };
  struct parsed_json;
  request(std::string_view method, std::string_view target, vial::headers headers, std::string body,
          bool keep_refusal);
  void parse_target(std::string_view target);
  void parse_form() const;
  void throw_refusal() const;

  vial::method method_ = vial::method::get;
  std::string method_name_ = "GET";
  std::string target_ = "/";
  std::string path_ = "/";
  std::string query_string_;
  multi_dict args_;
  vial::headers headers_;
  multi_dict cookies_;
  std::string body_;
  std::string mimetype_;
  int version_ = 11;
  std::string remote_address_;
  std::string scheme_ = "http";
  std::optional<std::string> host_;  // overrides the Host header
  std::string script_root_;
  std::string id_;
  path_params params_;
  std::string endpoint_;
  multipart_limits form_limits_;
  std::size_t max_json_bytes_ = default_max_json_bytes;
  std::vector<slot> slots_;
  // Parsed lazily; shared so that request stays copyable with nlohmann::json incomplete here.
  std::shared_ptr<const http_error> refusal_;
  mutable std::shared_ptr<const parsed_json> json_;
  mutable std::shared_ptr<const multi_dict> form_;
  mutable std::shared_ptr<const std::vector<uploaded_file>> files_;
};

template <class T>
T& request::g() {
  if (T* found = find_g<T>()) return *found;
  auto value = std::make_shared<T>();
  T& ref = *value;
  slots_.push_back(slot{&typeid(T), std::move(value)});
  return ref;
}

template <class T>
T* request::find_g() const noexcept {
  for (const auto& s : slots_) {
    if (*s.type == typeid(T)) return static_cast<T*>(s.value.get());
  }
  return nullptr;
}

}  // namespace vial
