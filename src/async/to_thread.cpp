#include "vial/async/to_thread.hpp"

#include <algorithm>
#include <thread>

#include <boost/asio/thread_pool.hpp>

namespace vial {

struct blocking_pool::impl {
  explicit impl(std::size_t n) : threads(n), pool(n) {}
  std::size_t threads;
  boost::asio::thread_pool pool;
};

blocking_pool::blocking_pool(std::size_t threads)
    : impl_(std::make_unique<impl>(std::max<std::size_t>(threads, 1))) {}

blocking_pool::~blocking_pool() { impl_->pool.join(); }

void blocking_pool::submit(std::function<void()> work) {
  boost::asio::post(impl_->pool, std::move(work));
}

std::size_t blocking_pool::size() const noexcept { return impl_->threads; }

}  // namespace vial
