#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "vial/log.hpp"

namespace vial::testing {

/// A logger that keeps every line, for tests that assert what was logged.
class log_capture {
 public:
  log_capture()
      : logger_(
            [this](log_level level, std::string_view message) {
              std::lock_guard lock(mutex_);
              lines_.push_back(std::string(to_string(level)) + " " + std::string(message));
            },
            log_level::debug) {}

  const vial::logger& logger() const { return logger_; }
  std::vector<std::string> lines() const {
    std::lock_guard lock(mutex_);
    return lines_;
  }
  /// True when some line contains `needle`.
  bool contains(std::string_view needle) const {
    std::lock_guard lock(mutex_);
    for (const auto& l : lines_) {
      if (l.find(needle) != std::string::npos) return true;
    }
    return false;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> lines_;
  vial::logger logger_;
};

}  // namespace vial::testing
