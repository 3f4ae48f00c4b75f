#pragma once

#include <functional>
#include <iosfwd>
#include <string>

#include "vial/server/options.hpp"

namespace vial {

/// Line formats of the ready-made access-log sinks.
enum class access_log_format {
  /// nginx's and gunicorn's "combined" format, which log analysers read:
  /// `203.0.113.7 - - [06/Dec/2026:13:02:11 +0000] "GET /a?b=1 HTTP/1.1" 200 512 "-" "curl/7.88"`.
  /// The address is printed without its port; time is UTC; `"` and bytes outside printable
  /// ASCII are written `\xHH`, as nginx does; an empty field is `-`.
  combined,
  /// One JSON object per line, keys sorted: `bytes`, `duration_ms` (a number with µs
  /// precision), `method`, `referer`, `remote`, `request_id`, `status`, `target`, `time`
  /// (ISO 8601 UTC with milliseconds), `user_agent`, `version` ("HTTP/1.1"). Invalid UTF-8 is
  /// replaced by U+FFFD.
  json_lines,
};

/// `record` as one line in `format`, without the newline.
std::string format_access_record(const access_record& record, access_log_format format);

/// A sink for `server_options::access_log` writing one line per record to `out` and flushing
/// it; writes from several I/O threads are serialized. `out` must outlive the server.
std::function<void(const access_record&)> access_log_to(
    std::ostream& out, access_log_format format = access_log_format::combined);

/// The same, appending to the file at `path`, opened (and created if missing) now.
/// @throws std::system_error when the file cannot be opened.
std::function<void(const access_record&)> access_log_file(
    const std::string& path, access_log_format format = access_log_format::combined);

}  // namespace vial
