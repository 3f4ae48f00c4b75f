#include "vial/async/background.hpp"

#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <unordered_set>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "vial/log.hpp"

namespace vial {

std::string_view to_string(background_state s) noexcept {
  switch (s) {
    case background_state::queued:
      return "queued";
    case background_state::running:
      return "running";
    case background_state::done:
      return "done";
    case background_state::failed:
      return "failed";
    case background_state::abandoned:
      return "abandoned";
  }
  return "unknown";
}

struct background_handle::shared {
  std::string id;
  std::string name;
  std::atomic<background_state> state{background_state::queued};
  mutable std::mutex mutex;
  mutable std::condition_variable finished;
  std::string error;  // guarded by mutex

  bool is_final() const noexcept {
    auto s = state.load();
    return s == background_state::done || s == background_state::failed ||
           s == background_state::abandoned;
  }
  /// Moves from queued/running to a final state once; false if already final.
  /// `tally` counts the outcome before anyone waiting can see it.
  bool finish(background_state to, std::string message = {},
              std::atomic<std::uint64_t>* tally = nullptr) {
    std::lock_guard lock(mutex);
    auto s = state.load();
    if (s != background_state::queued && s != background_state::running) return false;
    if (tally) tally->fetch_add(1);
    error = std::move(message);
    state.store(to);
    finished.notify_all();
    return true;
  }
  std::string label() const { return name.empty() ? id : "'" + name + "' (" + id + ")"; }
};

std::string background_handle::id() const { return state_ ? state_->id : std::string(); }

background_state background_handle::state() const noexcept {
  return state_ ? state_->state.load() : background_state::abandoned;
}

std::string background_handle::error() const {
  if (!state_) return {};
  std::lock_guard lock(state_->mutex);
  return state_->error;
}

bool background_handle::wait_for(std::chrono::milliseconds timeout) const {
  if (!state_) return false;
  std::unique_lock lock(state_->mutex);
  return state_->finished.wait_for(lock, timeout, [&] { return state_->is_final(); });
}

namespace {
std::atomic<std::uint64_t> next_id{1};

}  // namespace

// Shared with the executor's threads, so a thread still finishing blocking work after a
// drain deadline keeps the context alive until it returns.
struct background_executor::impl {
  boost::asio::io_context context;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guard{
      context.get_executor()};
  const logger* log;
  std::mutex mutex;
  std::condition_variable changed;
  // Hashed, so finishing one piece of work costs the same with 10 or 100k others live.
  std::unordered_set<std::shared_ptr<background_handle::shared>> live;  // guarded by mutex
  bool accepting = true;                                                // guarded by mutex
  std::size_t running_threads = 0;                                      // guarded by mutex
  std::atomic<std::uint64_t> done{0}, failed{0}, abandoned{0};

  explicit impl(const logger* l) : log(l ? l : &default_logger()) {}

  std::shared_ptr<background_handle::shared> admit(std::string name) {
    auto s = std::make_shared<background_handle::shared>();
    s->id = "bg-" + std::to_string(next_id++);
    s->name = std::move(name);
    std::lock_guard lock(mutex);
    if (!accepting) throw std::logic_error("background work submitted after drain()");
    live.insert(s);
    return s;
  }

