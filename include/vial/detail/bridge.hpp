#pragma once

// The machinery behind async_to_sync (vial/async/bridge.hpp), not API: how a run enters this
// thread's private context, and the coroutine at the bottom of every run.
//
// A run costs what a task that never suspends needs and little more: no scheduler operation,
// no lock, no heap allocation, and no coroutine frame but the task's own. docs/design.md ("The
// bridge keeps a parked root coroutine per thread") has the measurements and the trade-offs.

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

namespace vial {

namespace detail {

/// What every run reads and writes, in a trivially constructible thread-local so that
/// reaching it is a plain TLS access. The objects it points to (this thread's context, its
/// frame cache) are set up by the thread's first run, in src/async/bridge.cpp.
struct bridge_hot_state {
  /// The private context's count of outstanding work; null until this thread's first run,
  /// and again after a run left work behind and the context was dropped.
  const std::atomic<long>* outstanding_work = nullptr;
  /// Changes whenever the context is replaced, so state tied to the old one knows it is stale.
  std::uint64_t generation = 0;
  bool active = false;
  blocking_pool* pool = nullptr;
  boost::asio::detail::thread_info_base* frame_memory = nullptr;
  boost::asio::detail::thread_context* call_stack_key = nullptr;
};

extern thread_local constinit bridge_hot_state bridge_state;

/// Creates this thread's private context (first run, or after one was dropped).
void start_bridge_thread();
[[noreturn]] void throw_nested_bridge();

/// One bridge run on the calling thread: enters the private context (or throws bridge_error),
/// and on exit destroys whatever the run left behind. The common case, a task that completed
/// without suspending and left nothing behind, is inline.
class bridge_run {
 public:
  /// `options` must outlive the run.
  explicit bridge_run(const bridge_options& options)
      : state_(enter()),
        options_(&options),
        previous_pool_(state_.pool),
        frame_cache_(state_.call_stack_key, *state_.frame_memory) {
    state_.active = true;
    state_.pool = options.pool;
  }

  ~bridge_run() {
    state_.active = false;
    state_.pool = previous_pool_;
    // Whatever the task spawned and did not await is still counted as outstanding work.
    if (entered_ || state_.outstanding_work->load(std::memory_order_acquire) != 0) finish();
  }

  bridge_run(const bridge_run&) = delete;
  bridge_run& operator=(const bridge_run&) = delete;

  const boost::asio::any_io_executor& executor() const noexcept;
  std::uint64_t generation() const noexcept { return state_.generation; }
  /// Runs ready handlers, waiting when there are none, until `done` is set.
  void run_until(const bool& done);

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
  blocking_pool* previous_pool_;
  bool entered_ = false;
  // Asio allocates coroutine frames and handlers from a per-thread cache only while something
  // is on its thread call stack. A run starts outside io_context::run, so for its duration it
  // puts this thread's cache there; otherwise every frame would be a heap allocation.
  asio_call_stack::context frame_cache_;
};

/// Where a run's root coroutine leaves its outcome.
template <class T>
struct bridge_outcome {
  bool done = false;
  std::exception_ptr error;
  std::optional<T> value;

  T take() {
    if (error) std::rethrow_exception(error);
    return std::move(*value);
  }
};

template <>
struct bridge_outcome<void> {
  bool done = false;
  std::exception_ptr error;

  void take() {
    if (error) std::rethrow_exception(error);
  }
};

using root_frame = boost::asio::awaitable<boost::asio::detail::awaitable_thread_entry_point,
                                          boost::asio::any_io_executor>;
using awaitable_thread = boost::asio::detail::awaitable_thread<boost::asio::any_io_executor>;

/// Asio's "thread" of stacked coroutine frames, with a bottom frame that is kept between
/// runs: parked while no run is active, pushed on and pumped by each run.
class root_thread : public awaitable_thread {
 public:
  using awaitable_thread::awaitable_thread;
  root_thread(const root_thread&) = delete;
  root_thread& operator=(const root_thread&) = delete;
  // Asio destroys an unfinished thread by posting to its executor; a parked root is
  // destroyed here and now, because its context may already be gone.
  ~root_thread() {
    root_frame parked(std::move(parked_));
    root_frame running(std::move(this->bottom_of_stack_));
  }

  bool parked() const noexcept { return parked_.valid(); }

  /// Takes the root back from whichever thread object holds it now: this one if the task
  /// completed inline, a completion handler's if it suspended. The holder's pump loop then
  /// finds its stack empty and returns.
  void park(awaitable_thread* holder) noexcept {
    if (holder == this) {
      parked_ = std::move(this->bottom_of_stack_);
    } else {
      root_thread from(std::move(*holder));
      parked_ = std::move(from.bottom_of_stack_);
    }
  }

  /// Pushes `t` on top of the parked root and runs it until it finishes or first suspends.
  /// The root itself is resumed only once the task has finished.
  template <class T>
  void run(task<T>& t) {
    this->bottom_of_stack_ = std::move(parked_);
    reset_cancellation_state();  // what the last task set stays with its run
    throw_if_cancelled(true);
    auto* root = entry_point();
    root->attach_thread(this);
    t.await_suspend(
        std::coroutine_handle<std::remove_pointer_t<decltype(root)>>::from_promise(*root));
    this->pump();
  }

 private:
  explicit root_thread(awaitable_thread&& other) noexcept : awaitable_thread(std::move(other)) {}

  root_frame parked_;
};

/// One thread's root for tasks of type T, and the current run's task and outcome.
template <class T>
struct root_slot {
  std::optional<root_thread> thread;
  std::uint64_t generation = 0;
  task<T>* current = nullptr;  // a local of the root's frame, so the root owns the task
  bridge_outcome<T>* out = nullptr;

  static root_slot& this_thread() {
    thread_local root_slot slot;
    return slot;
  }
};

/// The bottom frame of this thread's runs for tasks of type T. It replaces `co_spawn`, whose
/// entry point dispatches to the context, posts again before completing, holds two work
/// guards and is a new frame per call: here each run pushes its task on top of the parked
/// root, and the root only collects the outcome and parks again.
template <class T>
root_frame bridge_root(root_slot<T>& slot) {
  auto park = [&slot](boost::asio::detail::awaitable_frame_base<boost::asio::any_io_executor>*
                          frame) -> awaitable_thread* {
    slot.thread->park(frame->detach_thread());
    return nullptr;
  };
  for (;;) {
    task<T> current;
    slot.current = &current;
    co_await park;
    // Resumed once the task pushed on top of this frame has finished.
    try {
      if constexpr (std::is_void_v<T>) {
        current.await_resume();
      } else {
        slot.out->value.emplace(current.await_resume());
      }
    } catch (...) {
      slot.out->error = std::current_exception();
    }
    slot.out->done = true;
  }
}

/// Starts this thread's root for T on the run's context and lets it park.
template <class T>
void start_root(root_slot<T>& slot, const bridge_run& run) {
  slot.thread.reset();
  slot.generation = run.generation();
  slot.thread.emplace(bridge_root<T>(slot), run.executor(), boost::asio::cancellation_slot(),
                      boost::asio::cancellation_state());
  slot.thread->launch();
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
  if (!slot.thread || !slot.thread->parked() || slot.generation != run.generation()) {
    start_root(slot, run);
  }
  bridge_outcome<T> outcome;
  slot.out = &outcome;
  *slot.current = make_task();
  slot.thread->run(*slot.current);
  if (!outcome.done) run.run_until(outcome.done);
  return outcome.take();
}

}  // namespace detail

}  // namespace vial
