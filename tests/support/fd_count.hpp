#pragma once

// Counting this process's open descriptors, to prove that a fault left no socket behind.

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>
#include <system_error>
#include <thread>

namespace vial::test {

/// Open sockets of this process (entries of /proc/self/fd that link to "socket:[...]").
inline std::size_t open_sockets() {
  std::size_t n = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    auto target = std::filesystem::read_symlink(entry.path(), ec);
    if (!ec && target.native().starts_with("socket:")) ++n;
  }
  return n;
}

/// Waits until at most `n` sockets are open; false when there are still more after `limit`.
/// Closing is asynchronous (the server notices a peer's FIN on its I/O thread), hence the poll.
inline bool wait_for_sockets_at_most(std::size_t n,
                                     std::chrono::milliseconds limit = std::chrono::seconds(3)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    if (open_sockets() <= n) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace vial::test
