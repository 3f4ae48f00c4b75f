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
#include <boost/asio/io_context.hpp>
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

/// What every copy of one request's executor shares: the executor it runs on (the
/// connection's strand), the count of work tracked through it, and whether the request is over.
/// Distinct objects: safe. Shared objects: safe.
class request_scope {
 public:
  /// `inner` runs the request's work: an `io_context`'s executor, or a strand over one.
  /// @throws std::invalid_argument for any other executor.
  request_scope(boost::asio::any_io_executor inner, request_scope_options options,
                std::weak_ptr<void> context = {});
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

  /// Counts one unit of work in the scope and in the inner executor's context, as a tracked
  /// copy of the inner executor would.
  void work_started() noexcept;
  void work_finished() noexcept;

  const request_scope_options& options() const noexcept { return options_; }
  /// What keeps the request's context alive for work on other threads, or null (the server's
  /// context outlives its requests).
  std::shared_ptr<void> retain_context() const noexcept { return context_.lock(); }
  const boost::asio::any_io_executor& inner() const noexcept { return inner_; }

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
  boost::asio::any_io_executor inner_;
  boost::asio::io_context* work_context_;  // where tracked work is counted too
  std::atomic<long> work_{0};
  std::atomic<bool> cancelled_{false};
};

/// The scope of the event-loop request running on this thread, or null.
const request_scope* current_request_scope() noexcept;

/// An executor that runs everything on its scope's inner executor (the connection's strand)
/// inside the request's scope. It counts the work tracked through it in the scope, and
/// satisfies what `any_io_executor` asks of a target (context, blocking.never,
/// outstanding_work, relationship), so coroutines spawned on it, and every completion handler
/// associated with them, go through it.
///
/// It is one shared pointer and a few property bits, small enough for `any_io_executor`'s
/// inline buffer: the copies that timers, `co_spawn` and `to_thread` keep as work guards do
/// not allocate (docs/design.md, "A held event-loop request").
class request_executor {
 public:
  explicit request_executor(std::shared_ptr<request_scope> scope) noexcept
      : scope_(std::move(scope)) {}

  request_executor(const request_executor& other) noexcept
      : scope_(other.scope_), bits_(other.bits_) {
    if (bits_ & tracked) scope_->work_started();
  }
  request_executor(request_executor&& other) noexcept
      : scope_(std::move(other.scope_)), bits_(std::exchange(other.bits_, 0)) {}
  request_executor& operator=(const request_executor& other) noexcept {
    if (this != &other) *this = request_executor(other);
    return *this;
  }
  request_executor& operator=(request_executor&& other) noexcept {
    if (this != &other) {
      release();
      scope_ = std::move(other.scope_);
      bits_ = std::exchange(other.bits_, 0);
    }
    return *this;
  }
  ~request_executor() { release(); }

  /// The scope this executor belongs to: one per request.
  const request_scope* scope() const noexcept { return scope_.get(); }
  const boost::asio::any_io_executor& inner() const noexcept { return scope_->inner(); }

  boost::asio::execution_context& query(boost::asio::execution::context_t) const noexcept {
    return boost::asio::query(scope_->inner(), boost::asio::execution::context);
  }
  boost::asio::execution::outstanding_work_t query(
      boost::asio::execution::outstanding_work_t) const noexcept {
    return (bits_ & tracked) ? boost::asio::execution::outstanding_work_t(
                                   boost::asio::execution::outstanding_work.tracked)
                             : boost::asio::execution::outstanding_work_t(
                                   boost::asio::execution::outstanding_work.untracked);
  }

  request_executor require(boost::asio::execution::blocking_t::never_t) const {
    return with(bits_ | never);
  }
  request_executor prefer(boost::asio::execution::blocking_t::possibly_t) const {
    return with(bits_ & ~never);
  }
  request_executor prefer(boost::asio::execution::outstanding_work_t::tracked_t) const {
    return with(bits_ | tracked);
  }
  request_executor prefer(boost::asio::execution::outstanding_work_t::untracked_t) const {
    return with(bits_ & ~tracked);
  }
  request_executor prefer(boost::asio::execution::relationship_t::fork_t) const {
    return with(bits_ & ~continuation);
  }
  request_executor prefer(boost::asio::execution::relationship_t::continuation_t) const {
    return with(bits_ | continuation);
  }
  /// The inner executor allocates as it always does (the strand recycles its operations).
  template <class Allocator>
  request_executor prefer(boost::asio::execution::allocator_t<Allocator>) const {
    return *this;
  }

  template <class F>
  void execute(F&& f) const {
    // The inner executor's property forms are made here, not kept: the strand they copy fits
    // any_io_executor's buffer, and a held request keeps one executor, not three.
    scoped<std::decay_t<F>> op{std::forward<F>(f), scope_};
    const auto& inner = scope_->inner();
    if (bits_ & never) {
      auto never_inner = boost::asio::require(inner, boost::asio::execution::blocking.never);
      if (bits_ & continuation) {
        boost::asio::prefer(never_inner, boost::asio::execution::relationship.continuation)
            .execute(std::move(op));
      } else {
        never_inner.execute(std::move(op));
      }
    } else if (bits_ & continuation) {
      boost::asio::prefer(inner, boost::asio::execution::relationship.continuation)
          .execute(std::move(op));
    } else {
      inner.execute(std::move(op));
    }
  }

  friend bool operator==(const request_executor& a, const request_executor& b) noexcept {
    return a.scope_ == b.scope_ && ((a.bits_ ^ b.bits_) & ~tracked) == 0;
  }
  friend bool operator!=(const request_executor& a, const request_executor& b) noexcept {
    return !(a == b);
  }

 private:
  enum : unsigned char { tracked = 1, never = 2, continuation = 4 };

  template <class F>
  struct scoped {
    F f;
    std::shared_ptr<request_scope> scope;
    // Cancelled: `f` (a coroutine's resumption) is destroyed with this object, unrun.
    void operator()() { scope->run(f); }
  };

  request_executor with(unsigned char bits) const {
    request_executor e(scope_);
    e.bits_ = bits;
    if (bits & tracked) scope_->work_started();
    return e;
  }
  void release() noexcept {
    if ((bits_ & tracked) && scope_) scope_->work_finished();
    bits_ &= ~tracked;
  }

  std::shared_ptr<request_scope> scope_;
  unsigned char bits_ = 0;
};

}  // namespace detail

}  // namespace vial
