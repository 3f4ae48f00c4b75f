#include "vial/log.hpp"
#include "vial/async/bridge.hpp"

#include <algorithm>
#include <exception>
#include <memory>
#include <string>
#include <thread>

#include "vial/async/to_thread.hpp"

namespace vial {

namespace {

// The calling thread's bridge state. The context is created on first use and reused: a
// restart() is far cheaper than a new io_context, and the guarantee that nothing survives a
// run comes from the leftover check in ~bridge_run, not from a fresh context.
struct thread_bridge {
  std::shared_ptr<boost::asio::io_context> context;
  bool active = false;
  blocking_pool* pool = nullptr;
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

bridge_run::bridge_run(const bridge_options& options)
    : options_(options), previous_pool_(this_thread.pool) {
  if (this_thread.active) {
    throw bridge_error(
        "async_to_sync called while a coroutine is being driven on this thread "
        "(from inside a handler's coroutine?); co_await the task instead");
  }
  if (!this_thread.context) {
    // One thread runs this context; other threads only post to it (to_thread completions).
    this_thread.context = std::make_shared<boost::asio::io_context>(1);
  }
  context_ = this_thread.context.get();
  this_thread.active = true;
  this_thread.pool = options.pool;
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
  this_thread.active = false;
  this_thread.pool = previous_pool_;
  // The scheduler stops itself when its count of outstanding work drops to zero, so a context
  // that is not stopped still holds work the task spawned and did not await.
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
  this_thread.context.reset();
}

}  // namespace detail

}  // namespace vial
