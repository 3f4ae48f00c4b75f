#include "vial/async/bridge.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <memory>
#include <string>
#include <thread>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>

#include "vial/async/to_thread.hpp"
#include "vial/detail/request_executor.hpp"
#include "vial/log.hpp"

#if VIAL_BRIDGE_FAST_PATH
#include <boost/asio/detail/scheduler.hpp>
#include <boost/asio/detail/thread_context.hpp>
#include <boost/asio/detail/thread_info_base.hpp>
#endif

namespace vial {

namespace detail {

// Runs that left work behind, process-wide (cancelled_leftovers()).
std::atomic<std::uint64_t> leftovers_cancelled{0};

void note_cancelled_leftover() noexcept {
  leftovers_cancelled.fetch_add(1, std::memory_order_relaxed);
}

namespace {

// The calling thread's private context. It is created on first use and reused: a restart() is
// far cheaper than a new io_context, and the guarantee that nothing survives a run comes from
// the leftover check, not a fresh context.
struct bridge_thread {
  std::shared_ptr<boost::asio::io_context> context;
  // The context's executor, erased once rather than for every run.
  boost::asio::any_io_executor executor;
#if VIAL_BRIDGE_FAST_PATH
  boost::asio::detail::thread_info_base frame_memory;
  // The key only has to differ from every scheduler's, so a scheduler never mistakes the
  // run's call stack entry for one of its own threads.
  boost::asio::detail::thread_context call_stack_key;
#endif
};

thread_local bridge_thread this_thread;

std::string label_of(const bridge_options& o) {
  return o.label.empty() ? std::string("async_to_sync") : std::string(o.label);
}

const logger& logger_of(const bridge_options& o) { return o.log ? *o.log : default_logger(); }

}  // namespace

thread_local constinit bridge_hot_state bridge_state{};

boost::asio::io_context& bridge_context() {
  bridge_thread& thread = this_thread;
  if (!thread.context) {
    // One thread runs this context; other threads only post to it (to_thread completions).
    thread.context = std::make_shared<boost::asio::io_context>(1);
    thread.executor = thread.context->get_executor();
    ++bridge_state.generation;
  }
  return *thread.context;
}

void drop_bridge_context() noexcept {
  // Dropping the context destroys its pending handlers, and with them every coroutine frame
  // the leftover work owned. Blocking work still running in a pool keeps a reference, so the
  // context goes away when that work completes, never under it. The next run starts a new one.
  bridge_thread& thread = this_thread;
  bridge_state.outstanding_work = nullptr;
  thread.executor = {};
  thread.context.reset();
}

void warn_bridge_leftovers(const bridge_options& options) noexcept {
  note_cancelled_leftover();
  // A log sink that throws must not end the process from a destructor.
  try {
    logger_of(options).warning(
        label_of(options) +
        ": work spawned by the coroutine was still pending when it finished; it was cancelled "
        "(await it, or use a background_executor for work that must outlive the request)");
  } catch (...) {
  }
}

void run_bridge_until(const bool& done, const bridge_options& options) {
  const logger& log = logger_of(options);
  boost::asio::io_context& context = *this_thread.context;
  while (!done) {
    try {
      if (context.run_one() == 0 && !done) {
        throw bridge_error("the task can never finish: its context stopped with nothing to run");
      }
    } catch (const bridge_error&) {
      throw;
    } catch (...) {
      // Only work posted beside the task can throw out of run_one (the task's own exception
      // goes to its completion handler). Report it and keep driving the task.
      log.error(label_of(options) + ": exception escaped work posted by the coroutine: " +
                describe_exception(std::current_exception()));
    }
  }
}

void throw_nested_bridge() {
  throw bridge_error(
      "async_to_sync called while a coroutine is being driven on this thread "
      "(from inside a handler's coroutine?); co_await the task instead");
}

std::shared_ptr<void> retain_bridge_context() {
  // An event-loop request's context: the test client's private one, or null for the server's.
  if (const request_scope* scope = current_request_scope()) return scope->retain_context();
  return bridge_state.active ? std::shared_ptr<void>(this_thread.context) : nullptr;
}

#if VIAL_BRIDGE_FAST_PATH

namespace {

// The scheduler's count of outstanding work, reached without its lock. Asio offers no
// accessor: its only public way to learn that the count is zero (release a unit of work so
// the scheduler stops itself, then stopped(), then restart()) takes the scheduler's mutex
// three times per run, which was most of the bridge's cost for a task that completes inline.
// An explicit instantiation may name a private member ([temp.explicit]); the friend function
// hands the pointer out. A Boost that renames the member fails to compile here.
using scheduler = boost::asio::detail::scheduler;
using work_count_member = boost::asio::detail::atomic_count scheduler::*;

work_count_member outstanding_work_member();

template <work_count_member Member>
struct expose_outstanding_work {
  friend work_count_member outstanding_work_member() { return Member; }
};
template struct expose_outstanding_work<&scheduler::outstanding_work_>;

// The same way in, for the top of a root coroutine's frame stack, which Asio keeps private to
// its own pump loop. A run reads it to stop pumping once its task has finished, instead of
// resuming the root only to park it again.
using top_of_stack_member = frame_base* root_promise::*;

constexpr top_of_stack_member top_of_stack_member_of();

template <top_of_stack_member Member>
struct expose_top_of_stack {
  friend constexpr top_of_stack_member top_of_stack_member_of() { return Member; }
};
template struct expose_top_of_stack<&root_promise::top_of_stack_>;

constexpr top_of_stack_member root_top_of_stack = top_of_stack_member_of();

}  // namespace

inline namespace bridge_fast {

void start_bridge_thread() {
  bridge_thread& thread = this_thread;
  boost::asio::io_context& context = bridge_context();
  auto& impl = boost::asio::use_service<scheduler>(context);
  bridge_state.outstanding_work = &(impl.*outstanding_work_member());
  bridge_state.frame_memory = &thread.frame_memory;
  bridge_state.call_stack_key = &thread.call_stack_key;
}

const boost::asio::any_io_executor& bridge_run::executor() const noexcept {
  return this_thread.executor;
}

void bridge_run::finish() noexcept {
  if (state_.outstanding_work->load(std::memory_order_acquire) == 0) {
    // The run entered the scheduler, which stopped itself when the count dropped to zero.
    this_thread.context->restart();
    return;
  }
  warn_bridge_leftovers(*options_);
  drop_bridge_context();
}

root_thread::~root_thread() { root_frame root(std::move(this->bottom_of_stack_)); }

void root_thread::start() { attach_root()->resume(); }

void root_thread::park(awaitable_thread* holder) noexcept {
  if (holder == this) return;  // the first park, from start()
  root_thread from(std::move(*holder));
  this->bottom_of_stack_ = std::move(from.bottom_of_stack_);
}

bool root_thread::pump(root_promise* root) {
  for (;;) {
    frame_base* top = root->*root_top_of_stack;
    if (top == root) return true;
    top->resume();
    if (!this->bottom_of_stack_.valid()) return false;  // a handler holds the stack now
  }
}

}  // namespace bridge_fast

#endif  // VIAL_BRIDGE_FAST_PATH

}  // namespace detail

bool in_bridge() noexcept { return detail::bridge_state.active; }

std::uint64_t cancelled_leftovers() noexcept {
  return detail::leftovers_cancelled.load(std::memory_order_relaxed);
}

blocking_pool& current_blocking_pool() {
  const auto& state = detail::bridge_state;
  if (state.active && state.pool) return *state.pool;
  static blocking_pool fallback(std::max(4u, std::thread::hardware_concurrency()));
  return fallback;
}

}  // namespace vial
