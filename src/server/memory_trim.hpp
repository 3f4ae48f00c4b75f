#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <mutex>
#include <thread>

namespace vial {
class logger;
}

namespace vial::server_detail {

/// What the allocator holds beyond the memory handed out: the process's resident size minus
/// the bytes malloc has live (arena chunks in use plus mmapped blocks). Zero where it cannot
/// be measured (not glibc, or /proc unavailable).
std::size_t retained_free_bytes() noexcept;

/// What the process holds, for the metrics. Zeros where it cannot be measured.
struct memory_figures {
  std::size_t resident = 0;     ///< resident set size
  std::size_t malloc_live = 0;  ///< malloc's bytes handed out: arena chunks in use + mmapped
  std::size_t malloc_free = 0;  ///< free bytes inside the arenas, resident or already trimmed
};
/// Reads them (glibc: `mallinfo2()`, which walks each arena's free lists under its lock).
memory_figures read_memory_figures() noexcept;

/// Trims done by every `memory_trimmer` of the process so far.
std::uint64_t memory_trims() noexcept;
/// How long those trims took: each locks the arenas one by one, so a thread allocating from
/// the arena being trimmed waits. Counts per bucket of `trim_duration_bounds` (seconds), plus
/// one for longer trims, and the sum in seconds.
inline constexpr double trim_duration_bounds[] = {0.001, 0.01, 0.1, 1};
struct trim_durations {
  std::uint64_t counts[std::size(trim_duration_bounds) + 1] = {};
  double sum = 0;
};
trim_durations memory_trim_durations() noexcept;

/// With glibc, fixes malloc's mmap threshold at `bytes` (0: does nothing). A fixed threshold
/// also stops glibc from raising the arenas' trim threshold with it, so the tops of per-thread
/// arenas go back to the system as they are freed.
void fix_mmap_threshold(std::size_t bytes) noexcept;

/// When to trim: a pure function of the retained bytes measured and the time, apart from the
/// allocator so that tests can drive it. The bar is the lowest retained figure since the last
/// trim (after a trim: what it could not release, such as pages pinned by live blocks). Due
///  - at once when the retained bytes grew `threshold` over the bar (a burst in progress), or
///  - once they have stopped growing for `quiet` and still exceed the bar by a quarter of the
///    threshold (what a burst left behind, too little to trip the first rule).
/// "Stopped growing": no rise of more than a sixteenth of the threshold over the highest
/// figure recorded since the bar last moved, so a heap that merely wobbles under steady load is quiet, and is trimmed
/// again only once it has taken back a quarter of the threshold. Distinct objects: safe.
/// Shared objects: unsafe.
class trim_trigger {
 public:
  using clock = std::chrono::steady_clock;
  trim_trigger(std::size_t threshold, clock::duration quiet, std::size_t retained,
               clock::time_point now) noexcept;
  /// Whether to trim now; also follows the figures (the bar down, the last growth).
  bool due(std::size_t retained, clock::time_point now) noexcept;
  /// A trim ran at `now` and left `retained`.
  void trimmed(std::size_t retained, clock::time_point now) noexcept;

 private:
  std::size_t threshold_;
  clock::duration quiet_;
  std::size_t bar_;         // lowest retained since the last trim
  std::size_t high_;        // highest retained recorded since the bar last moved
  clock::time_point grew_;  // when `high_` last rose (or the last trim)
};

/// Hands free memory the allocator kept after a burst back to the system, from a thread of
/// its own (never an I/O or worker thread).
///
/// Every `interval` it measures `retained_free_bytes()` and asks a `trim_trigger` whether to
/// call `malloc_trim(0)`, which releases the free pages inside every arena, not only at their
/// tops: during a burst when the retained memory grew `threshold`, and after one once it has
/// been quiet for `quiet`. At most one trim per interval; a trim that finds nothing to release
/// raises the bar, so a process whose free memory is pinned by fragmentation is not trimmed
/// over and over. Does nothing without glibc.
/// docs/design.md ("Memory that comes back") has the reasons and the measurements.
class memory_trimmer {
 public:
  /// `threshold` 0: no thread, nothing is ever trimmed.
  memory_trimmer(std::size_t threshold, std::chrono::milliseconds interval,
                 std::chrono::milliseconds quiet, const logger& log);
  /// Stops the thread (it sleeps between checks, so this returns at once).
  ~memory_trimmer();
  memory_trimmer(const memory_trimmer&) = delete;
  memory_trimmer& operator=(const memory_trimmer&) = delete;

  /// Trims done so far; for tests and figures.
  std::size_t trims() const;

 private:
  void run();

  const std::size_t threshold_;
  const std::chrono::milliseconds interval_;
  const std::chrono::milliseconds quiet_;
  const logger& log_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mutex_
  std::size_t trims_ = 0;  // guarded by mutex_
  std::thread thread_;
};

}  // namespace vial::server_detail
