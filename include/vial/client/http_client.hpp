#pragma once

#include <concepts>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "vial/async/task.hpp"
#include "vial/client/error.hpp"
#include "vial/client/options.hpp"
#include "vial/client/response.hpp"
#include "vial/http/method.hpp"

namespace vial {

class metrics_writer;

/// An outbound HTTP/1.1 client with keep-alive connection pools, deadlines and TLS: vial's
/// aiohttp.ClientSession. Create one per application (or per upstream) and share it.
///
/// The client owns one I/O thread and its own io_context. Connections, DNS and TLS all live
/// there, so pooled connections survive the request that opened them: a handler's coroutine
/// runs on a private per-request context, awaits the call, and the connection goes back to the
/// pool for the next request on any worker. Calls resume the caller on its own executor.
///
/// Failures throw `client_error` (502 when unhandled in a handler); deadlines throw
/// `vial::timeout_error` (504). Cancelling the awaiting coroutine (`with_timeout`, a failed
/// `gather` sibling) cancels the call, and its connection is closed rather than pooled.
///
/// Distinct objects: safe. Shared objects: safe (every member may be called from any thread).
/// Destroying the client cancels calls still in flight; they fail with `operation_aborted`.
class http_client {
 public:
  explicit http_client(client_options options = {});
  ~http_client();
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  /// Sends `m` to `url` (http:// or https://) and reads the whole response.
  ///
  /// Safe in natural code with GCC 12 too: `co_await client.get(base + path, {.timeout = 2s})`,
  /// inside `gather(...)` or `with_timeout(...)`. These are plain functions that copy the URL
  /// and the options into the task before returning it, so the arguments (and temporaries in
  /// the call expression) need not outlive the call. Named options: pass a `request_options`.
  task<client_response> request(method m, std::string_view url, request_options_view options = {});
  task<client_response> get(std::string_view url, request_options_view options = {});
  task<client_response> head(std::string_view url, request_options_view options = {});
  task<client_response> post(std::string_view url, request_options_view options = {});
  /// POSTs `body` as application/json. (A template only so that a braced list, which could
  /// build a JSON value too, picks the overload above: `post(url, {.body = b})`.)
  template <std::same_as<nlohmann::json> Json>
  task<client_response> post(std::string_view url, const Json& body,
                             request_options_view options = {}) {
    return post_json(url, body, options);
  }
  task<client_response> put(std::string_view url, request_options_view options = {});
  task<client_response> patch(std::string_view url, request_options_view options = {});
  task<client_response> delete_(std::string_view url, request_options_view options = {});

  /// The blocking form, for plain code: a sync handler, a test, a CLI. It runs the call on the
  /// client's own thread and waits for it, so it works from any thread, including a sync
  /// function called from inside a coroutine (where `async_to_sync` throws `bridge_error`).
  /// It blocks the calling thread: inside a coroutine prefer `co_await request(...)`.
  /// @throws std::logic_error when called from the client's own thread (it would deadlock).
  client_response fetch(method m, std::string_view url, request_options_view options = {});
  /// `fetch(method::get, url, options)`.
  client_response get_sync(std::string_view url, request_options_view options = {});

  const client_options& options() const noexcept;
  /// Connections opened since construction (TCP connects; a reused connection is not counted).
  std::size_t connections_opened() const noexcept;
  /// Requests written to the wire, including retries and redirects.
  std::size_t requests_sent() const noexcept;
  /// Connections idle in the pools right now.
  std::size_t idle_connections() const noexcept;
  /// Adds this client's pool samples, labelled `client="<name>"`, to a scrape: connections
  /// open and idle, opened, requests, reused, errors. For `metrics_options::collect`:
  /// `[&client](vial::metrics_writer& out) { client.write_metrics(out); }`.
  void write_metrics(metrics_writer& out, std::string_view name = "default") const;

 private:
  task<client_response> post_json(std::string_view url, const nlohmann::json& body,
                                  request_options_view options);

  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace vial
