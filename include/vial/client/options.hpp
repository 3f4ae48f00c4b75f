#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

// The full definition, not json_fwd.hpp: `request_options` owns a JSON body. Every client header
// includes this one, so `client_response::json()` is usable wherever the client is.
#include <nlohmann/json.hpp>

#include "vial/http/headers.hpp"
#include "vial/http/multi_dict.hpp"

namespace vial {

/// How an `http_client` connects, pools and limits. Set with designated initializers:
/// `vial::http_client client({.pool_size_per_host = 256, .request_timeout = 5s});`
struct client_options {
  /// Connections kept open (idle or busy) per (scheme, host, port). Calls beyond this wait,
  /// in arrival order, up to `pool_wait_timeout`.
  std::size_t pool_size_per_host = 100;
  /// Calls one caller may have in flight at once, over all hosts (each holds at most one
  /// connection); its further calls wait their turn, in order, within their own deadline. The
  /// caller is the awaiting coroutine's execution context, which is one request in a handler
  /// (a blocking `fetch`: its thread). Keeps one wide fan-out from taking the whole pool;
  /// 0: no bound. docs/client.md has sizing advice.
  std::size_t max_connections_per_caller = 64;
  /// The longest wait for a connection while the host's pool is full; past it the call fails
  /// with `client_errc::pool_exhausted` (503 when unhandled) instead of queueing behind calls
  /// that may hold their connections for long.
  std::chrono::milliseconds pool_wait_timeout{5'000};
  /// An idle pooled connection is closed after this long.
  std::chrono::milliseconds idle_timeout{30'000};
  /// Resolving and connecting (and the TLS handshake) must finish within this.
  std::chrono::milliseconds connect_timeout{10'000};
  /// The longest silence while sending the request or reading the response.
  std::chrono::milliseconds read_timeout{30'000};
  /// The whole call, including waiting for a pooled connection and every redirect.
  std::chrono::milliseconds request_timeout{60'000};
  /// Larger response bodies fail with `client_errc::too_large`.
  std::size_t max_response_bytes = 64 * 1024 * 1024;
  /// More redirects than this fail with `client_errc::too_many_redirects`.
  int max_redirects = 10;
  /// Verify the server's certificate chain and host name (on unless you know why not).
  bool verify_tls = true;
  /// A PEM file of CAs to trust instead of the system store; empty: the system store.
  std::string ca_file{};
  /// Sent as User-Agent unless the request sets its own.
  std::string user_agent = "vial-client/0.1";
};

/// One name/value pair given inline, as views: `{"X-Request-Id", id}`.
struct field_view {
  std::string_view name;
  std::string_view value;
};

/// Name/value pairs for headers or query arguments, as views: up to `max_inline` pairs given
/// inline (`{{"X-A", "1"}, {"X-B", b}}`; an empty name ends the list), or a `vial::headers` or
/// `multi_dict` that outlives the call expression. No `std::initializer_list`: GCC 12 cannot
/// compile one inside a `co_await` expression ("array used as initializer").
class fields_view {
 public:
  static constexpr std::size_t max_inline = 8;

  constexpr fields_view() noexcept = default;
  constexpr fields_view(field_view f0, field_view f1 = {}, field_view f2 = {}, field_view f3 = {},
                        field_view f4 = {}, field_view f5 = {}, field_view f6 = {},
                        field_view f7 = {}) noexcept
      : inline_{f0, f1, f2, f3, f4, f5, f6, f7} {}
  fields_view(const vial::headers& h) noexcept : headers_(&h) {}
  fields_view(const multi_dict& d) noexcept : dict_(&d) {}

  /// Calls `f(name, value)` for every pair, in order.
  template <class F>
  void for_each(F&& f) const {
    if (headers_) {
      for (const auto& [name, value] : *headers_)
        f(std::string_view(name), std::string_view(value));
    } else if (dict_) {
      for (const auto& [name, value] : *dict_) f(std::string_view(name), std::string_view(value));
    } else {
      for (const auto& field : inline_) {
        if (field.name.empty()) break;
        f(field.name, field.value);
      }
    }
  }

 private:
  field_view inline_[max_inline]{};
  const vial::headers* headers_ = nullptr;
  const multi_dict* dict_ = nullptr;
};

/// A JSON value given by reference; null when unset.
class json_ref {
 public:
  constexpr json_ref() noexcept = default;
  json_ref(const nlohmann::json& value) noexcept : value_(&value) {}
  const nlohmann::json* get() const noexcept { return value_; }

 private:
  const nlohmann::json* value_ = nullptr;
};

/// Per-call settings as every call takes them: views, so they can be written inline, and
/// trivially destructible, so they are safe inside a `co_await` expression with GCC 12 (which
/// destroys aggregate temporaries there twice when they own memory; docs/design.md).
/// `co_await client.get(url, {.headers = {{"X-A", "1"}}, .json = body, .timeout = 2s})`.
/// The call copies what it needs before it returns the task, so the viewed strings and JSON
/// need only live until the end of the call expression. Unset optionals fall back to the
/// client's `client_options`. To build options step by step, use `request_options`, which
/// converts to this.
struct request_options_view {
  /// Extra request headers (a request's own Host, User-Agent or Content-Type win).
  fields_view headers{};
  /// Appended to the URL's query string, percent-encoded.
  fields_view query{};
  /// A raw body (Content-Type from `headers`, else application/octet-stream).
  std::optional<std::string_view> body{};
  /// A JSON body (Content-Type: application/json); used when `body` is unset.
  json_ref json{};
  /// Overrides `client_options::request_timeout` for this call.
  std::optional<std::chrono::milliseconds> timeout{};
  /// Overrides `client_options::max_response_bytes` for this call.
  std::optional<std::size_t> max_response_bytes{};
  /// Follow 301/302/303/307/308 (default true).
  bool follow_redirects = true;
};
static_assert(std::is_trivially_destructible_v<request_options_view>,
              "request_options_view must stay trivially destructible (GCC 12, design.md)");

/// Per-call settings that own their data, for building step by step:
/// `vial::request_options o; o.headers.add("X-A", "1"); co_await client.get(url, o);`.
/// Passed by name (or moved, or as `request_options()`), it converts to `request_options_view`.
/// Not an aggregate on purpose: `request_options{.timeout = 2s}` inside a `co_await` is the
/// form GCC 12 miscompiles, so it does not compile; write `{.timeout = 2s}` (the view) instead.
struct request_options {
  request_options() {}
  /// Owned copies of an inline form: `vial::request_options o({.timeout = 2s});`.
  explicit request_options(const request_options_view& view);

  /// Views of this object's members, valid while it lives unchanged.
  operator request_options_view() const noexcept;

  vial::headers headers{};
  multi_dict query{};
  std::optional<std::string> body{};
  std::optional<nlohmann::json> json{};
  std::optional<std::chrono::milliseconds> timeout{};
  std::optional<std::size_t> max_response_bytes{};
  bool follow_redirects = true;
};

}  // namespace vial
