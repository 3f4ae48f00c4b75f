#include "vial/detail/request_executor.hpp"

#include <stdexcept>
#include <string>

#include <boost/asio/strand.hpp>

#include "http/request_id.hpp"
#include "vial/detail/bridge.hpp"
#include "vial/log.hpp"

namespace vial::detail {

void note_cancelled_leftover() noexcept;  // bridge.cpp

namespace {

thread_local const request_scope* current_scope = nullptr;

const logger& logger_of(const request_scope_options& o) {
  return o.log ? *o.log : default_logger();
}

std::string label_of(const request_scope_options& o) {
  return o.label.empty() ? std::string("event-loop request") : std::string(o.label);
}

/// The io_context under `inner`, where the scope counts tracked work as Asio's tracked
/// executors do, so that a private context's `run` waits for `to_thread` work.
boost::asio::io_context* context_of(const boost::asio::any_io_executor& inner) {
  using context_executor = boost::asio::io_context::executor_type;
  if (const auto* s = inner.target<boost::asio::strand<context_executor>>()) {
    return &s->get_inner_executor().context();
  }
  if (const auto* e = inner.target<context_executor>()) return &e->context();
  throw std::invalid_argument(
      "a request scope runs on an io_context's executor or a strand over one");
}

}  // namespace

request_scope::request_scope(boost::asio::any_io_executor inner, request_scope_options options,
                             std::weak_ptr<void> context)
    : options_(options),
      context_(std::move(context)),
      inner_(std::move(inner)),
      work_context_(context_of(inner_)) {}

void request_scope::work_started() noexcept {
  work_.fetch_add(1, std::memory_order_relaxed);
  work_context_->get_executor().on_work_started();
}

void request_scope::work_finished() noexcept {
  work_.fetch_sub(1, std::memory_order_acq_rel);
  work_context_->get_executor().on_work_finished();
}

const request_scope* current_request_scope() noexcept { return current_scope; }

bool request_scope::report_leftover() noexcept {
  if (outstanding() == 0) return false;
  note_cancelled_leftover();
  try {
    logger_of(options_).warning(
        label_of(options_) +
        ": work spawned by the coroutine was still pending when the response was ready; it was "
        "cancelled (await it, or use a background_executor for work that must outlive the "
        "request)");
  } catch (...) {
  }
  return true;
}

request_scope::entry_token request_scope::enter() noexcept {
  bridge_hot_state& state = bridge_state;
  entry_token token{current_scope,
                    state.active,
                    state.pool,
                    exchange_current_request_id(options_.request_id),
                    {}};
  current_scope = this;
  // What a bridge run sets: `to_thread` reads the pool, and `async_to_sync` sees a coroutine
  // being driven on this thread and throws instead of blocking the loop.
  state.active = true;
  state.pool = options_.pool;
  if (options_.slow_step.count() > 0) token.started = std::chrono::steady_clock::now();
  return token;
}

void request_scope::leave(const entry_token& token) noexcept {
  bridge_hot_state& state = bridge_state;
  current_scope = token.previous_scope;
  state.active = token.previous_active;
  state.pool = token.previous_pool;
  exchange_current_request_id(token.previous_request_id);
  if (options_.slow_step.count() <= 0) return;
  const auto took = std::chrono::steady_clock::now() - token.started;
  if (took <= options_.slow_step) return;
  try {
    logger_of(options_).warning(
        label_of(options_) + ": a step of the coroutine ran " +
        std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()) +
        " ms without suspending, blocking an event-loop thread (move blocking work to "
        "to_thread, or run the route through the bridge)");
  } catch (...) {
  }
}

}  // namespace vial::detail
