#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
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

/// With glibc, fixes malloc's mmap threshold at `bytes` (0: does nothing). A fixed threshold
/// also stops glibc from raising the arenas' trim threshold with it, so the tops of per-thread
/// arenas go back to the system as they are freed.
void fix_mmap_threshold(std::size_t bytes) noexcept;

/// Hands free memory the allocator kept after a burst back to the system, from a thread of
/// its own (never an I/O or worker thread).
///
/// Every `interval` it measures `retained_free_bytes()`; when that grew by more than
/// `threshold` over its lowest recent value it calls `malloc_trim(0)`, which releases the
/// free pages inside every arena, not only at their tops. At most one trim per interval; a
/// trim that finds nothing to release raises the bar, so a process whose free memory is
/// pinned by fragmentation is not trimmed over and over. Does nothing without glibc.
/// docs/design.md ("Memory that comes back") has the reasons and the measurements.
class memory_trimmer {
 public:
  /// `threshold` 0: no thread, nothing is ever trimmed.
  memory_trimmer(std::size_t threshold, std::chrono::milliseconds interval, const logger& log);
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
  const logger& log_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mutex_
  std::size_t trims_ = 0;  // guarded by mutex_
  std::thread thread_;
};

}  // namespace vial::server_detail
