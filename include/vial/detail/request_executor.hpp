#pragma once

// The executor of one coroutine request running on a shared event loop (the server's strand,
// or the test client's private context), not API. It gives the request what the bridge gives a
// run on its private context: leftover work is counted and cancelled at the end, `to_thread`
// finds the app's pool, a nested `async_to_sync` throws at once. docs/design.md ("Coroutine
// routes on the event loop") explains the choices.

#include <atomic>
#include <chrono>
#include <memory>
#include <string_view>
#include <type_traits>
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/execution.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/require.hpp>

namespace vial {

class blocking_pool;
class logger;

namespace detail {

/// How a request scope reports and where its blocking work goes.
struct request_scope_options {
  /// Names the request in warnings ("GET /data"); must outlive the scope (the app's route).
  std::string_view label{};
  const logger* log = nullptr;    ///< the default logger when null
  blocking_pool* pool = nullptr;  ///< what `to_thread` uses inside the request
  /// A resumption that runs longer than this without suspending is logged; zero disables.
  std::chrono::nanoseconds slow_step{std::chrono::milliseconds(100)};
  /// The request's id, current on the thread during each resumption (log lines, the HTTP
  /// client's X-Request-Id); must outlive the scope's last resumption (the request does).
  std::string_view request_id{};
};

/// What every copy of one request's executor shares: the count of work tracked through them,
/// and whether the request is over. Distinct objects: safe. Shared objects: safe.
class request_scope {
 public:
  explicit request_scope(request_scope_options options, std::weak_ptr<void> context = {}) noexcept
      : options_(options), context_(std::move(context)) {}
  request_scope(const request_scope&) = delete;
  request_scope& operator=(const request_scope&) = delete;

  /// Work tracked through the request's executors (pending timers, to_thread, co_spawn...).
  long outstanding() const noexcept { return work_.load(std::memory_order_acquire); }
  bool cancelled() const noexcept { return cancelled_.load(std::memory_order_acquire); }
  /// Ends the request once its response is ready: every completion dispatched through the
  /// scope from then on is destroyed without running.
  void close() noexcept { cancelled_.store(true, std::memory_order_release); }
  /// Reports work still counted as leftover (a warning naming the route); true if there was.
  /// On a loop run by several threads, call it a moment after `close`: the thread that
  /// completed the request's last operation may still hold that operation's guard.
  bool report_leftover() noexcept;
  /// `close`, then `report_leftover`: for a loop run by one thread.
  bool finish() noexcept {
    close();
    return report_leftover();
  }

  void work_started() noexcept { work_.fetch_add(1, std::memory_order_relaxed); }
  void work_finished() noexcept { work_.fetch_sub(1, std::memory_order_acq_rel); }

  const request_scope_options& options() const noexcept { return options_; }
  /// What keeps the request's context alive for work on other threads, or null (the server's
  /// context outlives its requests).
  std::shared_ptr<void> retain_context() const noexcept { return context_.lock(); }

  /// Runs one resumption of the request: as in a bridge run, `to_thread` uses the scope's
  /// pool and `async_to_sync` throws `bridge_error`; a long one is reported. Unless cancelled.
  template <class F>
  void run(F& f) {
    if (cancelled()) return;
    const auto token = enter();
    try {
      std::move(f)();
    } catch (...) {
      leave(token);
      throw;
    }
    leave(token);
  }

 private:
  struct entry_token {
    const request_scope* previous_scope;
    bool previous_active;
    blocking_pool* previous_pool;
    std::string_view previous_request_id;
    std::chrono::steady_clock::time_point started;
  };
  entry_token enter() noexcept;
  void leave(const entry_token& token) noexcept;

  request_scope_options options_;
  std::weak_ptr<void> context_;
  std::atomic<long> work_{0};
  std::atomic<bool> cancelled_{false};
};

/// The scope of the event-loop request running on this thread, or null.
const request_scope* current_request_scope() noexcept;

/// An executor that runs everything on `inner` (the connection's strand) inside its request
/// scope. It counts the work tracked through it in the scope, and satisfies what
/// `any_io_executor` asks of a target (context, blocking.never, outstanding_work,
/// relationship), so coroutines spawned on it, and every completion handler associated with
/// them, go through it.
class request_executor {
 public:
  request_executor(boost::asio::any_io_executor inner, std::shared_ptr<request_scope> scope)
      : inner_(std::move(inner)), scope_(std::move(scope)) {}