  void settle(const std::shared_ptr<background_handle::shared>& s, std::exception_ptr error) {
    if (error) {
      auto message = describe_exception(error);
      // Logged before the state changes, so whoever sees `failed` also finds the log line.
      if (!s->is_final()) log->error("background work " + s->label() + " failed: " + message);
      s->finish(background_state::failed, message, &failed);
    } else {
      s->finish(background_state::done, {}, &done);
    }
    std::lock_guard lock(mutex);
    live.erase(s);
    changed.notify_all();
  }
};

background_executor::background_executor(std::size_t threads, const logger* log)
    : impl_(std::make_unique<impl>(log)) {
  // Threads are detached but counted: drain() waits for them to leave run(), or leaves the impl
  // to a thread stuck in blocking work.
  auto* raw = impl_.get();
  for (std::size_t i = 0; i < std::max<std::size_t>(threads, 1); ++i) {
    {
      std::lock_guard lock(raw->mutex);
      ++raw->running_threads;
    }
    std::thread([raw] {
      for (;;) {
        try {
          raw->context.run();
          break;
        } catch (...) {
          raw->log->error("background executor: " + describe_exception(std::current_exception()));
        }
      }
      std::lock_guard lock(raw->mutex);
      --raw->running_threads;
      raw->changed.notify_all();
    }).detach();
  }
}

background_executor::~background_executor() { drain(std::chrono::milliseconds(0)); }

background_handle background_executor::spawn(task<void> work, std::string name) {
  if (!impl_) throw std::logic_error("background work submitted after drain()");
  auto s = impl_->admit(std::move(name));
  auto* raw = impl_.get();
  boost::asio::co_spawn(
      raw->context,
      [](task<void> w, std::shared_ptr<background_handle::shared> st) -> task<void> {
        auto expected = background_state::queued;
        st->state.compare_exchange_strong(expected, background_state::running);
        co_await std::move(w);
      }(std::move(work), s),
      [raw, s](std::exception_ptr e) { raw->settle(s, e); });
  return background_handle(s);
}

background_handle background_executor::submit(std::function<void()> work, std::string name) {
  if (!impl_) throw std::logic_error("background work submitted after drain()");
  auto s = impl_->admit(std::move(name));
  auto* raw = impl_.get();
  boost::asio::post(raw->context, [raw, s, work = std::move(work)] {
    auto expected = background_state::queued;
    if (!s->state.compare_exchange_strong(expected, background_state::running)) return;
    std::exception_ptr error;
    try {
      work();
    } catch (...) {
      error = std::current_exception();
    }
    raw->settle(s, error);
  });
  return background_handle(s);
}

std::size_t background_executor::pending() const noexcept {
  if (!impl_) return 0;
  std::lock_guard lock(impl_->mutex);
  return impl_->live.size();
}

background_counts background_executor::counts() const {
  background_counts out;
  if (!impl_) return out;
  {
    std::lock_guard lock(impl_->mutex);
    for (const auto& s : impl_->live) {
      const auto state = s->state.load();
      if (state == background_state::queued) ++out.queued;
      if (state == background_state::running) ++out.running;
    }
  }
  out.done = impl_->done.load();
  out.failed = impl_->failed.load();
  out.abandoned = impl_->abandoned.load();
  return out;
}

std::size_t background_executor::drain(std::chrono::milliseconds deadline) {
  if (!impl_) return 0;
  auto* raw = impl_.get();
  std::unique_lock lock(raw->mutex);
  if (!raw->accepting && raw->running_threads == 0) return 0;
  raw->accepting = false;
  raw->changed.wait_for(lock, deadline, [&] { return raw->live.empty(); });
  auto unfinished = std::move(raw->live);
  raw->live.clear();
  lock.unlock();

  std::size_t abandoned = 0;
  for (auto& s : unfinished) {
    auto was = s->state.load();
    if (s->finish(background_state::abandoned, {}, &raw->abandoned)) {
      ++abandoned;
      raw->log->warning("background work " + s->label() + " abandoned at shutdown while " +
                        std::string(to_string(was)));
    }
  }
  raw->guard.reset();
  raw->context.stop();
  // Idle threads leave run() at once. One stuck in blocking work cannot be interrupted: give
  // it a moment, then leave the impl to it rather than block shutdown past the deadline.
  lock.lock();
  bool all_exited = raw->changed.wait_for(lock, std::chrono::milliseconds(200),
                                          [&] { return raw->running_threads == 0; });
  lock.unlock();
  if (!all_exited) {
    raw->log->warning("background executor: a thread is still busy after drain; leaving it");
    (void)impl_.release();  // deliberately leaked: the busy thread still uses it
  }
  return abandoned;
}

}  // namespace vial
