#pragma once

// Request ids (internal): made or checked by app::dispatch, read by the logger and by the HTTP
// client for the request a thread is handling.

#include <string>
#include <string_view>

namespace vial {
class request;
class response;
}  // namespace vial

namespace vial::detail {

/// The longest X-Request-Id taken from a trusted proxy.
inline constexpr std::size_t max_request_id_bytes = 128;

/// True when `id` can be taken from a header and written into logs and headers as it is:
/// 1 to 128 bytes of letters, digits and `-_.:+/=@`.
bool is_valid_request_id(std::string_view id) noexcept;

/// A new id: 32 lowercase hex digits, unique per process and thread (a random 64-bit prefix
/// drawn once per thread, then a mixed counter). No system call after a thread's first.
std::string generate_request_id();

/// The id of the request being dispatched on this thread, or empty. The one place a call
/// learns its request: a bridged coroutine runs on the dispatching thread, so a thread-local
/// is exact for it. Code running a request elsewhere (an event loop interleaving requests on
/// one thread) must set its own `request_id_scope` around each resumption, or extend this.
std::string_view current_request_id() noexcept;

/// Sets `X-Request-Id: <req.id()>` on `res` unless the handler set one.
void set_request_id_header(response& res, const request& req);

/// Makes `id` the current request id on this thread; returns the one it replaces. For code
/// that interleaves requests on one thread (an event loop's request scope, per resumption).
std::string_view exchange_current_request_id(std::string_view id) noexcept;

/// Makes `id` the current request id on this thread until destroyed (nests).
class request_id_scope {
 public:
  explicit request_id_scope(std::string_view id) noexcept;
  ~request_id_scope();
  request_id_scope(const request_id_scope&) = delete;
  request_id_scope& operator=(const request_id_scope&) = delete;

 private:
  std::string_view previous_;
};

}  // namespace vial::detail
