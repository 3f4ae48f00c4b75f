#include "memory_trim.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <string>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "vial/log.hpp"

namespace vial::server_detail {

namespace {

// Resident bytes from /proc/self/statm, read with plain syscalls: no allocation, no lock
// shared with the allocator.
std::size_t resident_set_bytes() noexcept {
  int fd = ::open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[128];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return 0;
  buf[n] = '\0';
  unsigned long long size = 0, resident = 0;
  if (std::sscanf(buf, "%llu %llu", &size, &resident) != 2) return 0;
  return static_cast<std::size_t>(resident) * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

std::string as_mib(std::size_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

std::atomic<std::uint64_t> trims_done{0};
std::atomic<std::uint64_t> trim_nanoseconds{0};
std::atomic<std::uint64_t> trims_by_duration[std::size(trim_duration_bounds) + 1] = {};

void count_trim(std::chrono::nanoseconds took) noexcept {
  const double seconds = std::chrono::duration<double>(took).count();
  std::size_t bucket = 0;
  while (bucket < std::size(trim_duration_bounds) && seconds > trim_duration_bounds[bucket]) {
    ++bucket;
  }
  trims_by_duration[bucket].fetch_add(1, std::memory_order_relaxed);
  trim_nanoseconds.fetch_add(static_cast<std::uint64_t>(took.count()), std::memory_order_relaxed);
  trims_done.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace

memory_figures read_memory_figures() noexcept {
  memory_figures out;
  out.resident = resident_set_bytes();
#ifdef __GLIBC__
  const struct mallinfo2 info = mallinfo2();
  out.malloc_live = info.uordblks + info.hblkhd;
  out.malloc_free = info.fordblks;
#endif
  return out;
}

std::uint64_t memory_trims() noexcept { return trims_done.load(std::memory_order_relaxed); }

trim_durations memory_trim_durations() noexcept {
  trim_durations out;
  for (std::size_t i = 0; i < std::size(out.counts); ++i) {
    out.counts[i] = trims_by_duration[i].load(std::memory_order_relaxed);
  }
  out.sum = static_cast<double>(trim_nanoseconds.load(std::memory_order_relaxed)) / 1e9;
  return out;
}

std::size_t retained_free_bytes() noexcept {
#ifdef __GLIBC__
  // mallinfo2 walks the free lists of each arena under its lock: fine once a second (2-26 ms
  // measured with 2 GiB of fragmented free memory, far less on a usual heap; docs/design.md).
  const memory_figures m = read_memory_figures();
  return m.resident > m.malloc_live ? m.resident - m.malloc_live : 0;
#else
  return 0;
#endif
}

void fix_mmap_threshold(std::size_t bytes) noexcept {
#ifdef __GLIBC__
  // glibc caps the threshold at 32 MiB on 64-bit (HEAP_MAX_SIZE / 2) and refuses larger values.
  constexpr std::size_t glibc_max = 32 * 1024 * 1024;
  if (bytes > 0) ::mallopt(M_MMAP_THRESHOLD, static_cast<int>(std::min(bytes, glibc_max)));
#else
  (void)bytes;
#endif
}

trim_trigger::trim_trigger(std::size_t threshold, clock::duration quiet, std::size_t retained,
                           clock::time_point now) noexcept
    : threshold_(threshold), quiet_(quiet), bar_(retained), high_(retained), grew_(now) {}

bool trim_trigger::due(std::size_t retained, clock::time_point now) noexcept {
  if (retained < bar_) bar_ = high_ = retained;  // a new low: growth counts from here
  if (retained > high_ + threshold_ / 16) {      // smaller steps are noise, or a slow creep
    high_ = retained;
    grew_ = now;
  }
  const std::size_t over = retained - bar_;
  return over > threshold_ || (over > threshold_ / 4 && now - grew_ >= quiet_);
}

void trim_trigger::trimmed(std::size_t retained, clock::time_point now) noexcept {
  bar_ = high_ = retained;
  grew_ = now;
}

memory_trimmer::memory_trimmer(std::size_t threshold, std::chrono::milliseconds interval,
                               std::chrono::milliseconds quiet, const logger& log)
    : threshold_(threshold), interval_(interval), quiet_(quiet), log_(log) {
#ifdef __GLIBC__
  if (threshold_ > 0) thread_ = std::thread([this] { run(); });
#endif
}

memory_trimmer::~memory_trimmer() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::size_t memory_trimmer::trims() const {
  std::lock_guard lock(mutex_);
  return trims_;
}

void memory_trimmer::run() {
#ifdef __GLIBC__
  trim_trigger trigger(threshold_, quiet_, retained_free_bytes(), trim_trigger::clock::now());
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, interval_, [this] { return stopping_; })) {
    lock.unlock();
    const std::size_t before = retained_free_bytes();
    bool trimmed = false;
    if (trigger.due(before, trim_trigger::clock::now())) {
      const auto start = std::chrono::steady_clock::now();
      ::malloc_trim(0);
      const auto took = std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::steady_clock::now() - start);
      const std::size_t after = retained_free_bytes();
      trimmed = true;
      count_trim(took);
      if (log_.enabled(log_level::debug)) {
        log_.debug("memory trim: " + as_mib(before) + " free held, " + as_mib(after) + " after, " +
                   std::to_string(took.count() / 1'000'000) + " ms");
      }
      trigger.trimmed(after, trim_trigger::clock::now());
    }
    lock.lock();
    if (trimmed) ++trims_;
  }
#endif
}

}  // namespace vial::server_detail
