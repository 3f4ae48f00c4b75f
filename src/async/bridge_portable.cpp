// The portable bridge path's runs (vial/detail/bridge_portable.hpp). Always built, so that its
// tests can link the library whichever path the library itself uses; built outside the unity
// batches because it declares that path whatever vial/detail/bridge.hpp selects.

#include "vial/detail/bridge_portable.hpp"

#include <cstdint>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

namespace vial::detail::bridge_portable {

namespace {

thread_local boost::asio::any_io_executor this_thread_executor;
thread_local std::uint64_t executor_generation = 0;

}  // namespace

bridge_run::bridge_run(const bridge_options& options) : options_(&options) {
  bridge_hot_state& state = bridge_state;
  if (state.active) throw_nested_bridge();
  boost::asio::io_context& context = bridge_context();
  if (executor_generation != state.generation) {
    this_thread_executor = context.get_executor();
    executor_generation = state.generation;
  }
  state.active = true;
  state.pool = options.pool;
}

bridge_run::~bridge_run() {
  bridge_state.active = false;
  boost::asio::io_context& context = bridge_context();
  // Asio's public way to learn that nothing is pending: releasing a unit of work that was the
  // last one stops the scheduler.
  boost::asio::make_work_guard(context).reset();
  if (context.stopped()) {
    context.restart();
    return;
  }
  warn_bridge_leftovers(*options_);
  this_thread_executor = {};
  drop_bridge_context();
}

const boost::asio::any_io_executor& bridge_run::executor() const noexcept {
  return this_thread_executor;
}

}  // namespace vial::detail::bridge_portable
