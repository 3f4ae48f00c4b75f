#pragma once

#include <cstdint>

#include "vial/async/bridge_options.hpp"
#include "vial/async/error.hpp"
#include "vial/async/task.hpp"
#include "vial/detail/bridge.hpp"

namespace vial {

// In the bridge path's inline namespace: see vial/detail/bridge_state.hpp.
inline namespace VIAL_BRIDGE_NAMESPACE {

/// Drives `t` to completion on this thread's private io_context and returns its value or
/// rethrows its exception: Flask's async_to_sync, without a thread or an event loop per call.
///
/// Guarantees:
/// - No thread is created; the private context is reused from call to call.
/// - Work the task spawned and did not await (a detached coroutine, a pending timer) is
///   cancelled and destroyed before this returns, and a warning names `options.label`.
///   Nothing survives into the next call. Work that must outlive the call belongs on a
///   `background_executor`.
/// - Called while a bridge run is active on this thread (from inside a coroutine it drives),
///   it throws `bridge_error` at once instead of deadlocking.
template <class T>
T async_to_sync(task<T> t, const bridge_options& options = {});

}  // namespace VIAL_BRIDGE_NAMESPACE

/// True while an `async_to_sync` run is active on the calling thread.
bool in_bridge() noexcept;

/// Coroutine runs (bridged or on the event loop) that finished with work still pending, which
/// was cancelled, since the process started: a count for metrics; each is also logged.
std::uint64_t cancelled_leftovers() noexcept;

inline namespace VIAL_BRIDGE_NAMESPACE {

template <class T>
T async_to_sync(task<T> t, const bridge_options& options) {
  return detail::bridge_call([&t]() -> task<T> { return std::move(t); }, options);
}

}  // namespace VIAL_BRIDGE_NAMESPACE

}  // namespace vial
