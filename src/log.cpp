#include "vial/log.hpp"

#include <cstdio>
#include <mutex>
#include <string>

namespace vial {

std::string_view to_string(log_level level) noexcept {
  switch (level) {
    case log_level::debug: return "DEBUG";
    case log_level::info: return "INFO";
    case log_level::warning: return "WARNING";
    case log_level::error: return "ERROR";
    case log_level::off: return "OFF";
  }
  return "UNKNOWN";
}

namespace {
void stderr_sink(log_level level, std::string_view message) {
  std::string line;
  line.reserve(message.size() + 16);
  line.append(to_string(level)).append(" vial: ").append(message).push_back('\n');
  // One fwrite per line keeps lines from different threads whole.
  std::fwrite(line.data(), 1, line.size(), stderr);
}
}  // namespace

logger::logger() : sink_(stderr_sink) {}

logger::logger(log_sink sink, log_level min_level) : sink_(std::move(sink)), min_(min_level) {}

void logger::log(log_level level, std::string_view message) const {
  if (enabled(level)) sink_(level, message);
}

std::string describe_exception(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  } catch (...) {
    return "unknown exception";
  }
}

const logger& default_logger() noexcept {
  static const logger instance;
  return instance;
}

}  // namespace vial
