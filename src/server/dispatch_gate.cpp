#include "dispatch_gate.hpp"

#include <utility>

#include <boost/asio/post.hpp>

namespace vial::server_detail {

dispatch_gate::dispatch_gate(boost::asio::io_context& ioc, std::size_t slots,
                             std::size_t max_queued)
    : ioc_(ioc), slots_(slots == 0 ? 1 : slots), max_queued_(max_queued) {}

bool dispatch_gate::try_acquire() noexcept {
  if (busy_.fetch_add(1) < slots_) return true;
  busy_.fetch_sub(1);
  return false;
}

void dispatch_gate::release() {
  busy_.fetch_sub(1);
  // Pairs with enqueue: a job pushed while we held the slot is seen here or there (both sides
  // write their counter, then read the other's, all seq_cst).
  if (queued_.load() > 0) boost::asio::post(ioc_, [this] { drain(); });
}

bool dispatch_gate::enqueue(std::function<void()> job, bool bounded) {
  {
    std::lock_guard lock(mutex_);
    if (bounded && jobs_.size() >= max_queued_) return false;
    jobs_.push_back(std::move(job));
    queued_.fetch_add(1);
  }
  if (busy_.load() < slots_) boost::asio::post(ioc_, [this] { drain(); });
  return true;
}

void dispatch_gate::drain() {
  for (;;) {
    if (queued_.load() == 0) return;
    if (!try_acquire()) {
      // A holder will release and drain again; retry only if the slot freed meanwhile.
      if (busy_.load() < slots_) continue;
      return;
    }
    std::function<void()> job;
    {
      std::lock_guard lock(mutex_);
      if (!jobs_.empty()) {
        job = std::move(jobs_.front());
        jobs_.pop_front();
        queued_.fetch_sub(1);
      }
    }
    if (!job) {
      busy_.fetch_sub(1);
      continue;
    }
    job();  // releases the slot itself
    return;
  }
}

void dispatch_gate::clear() {
  std::lock_guard lock(mutex_);
  queued_.fetch_sub(jobs_.size());
  jobs_.clear();
}

}  // namespace vial::server_detail
