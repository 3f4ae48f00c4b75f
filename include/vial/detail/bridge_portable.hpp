#pragma once

// The bridge's portable path, not API: public Asio only, used on a Boost the fast path
// (vial/detail/bridge_asio.hpp) was not verified against, or when VIAL_BRIDGE_PORTABLE is set.
// Each run co_spawns its task on this thread's private context and runs the context until the
// task's completion handler has run: the same guarantees at a higher cost per call (a
// co_spawn, its posts and work guards, and a shared outcome), and one difference: a task that
// can never finish blocks, because co_spawn's work guards keep the context from running out.

#include <exception>
#include <memory>
#include <type_traits>
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/co_spawn.hpp>

#include "vial/async/bridge_options.hpp"
#include "vial/async/task.hpp"
#include "vial/detail/bridge_state.hpp"

namespace vial::detail {

inline namespace bridge_portable {

/// One bridge run on the calling thread: enters the private context (or throws bridge_error),
/// and on exit destroys whatever the run left behind.
class bridge_run {
 public:
  /// `options` must outlive the run.
  explicit bridge_run(const bridge_options& options);
  ~bridge_run();

  bridge_run(const bridge_run&) = delete;
  bridge_run& operator=(const bridge_run&) = delete;

  const boost::asio::any_io_executor& executor() const noexcept;
  void run_until(const bool& done) { run_bridge_until(done, *options_); }

 private:
  const bridge_options* options_;
};

/// Awaits `t` and keeps its value in `outcome`; its exception goes to co_spawn's handler.
template <class T>
task<void> bridge_body(task<T> t, std::shared_ptr<bridge_outcome<T>> outcome) {
  if constexpr (std::is_void_v<T>) {
    co_await std::move(t);
  } else {
    outcome->value.emplace(co_await std::move(t));
  }
}

/// `async_to_sync(make_task())`.
template <class F>
auto bridge_call(F&& make_task, const bridge_options& options)
    -> task_value_t<std::invoke_result_t<F&>> {
  using T = task_value_t<std::invoke_result_t<F&>>;
  bridge_run run(options);
  // Shared with the handler: a task lost by a run that threw may finish in a later one.
  auto outcome = std::make_shared<bridge_outcome<T>>();
  boost::asio::co_spawn(run.executor(), bridge_body<T>(make_task(), outcome),
                        [outcome](std::exception_ptr error) {
                          outcome->error = std::move(error);
                          outcome->done = true;
                        });
  run.run_until(outcome->done);
  return outcome->take();
}

}  // namespace bridge_portable

}  // namespace vial::detail