  request_executor(const request_executor& other) noexcept
      : inner_(other.inner_), scope_(other.scope_), tracked_(other.tracked_) {
    if (tracked_) scope_->work_started();
  }
  request_executor(request_executor&& other) noexcept
      : inner_(std::move(other.inner_)),
        scope_(std::move(other.scope_)),
        tracked_(std::exchange(other.tracked_, false)) {}
  request_executor& operator=(const request_executor& other) noexcept {
    if (this != &other) *this = request_executor(other);
    return *this;
  }
  request_executor& operator=(request_executor&& other) noexcept {
    if (this != &other) {
      release();
      inner_ = std::move(other.inner_);
      scope_ = std::move(other.scope_);
      tracked_ = std::exchange(other.tracked_, false);
    }
    return *this;
  }
  ~request_executor() { release(); }

  /// The scope this executor belongs to: one per request.
  const request_scope* scope() const noexcept { return scope_.get(); }
  const boost::asio::any_io_executor& inner() const noexcept { return inner_; }

  boost::asio::execution_context& query(boost::asio::execution::context_t) const noexcept {
    return boost::asio::query(inner_, boost::asio::execution::context);
  }
  boost::asio::execution::outstanding_work_t query(
      boost::asio::execution::outstanding_work_t) const noexcept {
    return tracked_ ? boost::asio::execution::outstanding_work_t(
                          boost::asio::execution::outstanding_work.tracked)
                    : boost::asio::execution::outstanding_work_t(
                          boost::asio::execution::outstanding_work.untracked);
  }

  request_executor require(boost::asio::execution::blocking_t::never_t p) const {
    return with(boost::asio::require(inner_, p), tracked_);
  }
  request_executor prefer(boost::asio::execution::blocking_t::possibly_t p) const {
    return with(boost::asio::prefer(inner_, p), tracked_);
  }
  request_executor prefer(boost::asio::execution::outstanding_work_t::tracked_t p) const {
    return with(boost::asio::prefer(inner_, p), true);
  }
  request_executor prefer(boost::asio::execution::outstanding_work_t::untracked_t p) const {
    return with(boost::asio::prefer(inner_, p), false);
  }
  request_executor prefer(boost::asio::execution::relationship_t::fork_t p) const {
    return with(boost::asio::prefer(inner_, p), tracked_);
  }
  request_executor prefer(boost::asio::execution::relationship_t::continuation_t p) const {
    return with(boost::asio::prefer(inner_, p), tracked_);
  }
  template <class Allocator>
  request_executor prefer(boost::asio::execution::allocator_t<Allocator> p) const {
    return with(boost::asio::prefer(inner_, p), tracked_);
  }

  template <class F>
  void execute(F&& f) const {
    inner_.execute(scoped<std::decay_t<F>>{std::forward<F>(f), scope_});
  }

  friend bool operator==(const request_executor& a, const request_executor& b) noexcept {
    return a.scope_ == b.scope_ && a.inner_ == b.inner_;
  }
  friend bool operator!=(const request_executor& a, const request_executor& b) noexcept {
    return !(a == b);
  }

 private:
  template <class F>
  struct scoped {
    F f;
    std::shared_ptr<request_scope> scope;
    // Cancelled: `f` (a coroutine's resumption) is destroyed with this object, unrun.
    void operator()() { scope->run(f); }
  };

  request_executor with(boost::asio::any_io_executor inner, bool tracked) const {
    request_executor e(std::move(inner), scope_);
    e.tracked_ = tracked;
    if (tracked) scope_->work_started();
    return e;
  }
  void release() noexcept {
    if (tracked_ && scope_) scope_->work_finished();
    tracked_ = false;
  }

  boost::asio::any_io_executor inner_;
  std::shared_ptr<request_scope> scope_;
  bool tracked_ = false;
};

}  // namespace detail

}  // namespace vial
