#pragma once

#include <optional>
#include <stop_token>
#include <string>

namespace vial {

/// A response body produced piece by piece; the server sends it with chunked encoding and
/// flushes each piece as it is produced. Build one with `vial::stream` / `vial::event_stream`
/// (app/stream.hpp) rather than deriving from this directly.
class body_stream {
 public:
  virtual ~body_stream() = default;
  /// True when chunks come from a coroutine (`async_body_stream`); the server then drives it
  /// as a coroutine instead of calling `next()`.
  virtual bool is_async() const noexcept { return false; }
  /// The next chunk, or nullopt at the end. Sync streams only; may block (it runs on a worker,
  /// off the connection's strand, so the server notices a client that leaves meanwhile).
  virtual std::optional<std::string> next() = 0;
  /// The client went away or the server is stopping: stop producing and release resources.
  /// Called at most once, never concurrently with `next()` (after it returns, if it runs).
  virtual void close() noexcept {}

  /// Asks the producer to stop: the client left, or the server is stopping. Safe from any
  /// thread, including while `next()` runs: nothing can interrupt a `next()` that blocks, so
  /// the server says so through this token as soon as it knows, and the producer polls it or
  /// waits on it (`std::condition_variable_any::wait(lock, token, pred)`).
  void request_stop() noexcept { stop_.request_stop(); }
  std::stop_token stop_token() const noexcept { return stop_.get_token(); }

 private:
  std::stop_source stop_;
};

/// One server-sent event. Multi-line data is split into several `data:` lines.
struct sse_event {
  // Every member has an initializer so `{.data = ...}` does not warn under GCC 12's -Wextra.
  std::string data{};
  std::string event{};  ///< `event:` field, omitted when empty
  std::string id{};     ///< `id:` field, omitted when empty
  std::optional<int> retry_ms{};
};

/// The event's wire form, ending with the blank line that dispatches it. CR and LF inside
/// `event` and `id` are removed so a field can never inject another.
std::string format_sse(const sse_event& e);

}  // namespace vial
