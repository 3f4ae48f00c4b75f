#include "vial/http/stream.hpp"

#include <string_view>

namespace vial {

namespace {

// Field values of `event` and `id` must stay on one line; NUL makes browsers ignore an id.
void append_single_line(std::string& out, std::string_view field, std::string_view value) {
  out += field;
  out += ": ";
  for (char c : value) {
    if (c != '\r' && c != '\n' && c != '\0') out += c;
  }
  out += '\n';
}

}  // namespace

std::string format_sse(const sse_event& e) {
  std::string out;
  if (!e.event.empty()) append_single_line(out, "event", e.event);
  if (!e.id.empty()) append_single_line(out, "id", e.id);
  if (e.retry_ms && *e.retry_ms >= 0) {
    out += "retry: ";
    out += std::to_string(*e.retry_ms);
    out += '\n';
  }
  // The SSE parser ends a line at CRLF, CR or LF; each source line becomes its own data field.
  std::string_view data = e.data;
  while (true) {
    auto end = data.find_first_of("\r\n");
    out += "data: ";
    out += data.substr(0, end);
    out += '\n';
    if (end == std::string_view::npos) break;
    std::size_t skip =
        (data[end] == '\r' && end + 1 < data.size() && data[end + 1] == '\n') ? 2 : 1;
    data.remove_prefix(end + skip);
  }
  out += '\n';
  return out;
}

}  // namespace vial
