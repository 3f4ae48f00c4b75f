#pragma once

#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "vial/async/task.hpp"
#include "vial/http/response.hpp"
#include "vial/http/stream.hpp"

namespace vial {

/// A body stream whose chunks come from a coroutine. The server awaits `next_async()` on its
/// own I/O context, so a stream that waits between chunks holds no worker thread.
class async_body_stream : public body_stream {
 public:
  bool is_async() const noexcept final { return true; }
  /// Drives `next_async()` through `async_to_sync` (tests, sync callers).
  std::optional<std::string> next() final;
  /// The next chunk, or nullopt at the end.
  virtual task<std::optional<std::string>> next_async() = 0;
};

namespace detail {

// Calls g(stop) when the generator takes the stream's stop token, else g().
template <class G>
decltype(auto) invoke_generator(G& g, std::stop_token stop) {
  if constexpr (std::is_invocable_v<G&, std::stop_token>) {
    return g(std::move(stop));
  } else {
    return g();
  }
}

template <class G>
using generator_result_t =
    std::conditional_t<std::is_invocable_v<G&, std::stop_token>,
                       std::invoke_result<G&, std::stop_token>, std::invoke_result<G&>>;

template <class G>
class sync_generator_stream final : public body_stream {
 public:
  explicit sync_generator_stream(G g) : g_(std::move(g)) {}
  std::optional<std::string> next() override {
    return closed_ ? std::nullopt : invoke_generator(g_, stop_token());
  }
  void close() noexcept override { closed_ = true; }

 private:
  G g_;
  bool closed_ = false;
};

template <class G>
class async_generator_stream final : public async_body_stream {
 public:
  explicit async_generator_stream(G g) : g_(std::move(g)) {}
  // The generator lives in this object, so a coroutine lambda's captures outlive every chunk.
  task<std::optional<std::string>> next_async() override {
    if (closed_) co_return std::nullopt;
    auto op = invoke_generator(g_, stop_token());
    co_return co_await std::move(op);
  }
  void close() noexcept override { closed_ = true; }

 private:
  G g_;
  bool closed_ = false;
};

template <class G>
std::shared_ptr<body_stream> make_body_stream(G g) {
  static_assert(std::is_invocable_v<G&> || std::is_invocable_v<G&, std::stop_token>,
                "this callable does not take the arguments of its slot: a stream generator is "
                "called as g() or g(std::stop_token) and returns std::optional<std::string> or "
                "vial::task<std::optional<std::string>>");
  using R = typename generator_result_t<G>::type;
  if constexpr (is_task_v<R>) {
    static_assert(std::is_same_v<task_value_t<R>, std::optional<std::string>>,
                  "a coroutine stream generator returns task<std::optional<std::string>>");
    return std::make_shared<async_generator_stream<G>>(std::move(g));
  } else {
    static_assert(std::is_same_v<R, std::optional<std::string>>,
                  "a stream generator returns std::optional<std::string> (nullopt ends it)");
    return std::make_shared<sync_generator_stream<G>>(std::move(g));
  }
}

}  // namespace detail

/// A streaming response from a generator: a callable returning the next chunk as
/// `std::optional<std::string>` (nullopt ends the stream), or a coroutine returning
/// `task<std::optional<std::string>>`. Each chunk is sent and flushed as soon as it exists;
/// when the client goes away the generator is closed and destroyed.
///
/// A generator may take a `std::stop_token` (`g(std::stop_token)`): it is stopped when the
/// client leaves or the server stops, so a sync generator that waits between chunks can wait
/// on it and return at once (a blocking call that ignores it holds its worker until it returns;
/// the server calls it no more afterwards).
template <class G>
response stream(G generator, std::string_view content_type = "text/plain; charset=utf-8") {
  return response::from_stream(detail::make_body_stream(std::move(generator)), content_type);
}

/// A `text/event-stream` response (server-sent events) from a generator of `sse_event`s:
/// `std::optional<sse_event>()` or `task<std::optional<sse_event>>()`.
template <class G>
response event_stream(G generator) {
  static_assert(std::is_invocable_v<G&> || std::is_invocable_v<G&, std::stop_token>,
                "this callable does not take the arguments of its slot: an event_stream "
                "generator is called as g() or g(std::stop_token) and returns "
                "std::optional<vial::sse_event> or vial::task<std::optional<vial::sse_event>>");
  using R = typename detail::generator_result_t<G>::type;
  response r;
  if constexpr (is_task_v<R>) {
    static_assert(std::is_same_v<task_value_t<R>, std::optional<sse_event>>,
                  "a coroutine event_stream generator returns "
                  "vial::task<std::optional<vial::sse_event>> (nullopt ends the stream)");
    r = stream(
        [g = std::move(generator)](
            std::stop_token stop) mutable -> task<std::optional<std::string>> {
          auto op = detail::invoke_generator(g, stop);
          auto e = co_await std::move(op);
          if (!e) co_return std::nullopt;
          co_return format_sse(*e);
        },
        "text/event-stream");
  } else {
    static_assert(std::is_same_v<R, std::optional<sse_event>>,
                  "an event_stream generator returns std::optional<vial::sse_event> (nullopt "
                  "ends the stream)");
    r = stream(
        [g = std::move(generator)](std::stop_token stop) mutable -> std::optional<std::string> {
          auto e = detail::invoke_generator(g, stop);
          if (!e) return std::nullopt;
          return format_sse(*e);
        },
        "text/event-stream");
  }
  r.set_header("Cache-Control", "no-cache");
  r.set_header("X-Accel-Buffering", "no");  // nginx: do not buffer the stream
  return r;
}

}  // namespace vial
