#pragma once

// Waiting for an effect that happens on another thread (a server's I/O thread, the blocking
// pool): for effects only, never for readiness, which tests learn from the server itself.

#include <chrono>
#include <thread>

namespace vial::test {

/// Polls `done` until it holds or `limit` passes; false on the deadline. The limit is generous
/// because sanitizer builds on a loaded machine run several times slower.
template <class F>
bool eventually(F done, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

}  // namespace vial::test
