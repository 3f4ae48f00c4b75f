#include "vial/log.hpp"
#include "vial/async/bridge.hpp"

#include <algorithm>
#include <exception>
#include <memory>
#include <string>
#include <optional>
#include <thread>

#include <boost/asio/detail/call_stack.hpp>
#include <boost/asio/detail/thread_context.hpp>
#include <boost/asio/detail/thread_info_base.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/require.hpp>

#include "vial/async/to_thread.hpp"

namespace vial {

namespace {

// The calling thread's bridge state. The context is created on first use and reused: a
// restart() is far cheaper than a new io_context, and the guarantee that nothing survives a
// run comes from the leftover check in ~bridge_run, not from a fresh context.
//
// A run starts outside io_context::run: the root coroutine is launched inline. Asio allocates
// coroutine frames and handlers from a per-thread cache only when something is on its
// thread call stack, so a run pushes the thread's own cache there for its duration; without
// it every frame created before the first suspension would be a heap allocation.
using asio_call_stack = boost::asio::detail::call_stack<boost::asio::detail::thread_context,
                                                        boost::asio::detail::thread_info_base>;

struct thread_bridge {
  std::shared_ptr<boost::asio::io_context> context;
  // The context's executor, erased once rather than for every run.
  boost::asio::any_io_executor executor;
  bool active = false;
  blocking_pool* pool = nullptr;
  boost::asio::detail::thread_info_base memory;
  // The key only has to differ from every scheduler's, so the scheduler never mistakes this
  // entry for one of its own threads.
  boost::asio::detail::thread_context key;
  std::optional<asio_call_stack::context> frame_cache;
};

thread_local thread_bridge this_thread;


std::string label_of(const bridge_options& o) {
  return o.label.empty() ? std::string("async_to_sync") : std::string(o.label);
}

}  // namespace

bool in_bridge() noexcept { return this_thread.active; }

blocking_pool& current_blocking_pool() {
  if (this_thread.pool) return *this_thread.pool;
  static blocking_pool fallback(std::max(4u, std::thread::hardware_concurrency()));
  return fallback;
}

namespace detail {

std::shared_ptr<void> retain_bridge_context() {
  return this_thread.active ? std::shared_ptr<void>(this_thread.context) : nullptr;
}

bridge_run::bridge_run(const bridge_options& options) : options_(options) {
  thread_bridge& state = this_thread;
  if (state.active) {
    throw bridge_error(
        "async_to_sync called while a coroutine is being driven on this thread "
        "(from inside a handler's coroutine?); co_await the task instead");
  }
  if (!state.context) {
    // One thread runs this context; other threads only post to it (to_thread completions).
    state.context = std::make_shared<boost::asio::io_context>(1);
    state.executor = state.context->get_executor();
  }
  context_ = state.context.get();
  executor_ = &state.executor;
  previous_pool_ = state.pool;
  state.active = true;
  state.pool = options.pool;
  state.frame_cache.emplace(&state.key, state.memory);
}

void bridge_run::run_until(const bool& done) {
  const logger& log = options_.log ? *options_.log : default_logger();
  while (!done) {
    try {
      if (context_->run_one() == 0 && !done) {
        throw bridge_error("the task can never finish: its context stopped with nothing to run");
      }
    } catch (const bridge_error&) {
      throw;
    } catch (...) {
      // Only work posted beside the task can throw out of run_one (the task's own exception
      // goes to its completion handler). Report it and keep driving the task.
      log.error(label_of(options_) + ": exception escaped work posted by the coroutine: " +
                describe_exception(std::current_exception()));
    }
  }
}

bridge_run::~bridge_run() {
  thread_bridge& state = this_thread;
  state.frame_cache.reset();
  state.active = false;
  state.pool = previous_pool_;
  // The scheduler stops itself when its count of outstanding work drops to zero, so a context
  // that is not stopped still holds work the task spawned and did not await. A run that
  // completed inline never entered the scheduler: counting one unit of work in and out makes
  // it stop if, and only if, nothing else is outstanding.
  {
    auto probe = boost::asio::require(context_->get_executor(),
                                      boost::asio::execution::outstanding_work.tracked);
  }
  if (context_->stopped()) {
    context_->restart();
    return;
  }
  const logger& log = options_.log ? *options_.log : default_logger();
  log.warning(label_of(options_) +
              ": work spawned by the coroutine was still pending when it finished; it was "
              "cancelled (await it, or use a background_executor for work that must outlive "
              "the request)");
  // Dropping the context destroys its pending handlers, and with them every coroutine frame
  // the leftover work owned. Blocking work still running in a pool keeps a reference, so the
  // context goes away when that work completes, never under it.
  state.executor = {};
  state.context.reset();
}

}  // namespace detail

}  // namespace vial
