#pragma once

// The app and helpers shared by the server tests.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "vial/app.hpp"
#include "vial/async/timeout.hpp"
#include "vial/server.hpp"

namespace vial::test {

/// A latch a handler blocks on until the test opens it, counting who arrived.
struct handler_gate {
  std::mutex mutex;
  std::condition_variable cv;
  int entered = 0;
  bool open = false;

  void arrive_and_wait() {
    std::unique_lock lock(mutex);
    ++entered;
    cv.notify_all();
    cv.wait_for(lock, std::chrono::seconds(10), [&] { return open; });
  }
  bool wait_entered(int n, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    std::unique_lock lock(mutex);
    return cv.wait_for(lock, limit, [&] { return entered >= n; });
  }
  void release() {
    std::lock_guard lock(mutex);
    open = true;
    cv.notify_all();
  }
};

/// Records whether the server closed it; emits "tick N" every 20 ms forever.
struct ticking_stream final : async_body_stream {
  explicit ticking_stream(std::shared_ptr<std::atomic<bool>> closed) : closed_(std::move(closed)) {}
  task<std::optional<std::string>> next_async() override {
    if (n_ > 0) co_await sleep_for(std::chrono::milliseconds(20));
    co_return "tick " + std::to_string(n_++) + "\n";
  }
  void close() noexcept override { closed_->store(true); }
  std::shared_ptr<std::atomic<bool>> closed_;
  int n_ = 0;
};

struct test_state {
  handler_gate gate;
  std::shared_ptr<std::atomic<bool>> stream_closed = std::make_shared<std::atomic<bool>>(false);
};

inline route_options upload_options() {
  route_options o;
  o.max_body_bytes = 1024 * 1024;
  return o;
}

inline void add_test_routes(vial::app& a, test_state& state) {
  a.get("/hello", [](const request&) { return std::string("hello"); });
  a.get("/hello-async", [](const request&) -> task<std::string> { co_return "hello async"; });
  a.post("/echo", [](const request& r) { return response::text(r.body()); });
  a.post(
      "/upload", [](const request& r) { return response::text(std::to_string(r.body().size())); },
      upload_options());
  a.get("/big", [](const request&) { return response::text(std::string(32 * 1024 * 1024, 'x')); });
  a.get("/nothing", [](const request&) { return response("", 204); });
  a.get("/slow", [](const request&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return std::string("slow done");
  });
  // In flight when a graceful stop begins: waits (up to 10 s) for the stop, then works 50 ms.
  a.get("/slow-in-stop", [&a](const request&) {
    for (int i = 0; i < 1000 && !a.is_draining(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return std::string("slow done");
  });
  a.get("/block", [&state](const request&) {
    state.gate.arrive_and_wait();
    return std::string("unblocked");
  });
  a.get("/stream", [](const request&) {
    return stream([n = 0]() mutable -> std::optional<std::string> {
      if (n == 3) return std::nullopt;
      return "chunk" + std::to_string(n++) + ";";
    });
  });
  a.get("/ticks", [&state](const request&) {
    return response::from_stream(std::make_shared<ticking_stream>(state.stream_closed));
  });
  a.get("/events", [](const request&) {
    return event_stream([n = 0]() mutable -> std::optional<sse_event> {
      if (n == 2) return std::nullopt;
      return sse_event{.data = "event " + std::to_string(n++)};
    });
  });
}

}  // namespace vial::test
