#pragma once

#include <stdexcept>
#include <string>

namespace vial {

/// `async_to_sync` was called where it cannot work: from inside a coroutine that is being
/// driven on this thread. `co_await` the task instead. Thrown at once; it never deadlocks.
class bridge_error : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

/// A deadline passed (`with_timeout`, client deadlines). The work it guarded was cancelled.
/// Unhandled in a request, it becomes 504 Gateway Timeout.
class timeout_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Work was refused because a bounded queue was full (`to_thread` on a saturated
/// `blocking_pool`). Nothing of the work ran. Unhandled in a request, it becomes
/// 503 Service Unavailable with `Retry-After: 1`.
class overload_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace vial
