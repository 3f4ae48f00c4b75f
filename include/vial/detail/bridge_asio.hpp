#pragma once

// The bridge's fast path, not API: how a run enters this thread's private context, and the
// coroutine at the bottom of every run. Selected by vial/detail/bridge.hpp only on the Boost
// releases it was verified against (VIAL_BRIDGE_VERIFIED_BOOST_MIN/MAX): it reaches Asio's
// private members and copies the meaning of its pump loop, which a newer Asio could change
// without failing to compile.
//
// A run costs what a task that never suspends needs and little more: no scheduler operation,
// no lock, no heap allocation, no coroutine frame but the task's own, and no resumption but
// the task's. docs/design.md ("The bridge keeps a parked root coroutine per thread") has the
// measurements and the trade-offs.

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/cancellation_state.hpp>
#include <boost/asio/detail/call_stack.hpp>
#include <boost/asio/detail/thread_context.hpp>
#include <boost/asio/detail/thread_info_base.hpp>

#include "vial/async/bridge_options.hpp"
#include "vial/async/task.hpp"
#include "vial/detail/bridge_state.hpp"

namespace vial::detail {

inline namespace bridge_fast {

/// Sets up this thread's fast-path state (first run, or after the context was dropped).
void start_bridge_thread();

/// One bridge run on the calling thread: enters the private context (or throws bridge_error),
/// and on exit destroys whatever the run left behind. The common case, a task that completed
/// without suspending and left nothing behind, is inline.
class bridge_run {
 public:
  /// `options` must outlive the run.
  explicit bridge_run(const bridge_options& options)
      : state_(enter()),
        options_(&options),
        frame_cache_(static_cast<boost::asio::detail::thread_context*>(state_.call_stack_key),
                     *static_cast<boost::asio::detail::thread_info_base*>(state_.frame_memory)) {
    state_.active = true;
    state_.pool = options.pool;
  }

  ~bridge_run() {
    state_.active = false;
    // Whatever the task spawned and did not await is still counted as outstanding work.
    if (entered_ || state_.outstanding_work->load(std::memory_order_acquire) != 0) finish();
  }

  bridge_run(const bridge_run&) = delete;
  bridge_run& operator=(const bridge_run&) = delete;

  const boost::asio::any_io_executor& executor() const noexcept;
  std::uint64_t generation() const noexcept { return state_.generation; }
  /// Runs ready handlers, waiting when there are none, until `done` is set.
  void run_until(const bool& done) {
    entered_ = true;
    run_bridge_until(done, *options_);
  }

 private:
  using asio_call_stack = boost::asio::detail::call_stack<boost::asio::detail::thread_context,
                                                          boost::asio::detail::thread_info_base>;

  static bridge_hot_state& enter() {
    bridge_hot_state& state = bridge_state;
    if (state.active) throw_nested_bridge();
    if (!state.outstanding_work) start_bridge_thread();
    return state;
  }

  /// Resets a context the run entered, or drops one it left work in (with a warning).
  void finish() noexcept;

  bridge_hot_state& state_;
  const bridge_options* options_;
  bool entered_ = false;
  // Asio allocates coroutine frames and handlers from a per-thread cache only while something
  // is on its thread call stack. A run starts outside io_context::run, so for its duration it
  // puts this thread's cache there; otherwise every frame would be a heap allocation.
  asio_call_stack::context frame_cache_;
};

using root_frame = boost::asio::awaitable<boost::asio::detail::awaitable_thread_entry_point,
                                          boost::asio::any_io_executor>;
using root_promise =
    boost::asio::detail::awaitable_frame<boost::asio::detail::awaitable_thread_entry_point,
                                         boost::asio::any_io_executor>;
using frame_base = boost::asio::detail::awaitable_frame_base<boost::asio::any_io_executor>;
using awaitable_thread = boost::asio::detail::awaitable_thread<boost::asio::any_io_executor>;

/// Asio's "thread" of stacked coroutine frames, with a bottom frame (the root) that stays
/// between runs. The root is parked while this object holds it; while a suspended task's
/// completion handler holds it instead, the root is out.
class root_thread : public awaitable_thread {
 public:
  using awaitable_thread::awaitable_thread;
  root_thread(const root_thread&) = delete;
  root_thread& operator=(const root_thread&) = delete;
  // Asio destroys an unfinished thread by posting to its executor; a parked root is
  // destroyed here and now, because its context may already be gone.
  ~root_thread();

  bool parked() const noexcept { return this->bottom_of_stack_.valid(); }

  /// Runs the new root up to its first park. Not Asio's launch(): its pump loop would resume
  /// the root again, as it only stops once the stack has left the thread object.
  void start();

  /// Takes the root back from the completion handler that resumed it. The handler's pump loop
  /// then finds its stack empty and returns.
  void park(awaitable_thread* holder) noexcept;

  /// Pushes `t` on top of the parked root and runs it until it finishes or first suspends.
  /// Returns true when it finished here: its outcome is then read from `t`, and the root was
  /// never resumed. Otherwise the task's pending operations hold the root, which records the
  /// outcome once the task finishes and parks itself.
  template <class T>
  bool run(task<T>& t) {
    // The root has no parent cancellation slot, so its cancellation state is always empty;
    // only this flag can be left changed by the last task.
    throw_if_cancelled(true);
    root_promise* root = attach_root();
    t.await_suspend(std::coroutine_handle<root_promise>::from_promise(*root));
    // `t` is empty if the task suspended, a handler invoked inline finished it and the root
    // has already recorded its outcome.
    return pump(root) && t.valid();
  }

 private:
  explicit root_thread(awaitable_thread&& other) noexcept : awaitable_thread(std::move(other)) {}

  /// Makes this object the thread the root runs in, as Asio's pump loop does before resuming.
  root_promise* attach_root() noexcept {
    root_promise* root = entry_point();
    root->attach_thread(this);
    return root;
  }

  /// Asio's pump loop, except that it stops when the root is back on top (true) or a handler
  /// holds the stack (false).
  bool pump(root_promise* root);
};

/// One thread's root for tasks of type T, and the current run's task and outcome.
template <class T>
struct root_slot {
  std::optional<root_thread> thread;
  std::uint64_t generation = 0;  // of the context `thread` runs on; 0 until it is started
  // Counts roots started, so a lost one knows it was replaced. Atomic because a lost root
  // resumes on whichever thread invokes its handler.
  std::atomic<std::uint64_t> epoch{0};
  task<T>* current = nullptr;  // a local of the root's frame, so the root owns the task
  bridge_outcome<T> outcome;

  static root_slot& this_thread() {
    thread_local root_slot slot;
    return slot;
  }
};

/// The bottom frame of this thread's runs for tasks of type T. It replaces `co_spawn`, whose
/// entry point dispatches to the context, posts again before completing, holds two work
/// guards and is a new frame per call: here each run pushes its task on top of the parked
/// root, and the root is resumed only to collect the outcome of a task that suspended.
template <class T>
root_frame bridge_root(root_slot<T>& slot, std::uint64_t epoch) {
  auto park = [&slot](frame_base* frame) -> awaitable_thread* {
    slot.thread->park(frame->detach_thread());
    return nullptr;
  };
  for (;;) {
    task<T> current;
    slot.current = &current;
    co_await park;
    // A root lost with a task that could never finish, whose handler was invoked after all:
    // a newer root serves this thread, so this one ends here and its handler frees it.
    if (slot.epoch.load(std::memory_order_relaxed) != epoch) co_return;
    try {
      if constexpr (std::is_void_v<T>) {
        current.await_resume();
      } else {
        slot.outcome.value.emplace(current.await_resume());
      }
    } catch (...) {
      slot.outcome.error = std::current_exception();
    }
    slot.outcome.done = true;
  }
}

/// Starts this thread's root for T on the run's context and lets it park.
template <class T>
void start_root(root_slot<T>& slot, const bridge_run& run) {
  slot.generation = 0;
  slot.thread.reset();
  slot.outcome = {};
  const std::uint64_t epoch = slot.epoch.fetch_add(1, std::memory_order_relaxed) + 1;
  slot.thread.emplace(bridge_root<T>(slot, epoch), run.executor(), boost::asio::cancellation_slot(),
                      boost::asio::cancellation_state());
  slot.thread->start();
  slot.generation = run.generation();
}

/// `async_to_sync(make_task())`, but `make_task` is called inside the run, so the coroutine
/// frames it creates come from Asio's per-thread recycling allocator instead of the heap.
template <class F>
auto bridge_call(F&& make_task, const bridge_options& options)
    -> task_value_t<std::invoke_result_t<F&>> {
  using T = task_value_t<std::invoke_result_t<F&>>;
  bridge_run run(options);
  auto& slot = root_slot<T>::this_thread();
  // A new thread, a context replaced since the root started, or a root lost with a task that
  // could never finish.
  if (slot.generation != run.generation() || !slot.thread->parked()) {
    start_root(slot, run);
  }
  task<T>& current = *slot.current;
  current = make_task();
  slot.outcome.done = false;
  if (slot.thread->run(current)) return current.await_resume();
  run.run_until(slot.outcome.done);
  return slot.outcome.take();
}

}  // namespace bridge_fast

}  // namespace vial::detail
