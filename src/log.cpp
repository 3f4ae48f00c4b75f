#include "vial/log.hpp"

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <string>

#include "http/request_id.hpp"

namespace vial {

std::string_view to_string(log_level level) noexcept {
  switch (level) {
    case log_level::debug:
      return "DEBUG";
    case log_level::info:
      return "INFO";
    case log_level::warning:
      return "WARNING";
    case log_level::error:
      return "ERROR";
    case log_level::off:
      return "OFF";
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
  if (!enabled(level)) return;
  if (std::string_view id = detail::current_request_id(); !id.empty()) {
    // A line logged while a request is dispatched names it, as its access record does.
    std::string line;
    line.reserve(id.size() + 3 + message.size());
    line.append("[").append(id).append("] ").append(message);
    return sink_(level, escape_controls(line));
  }
  auto is_control = [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) == 0x7f;
  };
  if (std::none_of(message.begin(), message.end(), is_control)) return sink_(level, message);
  sink_(level, escape_controls(message));
}

std::string escape_controls(std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u != 0x7f) {
      out.push_back(c);
    } else if (c == '\r') {
      out.append("\\r");
    } else if (c == '\n') {
      out.append("\\n");
    } else if (c == '\t') {
      out.append("\\t");
    } else {
      out.append("\\x").push_back(hex[u >> 4]);
      out.push_back(hex[u & 0xf]);
    }
  }
  return out;
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
