#include "connection_pool.hpp"

#include <algorithm>
#include <string>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/system/system_error.hpp>

#include "vial/client/error.hpp"

namespace vial::detail {

namespace asio = boost::asio;

namespace {

/// A caller parked until a slot frees. The slot is handed over directly (never re-competed), so
/// waiters are served in arrival order.
struct waiter {
  explicit waiter(asio::io_context& ioc) : timer(ioc, asio::steady_timer::time_point::max()) {}
  asio::steady_timer timer;
  bool granted = false;
  std::unique_ptr<connection> conn;  // null with `granted`: open a new connection
};

}  // namespace

struct host_pool {
  std::deque<std::unique_ptr<connection>> idle;
  std::size_t in_use = 0;  // leases out, including those still connecting
  std::list<waiter*> waiters;
};

void connection::close() noexcept {
  boost::system::error_code ignored;
  lowest().socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  lowest().socket().close(ignored);
}

lease::lease(connection_pool* owner, host_pool* pool, std::unique_ptr<connection> c)
    : conn(std::move(c)), owner_(owner), pool_(pool), reused_(conn != nullptr) {}

lease::lease(lease&& other) noexcept
    : conn(std::move(other.conn)),
      owner_(other.owner_),
      pool_(std::exchange(other.pool_, nullptr)),
      reused_(other.reused_) {}

lease::~lease() {
  if (pool_) owner_->release(*pool_, std::move(conn), false);
}

void lease::give_back() {
  if (pool_) owner_->release(*std::exchange(pool_, nullptr), std::move(conn), true);
}

connection_pool::connection_pool(asio::io_context& ioc, std::size_t per_host,
                                 std::chrono::milliseconds idle_timeout,
                                 std::chrono::milliseconds max_wait)
    : ioc_(ioc),
      per_host_(std::max<std::size_t>(per_host, 1)),
      idle_timeout_(idle_timeout),
      max_wait_(max_wait) {}

connection_pool::~connection_pool() = default;

task<lease> connection_pool::acquire(const std::string& key) {
  if (shut_down_) throw boost::system::system_error(asio::error::operation_aborted);
  auto& slot = pools_[key];
  if (!slot) slot = std::make_unique<host_pool>();
  host_pool& pool = *slot;
  const auto now = std::chrono::steady_clock::now();
  // Newest first: the least likely to have been closed by the peer.
  while (!pool.idle.empty()) {
    auto conn = std::move(pool.idle.back());
    pool.idle.pop_back();
    --idle_count_;
    if (now - conn->idle_since < idle_timeout_) {
      ++pool.in_use;
      ++in_use_count_;
      co_return lease(this, &pool, std::move(conn));
    }
    conn->close();
  }
  if (pool.in_use < per_host_) {
    ++pool.in_use;
    ++in_use_count_;
    co_return lease(this, &pool, nullptr);
  }
  waiter w(ioc_);
  w.timer.expires_after(max_wait_);
  auto it = pool.waiters.insert(pool.waiters.end(), &w);
  // Cancellation (the request deadline, the caller) ends the wait with operation_aborted; a
  // grant cancels the timer too, with `granted` set; the timer expiring is pool exhaustion.
  auto [ec] = co_await w.timer.async_wait(asio::as_tuple(asio::use_awaitable));
  if (!w.granted) {
    pool.waiters.erase(it);
    if (!ec && !shut_down_) {
      throw client_error(client_errc::pool_exhausted,
                         "no connection to " + key + " became free within " +
                             std::to_string(max_wait_.count()) + " ms (all " +
                             std::to_string(per_host_) + " in use)");
    }
    throw boost::system::system_error(ec ? ec : asio::error::operation_aborted);
  }
  co_return lease(this, &pool, std::move(w.conn));
}

void connection_pool::release(host_pool& pool, std::unique_ptr<connection> conn, bool reusable) {
  if (conn && (!reusable || shut_down_)) {
    conn->close();
    conn.reset();
  }
  if (!pool.waiters.empty()) {
    waiter* w = pool.waiters.front();
    pool.waiters.pop_front();
    w->granted = true;
    w->conn = std::move(conn);
    w->timer.cancel();
    return;  // the slot passes to the waiter: in_use is unchanged
  }
  --pool.in_use;
  --in_use_count_;
  if (conn) {
    conn->idle_since = std::chrono::steady_clock::now();
    pool.idle.push_back(std::move(conn));
    ++idle_count_;
  }
}

void connection_pool::sweep() {
  const auto now = std::chrono::steady_clock::now();
  for (auto& [key, pool] : pools_) {
    auto& idle = pool->idle;
    // A partition, not remove_if: remove_if leaves moved-from (null) pointers behind the kept
    // ones, and closing those crashed as soon as an old connection sat before a fresh one.
    auto expired = std::stable_partition(idle.begin(), idle.end(), [&](const auto& c) {
      return now - c->idle_since < idle_timeout_;
    });
    // Count first: whoever sees the socket close must also see the count drop.
    idle_count_ -= static_cast<std::size_t>(idle.end() - expired);
    for (auto it = expired; it != idle.end(); ++it) (*it)->close();
    idle.erase(expired, idle.end());
  }
}

void connection_pool::shutdown() {
  shut_down_ = true;
  for (auto& [key, pool] : pools_) {
    idle_count_ -= pool->idle.size();
    for (auto& c : pool->idle) c->close();
    pool->idle.clear();
    for (waiter* w : pool->waiters) w->timer.cancel();
  }
}

struct caller_state {
  std::size_t active = 0;
  std::list<waiter*> waiters;
};

caller_limiter::caller_limiter(asio::io_context& ioc, std::size_t per_caller)
    : ioc_(ioc), per_caller_(per_caller) {}

caller_limiter::~caller_limiter() = default;

task<caller_limiter::ticket> caller_limiter::enter(const void* caller) {
  if (shut_down_) throw boost::system::system_error(asio::error::operation_aborted);
  auto& slot = callers_[caller];
  if (!slot) slot = std::make_unique<caller_state>();
  caller_state& state = *slot;
  if (per_caller_ == 0 || state.active < per_caller_) {
    ++state.active;
    co_return ticket(this, caller);
  }
  waiter w(ioc_);
  auto it = state.waiters.insert(state.waiters.end(), &w);
  auto [ec] = co_await w.timer.async_wait(asio::as_tuple(asio::use_awaitable));
  if (!w.granted) {
    // `state` lives on: this waiter's caller has calls in flight, which keep it.
    state.waiters.erase(it);
    throw boost::system::system_error(ec ? ec : asio::error::operation_aborted);
  }
  co_return ticket(this, caller);
}

void caller_limiter::release(const void* caller) {
  auto found = callers_.find(caller);
  if (found == callers_.end()) return;
  caller_state& state = *found->second;
  if (!state.waiters.empty() && !shut_down_) {
    waiter* w = state.waiters.front();
    state.waiters.pop_front();
    w->granted = true;
    w->timer.cancel();
    return;  // the slot passes to the caller's next call: active is unchanged
  }
  if (--state.active == 0 && state.waiters.empty()) callers_.erase(found);
}

void caller_limiter::shutdown() {
  shut_down_ = true;
  for (auto& [caller, state] : callers_) {
    for (waiter* w : state->waiters) w->timer.cancel();
  }
}

}  // namespace vial::detail
