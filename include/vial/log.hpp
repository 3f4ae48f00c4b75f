#pragma once

#include <exception>
#include <functional>
#include <string>
#include <string_view>

#include "vial/detail/sync_callback.hpp"

namespace vial {

enum class log_level { debug, info, warning, error, off };

/// "DEBUG", "INFO", "WARNING", "ERROR".
std::string_view to_string(log_level level) noexcept;

/// Receives formatted lines (without trailing newline, control characters escaped). Called from
/// any thread: sinks must be thread-safe. A plain function returning void: a coroutine would
/// never run, so it does not compile.
using log_sink = detail::sync_callback<log_level, std::string_view>;

/// A level filter in front of a sink. The default writes "LEVEL vial: message" lines to stderr.
/// Messages often quote request data (a decoded path, a JSON field): `log` passes them through
/// `escape_controls` first, so a CR or LF sent by a client cannot start a forged line. A line
/// logged while a request is being dispatched on the thread starts with its id: "[id] ...".
/// Distinct objects: safe. Shared objects: safe (const use), once configured.
class logger {
 public:
  logger();
  explicit logger(log_sink sink, log_level min_level = log_level::info);

  bool enabled(log_level level) const noexcept { return level >= min_ && sink_ != nullptr; }
  void log(log_level level, std::string_view message) const;
  void debug(std::string_view m) const { log(log_level::debug, m); }
  void info(std::string_view m) const { log(log_level::info, m); }
  void warning(std::string_view m) const { log(log_level::warning, m); }
  void error(std::string_view m) const { log(log_level::error, m); }

  void set_level(log_level level) noexcept { min_ = level; }
  log_level level() const noexcept { return min_; }

 private:
  log_sink sink_;
  log_level min_ = log_level::info;
};

/// `text` with each control character (C0 and DEL) written as an escape: `\r`, `\n`, `\t`, or
/// `\xNN`. Everything else, backslashes and bytes from 0x80 up (UTF-8) included, is unchanged:
/// the point is one record per line, not a reversible encoding.
std::string escape_controls(std::string_view text);

/// The message of an exception for a log line: `what()`, or "unknown exception".
std::string describe_exception(std::exception_ptr e);

/// The stderr logger used where no other is given.
const logger& default_logger() noexcept;

}  // namespace vial
