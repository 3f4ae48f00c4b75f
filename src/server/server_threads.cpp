#include "server_threads.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include <boost/asio/post.hpp>

#ifdef __linux__
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace vial::server_detail {

namespace {

// The slot of the calling thread, set once by the thread itself.
thread_local void* current_slot = nullptr;

// Nothing entered or left a handler, and no thread moved, for this many ticks: the monitor
// sleeps until the next handler starts.
constexpr std::size_t quiet_ticks_before_sleep = 64;

// A handler that runs this many ticks without sleeping is replaced too: it computes, and the
// loop would wait for it.
constexpr std::size_t cpu_ticks = 10;

int current_tid() {
#ifdef __linux__
  return static_cast<int>(::syscall(SYS_gettid));
#else
  return 0;
#endif
}

// Whether the thread sleeps in the kernel (waits on a lock, I/O, a timer) rather than runs or
// waits for a CPU. Where this cannot be read, a thread in the same handler is presumed asleep.
bool asleep(int tid) {
#ifdef __linux__
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return true;
  char buf[256];
  const auto n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return true;
  buf[n] = '\0';
  // "tid (comm) S ...": the state follows the last ')' (comm may hold one).
  const char* close_paren = std::strrchr(buf, ')');
  if (close_paren == nullptr || close_paren[1] == '\0' || close_paren[2] == '\0') return true;
  return close_paren[2] != 'R';
#else
  (void)tid;
  return true;
#endif
}

}  // namespace

server_threads::server_threads(boost::asio::io_context& ioc, std::size_t io_threads,
                               std::size_t standby, const logger& log,
                               std::chrono::microseconds tick)
    : ioc_(ioc),
      io_threads_(std::max<std::size_t>(1, io_threads)),
      total_(io_threads_ + standby),
      log_(log),
      tick_(tick),
      slots_(std::make_unique<slot[]>(total_)) {
  for (std::size_t i = 0; i < total_; ++i) slots_[i].owner = this;
}

server_threads::~server_threads() { stop(); }

void server_threads::start() {
  {
    std::lock_guard lock(mutex_);
    running_ = io_threads_;
    standby_ = total_ - io_threads_;
  }
  threads_.reserve(total_);
  for (std::size_t i = 0; i < total_; ++i) threads_.emplace_back([this, i] { thread_main(i); });
  monitor_ = std::thread([this] { monitor(); });
}

void server_threads::stop() {
  ioc_.stop();
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  standby_cv_.notify_all();
  monitor_cv_.notify_all();
  const auto self = std::this_thread::get_id();
  if (monitor_.joinable()) monitor_.join();
  for (auto& t : threads_) {
    if (t.get_id() == self) {
      t.detach();
    } else if (t.joinable()) {
      t.join();
    }
  }
  threads_.clear();
}

server_threads::counts server_threads::snapshot() const {
  std::lock_guard lock(mutex_);
  return {running_, standby_};
}

server_threads::handler_scope::handler_scope() noexcept {
  auto* s = static_cast<slot*>(current_slot);
  if (s == nullptr) return;
  // seq_cst pairs with the monitor's going to sleep: either it sees this handler, or this
  // handler sees it asleep and wakes it.
  s->state.store(s->state.load(std::memory_order_relaxed) + 1, std::memory_order_seq_cst);
  if (s->owner->monitor_asleep_.load(std::memory_order_seq_cst)) s->owner->wake_monitor();
}

server_threads::handler_scope::~handler_scope() {
  auto* s = static_cast<slot*>(current_slot);
  if (s == nullptr) return;
  s->state.store(s->state.load(std::memory_order_relaxed) + 1, std::memory_order_release);
}

void server_threads::thread_main(std::size_t index) {
  slots_[index].tid.store(current_tid());
  current_slot = &slots_[index];
  if (index >= io_threads_) {
    std::unique_lock lock(mutex_);
    if (!wait_for_turn(lock)) return;
  }
  for (;;) {
    try {
      ioc_.run();
      return;
    } catch (const std::exception& e) {
      log_.error(std::string("server thread: ") + e.what());
    }
  }
}

// In standby until the monitor grants a turn. False when the pool stops instead.
bool server_threads::wait_for_turn(std::unique_lock<std::mutex>& lock) {
  standby_cv_.wait(lock, [this] { return turns_ > 0 || stopping_; });
  if (stopping_) return false;
  --turns_;
  --standby_;
  ++running_;
  return true;
}

// A handler posted to the loop (not to a strand): the thread that runs it goes to standby,
// and comes back to the loop from here when woken.
void server_threads::park() {
  std::unique_lock lock(mutex_);
  if (parks_ == 0 || stopping_) return;
  --parks_;
  --running_;
  ++standby_;
  wait_for_turn(lock);
}

void server_threads::wake_monitor() {
  {
    std::lock_guard lock(mutex_);
    monitor_asleep_.store(false);
  }
  monitor_cv_.notify_one();
}

void server_threads::monitor() {
  std::size_t quiet = 0;
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    bool active = false;
    std::size_t blocked = 0;
    for (std::size_t i = 0; i < total_; ++i) {
      auto& s = slots_[i];
      const auto state = s.state.load(std::memory_order_acquire);
      if (state != s.seen || (state & 1) == 0) {
        s.same = 0;
        s.blocked = false;
      } else if (s.blocked || ++s.same >= cpu_ticks || asleep(s.tid.load())) {
        s.blocked = true;  // in the same handler as a tick ago, and not merely preempted
        ++blocked;
      }
      if (state != s.seen || (state & 1) != 0) active = true;
      s.seen = state;
    }

    // Loop threads once the pending turns and parks are taken, against what is wanted: every
    // blocked thread replaced, up to the standby threads there are.
    const std::size_t soon = running_ + turns_ - parks_;
    const std::size_t want = std::min(total_, io_threads_ + blocked);
    if (soon < want) {
      const std::size_t grant = std::min(want - soon, standby_ - turns_);
      turns_ += grant;
      for (std::size_t i = 0; i < grant; ++i) standby_cv_.notify_one();
    } else if (soon > want) {
      const std::size_t surplus = soon - want;
      parks_ += surplus;
      for (std::size_t i = 0; i < surplus; ++i) {
        boost::asio::post(ioc_, [this] { park(); });
      }
    }
    if (turns_ > 0 || parks_ > 0 || running_ != io_threads_) active = true;

    quiet = active ? 0 : quiet + 1;
    if (quiet >= quiet_ticks_before_sleep) {
      quiet = 0;
      monitor_asleep_.store(true);
      bool busy = false;  // a handler that started before it could see the flag
      for (std::size_t i = 0; i < total_; ++i) {
        const auto state = slots_[i].state.load();
        busy = busy || state != slots_[i].seen || (state & 1) != 0;
      }
      if (!busy) {
        monitor_cv_.wait(lock, [this] { return !monitor_asleep_.load() || stopping_; });
      }
      monitor_asleep_.store(false);
      continue;
    }
    monitor_cv_.wait_for(lock, tick_, [this] { return stopping_; });
  }
}

}  // namespace vial::server_detail
