#include "vial/async/to_thread.hpp"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

namespace vial {

// A plain queue and condition variable rather than asio::thread_pool: admission has to see how
// many threads are idle and how much is already waiting, under one lock.
struct blocking_pool::impl {
  impl(std::size_t n, std::size_t limit) : thread_count(n), max_queued(limit) {
    threads.reserve(n);
    for (std::size_t i = 0; i < n; ++i) threads.emplace_back([this] { run(); });
  }

  ~impl() {
    {
      std::lock_guard lock(mutex);
      stopping = true;
    }
    cv.notify_all();
    for (auto& t : threads) t.join();
  }

  void run() {
    std::unique_lock lock(mutex);
    for (;;) {
      cv.wait(lock, [this] { return stopping || !jobs.empty(); });
      if (jobs.empty()) return;  // stopping, and everything queued has run
      auto job = std::move(jobs.front());
      jobs.pop_front();
      ++busy;
      lock.unlock();
      job();
      job = nullptr;  // its captures are released outside the lock
      lock.lock();
      --busy;
    }
  }

  // Jobs that will wait for a thread (beyond the idle ones) once `extra` more are queued.
  std::size_t waiting(std::size_t extra) const {
    const std::size_t idle = thread_count - busy;
    const std::size_t pending = jobs.size() + extra;
    return pending > idle ? pending - idle : 0;
  }

  const std::size_t thread_count;
  const std::size_t max_queued;
  mutable std::mutex mutex;
  std::condition_variable cv;
  std::deque<std::function<void()>> jobs;
  std::size_t busy = 0;
  std::atomic<std::uint64_t> overloads{0};
  bool stopping = false;
  std::vector<std::thread> threads;
};

blocking_pool::blocking_pool(std::size_t threads, std::size_t max_queued)
    : impl_(std::make_unique<impl>(std::max<std::size_t>(threads, 1), max_queued)) {}

blocking_pool::~blocking_pool() = default;

void blocking_pool::submit(std::function<void()> work) {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->jobs.push_back(std::move(work));
  }
  impl_->cv.notify_one();
}

bool blocking_pool::try_submit(std::function<void()> work) {
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->waiting(1) > impl_->max_queued) {
      impl_->overloads.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    impl_->jobs.push_back(std::move(work));
  }
  impl_->cv.notify_one();
  return true;
}

std::size_t blocking_pool::size() const noexcept { return impl_->thread_count; }
std::size_t blocking_pool::max_queued() const noexcept { return impl_->max_queued; }
std::uint64_t blocking_pool::overloads() const noexcept {
  return impl_->overloads.load(std::memory_order_relaxed);
}

std::size_t blocking_pool::queued() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->waiting(0);
}

std::size_t blocking_pool::busy() const {
  std::lock_guard lock(impl_->mutex);
  return std::min(impl_->thread_count, impl_->busy + impl_->jobs.size());
}

namespace detail {

std::string saturated_message(const blocking_pool& pool) {
  return "blocking pool saturated: " + std::to_string(pool.busy()) + " of " +
         std::to_string(pool.size()) + " threads busy, " + std::to_string(pool.queued()) +
         " queued (limit " + std::to_string(pool.max_queued()) + ")";
}

}  // namespace detail

}  // namespace vial
