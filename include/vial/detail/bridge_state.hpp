#pragma once

// What both ways of running a bridge share (vial/detail/bridge.hpp picks one): the choice
// itself, the per-thread state every run reads, and the outcome of a task.

#include <atomic>
#include <cstdint>
#include <exception>
#include <optional>
#include <utility>

#include <boost/version.hpp>

#include "vial/async/bridge_options.hpp"

/// The Boost releases whose Asio internals the bridge's fast path was verified against: it
/// reaches private members and copies Asio's pump loop (docs/design.md, "The bridge's Asio
/// internals are fenced"). Outside this range the portable path, public Asio API only, is used.
#define VIAL_BRIDGE_VERIFIED_BOOST_MIN 108100
#define VIAL_BRIDGE_VERIFIED_BOOST_MAX 108199

#if BOOST_VERSION >= VIAL_BRIDGE_VERIFIED_BOOST_MIN && \
    BOOST_VERSION <= VIAL_BRIDGE_VERIFIED_BOOST_MAX
#define VIAL_BRIDGE_FAST_PATH_VERIFIED 1
#else
#define VIAL_BRIDGE_FAST_PATH_VERIFIED 0
#endif

/// Defined to 1 (CMake option VIAL_BRIDGE_PORTABLE) to use the portable path on any Boost.
#ifndef VIAL_BRIDGE_PORTABLE
#define VIAL_BRIDGE_PORTABLE 0
#endif

#if VIAL_BRIDGE_FAST_PATH_VERIFIED && !VIAL_BRIDGE_PORTABLE
#define VIAL_BRIDGE_FAST_PATH 1
#else
#define VIAL_BRIDGE_FAST_PATH 0
#endif

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace vial {

namespace detail {

/// What every run reads and writes, in a trivially constructible thread-local so that
/// reaching it is a plain TLS access. The objects it points to (this thread's context, its
/// frame cache) are set up by the thread's first run, in src/async/bridge.cpp.
struct bridge_hot_state {
  /// The private context's count of outstanding work (fast path only); null until this
  /// thread's first fast run, and again after a run left work behind and the context was
  /// dropped.
  const std::atomic<long>* outstanding_work = nullptr;
  /// Changes whenever the context is replaced, so state tied to the old one knows it is stale.
  std::uint64_t generation = 0;
  bool active = false;
  blocking_pool* pool = nullptr;  // the active run's; meaningless while none is
  // Asio's per-thread frame cache and the key under which the fast path puts it on Asio's
  // thread call stack.
  void* frame_memory = nullptr;
  void* call_stack_key = nullptr;
};

extern thread_local constinit bridge_hot_state bridge_state;

[[noreturn]] void throw_nested_bridge();

/// This thread's private context, created on first use.
boost::asio::io_context& bridge_context();
/// Drops this thread's context with whatever is pending in it, after a run that left work
/// behind; the next run starts a new one.
void drop_bridge_context() noexcept;
/// Runs the context's ready handlers, waiting when there are none, until `done` is set.
/// @throws bridge_error when the context runs out of work first.
void run_bridge_until(const bool& done, const bridge_options& options);
/// Warns through the run's logger that the run left work behind.
void warn_bridge_leftovers(const bridge_options& options) noexcept;

/// Where a run leaves the outcome of a task that suspended, and take() empties it for the next
/// run.
template <class T>
struct bridge_outcome {
  bool done = false;
  std::exception_ptr error;
  std::optional<T> value;

  T take() {
    if (error) std::rethrow_exception(std::exchange(error, nullptr));
    T result = std::move(*value);
    value.reset();
    return result;
  }
};

template <>
struct bridge_outcome<void> {
  bool done = false;
  std::exception_ptr error;

  void take() {
    if (error) std::rethrow_exception(std::exchange(error, nullptr));
  }
};

}  // namespace detail

}  // namespace vial

// The two paths' templates live in inline namespaces of their own, so that a program which
// mixes them (the portable path's tests link the library built with the fast one) keeps one
// definition of each.
#if VIAL_BRIDGE_FAST_PATH
#define VIAL_BRIDGE_NAMESPACE bridge_fast
#else
#define VIAL_BRIDGE_NAMESPACE bridge_portable
#endif
