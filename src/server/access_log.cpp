#include "vial/server/access_log.hpp"

#include <cerrno>
#include <chrono>
#include <ctime>
#include <fstream>
#include <memory>
#include <mutex>
#include <ostream>
#include <system_error>

#include <nlohmann/json.hpp>

namespace vial {

namespace {

// "203.0.113.7:41000" → "203.0.113.7", "[::1]:41000" → "::1"; anything else as it is.
std::string_view without_port(std::string_view remote) {
  if (remote.starts_with('[')) {
    auto close = remote.find(']');
    return close == std::string_view::npos ? remote : remote.substr(1, close - 1);
  }
  auto colon = remote.find(':');
  if (colon != std::string_view::npos && remote.find(':', colon + 1) == std::string_view::npos) {
    return remote.substr(0, colon);
  }
  return remote;
}

// nginx's escaping of logged variables: printable ASCII but `"` kept, the rest \xHH.
// (Controls arrive already written as `\r`/`\xNN` by the server; their backslash is kept.)
void append_combined_field(std::string& out, std::string_view value) {
  if (value.empty()) return out.push_back('-');
  static constexpr char hex[] = "0123456789ABCDEF";
  for (char c : value) {
    auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b >= 0x7f || c == '"') {
      out.append("\\x").push_back(hex[b >> 4]);
      out.push_back(hex[b & 0xf]);
    } else {
      out.push_back(c);
    }
  }
}

std::tm utc_now(std::chrono::system_clock::time_point now) {
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return tm;
}

std::string version_text(int version) {
  return "HTTP/" + std::to_string(version / 10) + "." + std::to_string(version % 10);
}

std::string combined(const access_record& r) {
  char time[40];
  const std::tm tm = utc_now(std::chrono::system_clock::now());
  std::strftime(time, sizeof time, "[%d/%b/%Y:%H:%M:%S +0000]", &tm);
  std::string out;
  out.reserve(128 + r.target.size() + r.user_agent.size() + r.referer.size());
  append_combined_field(out, without_port(r.remote));
  out.append(" - - ").append(time).append(" \"");
  if (r.method == "-") {
    out.push_back('-');  // refused before a request line could be read
  } else {
    append_combined_field(out, r.method);
    out.push_back(' ');
    append_combined_field(out, r.target);
    out.append(" ").append(version_text(r.version));
  }
  out.append("\" ").append(std::to_string(r.status)).append(" ");
  out.append(std::to_string(r.bytes)).append(" \"");
  append_combined_field(out, r.referer);
  out.append("\" \"");
  append_combined_field(out, r.user_agent);
  out.push_back('"');
  return out;
}

std::string json_line(const access_record& r) {
  const auto now = std::chrono::system_clock::now();
  const std::tm tm = utc_now(now);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  char time[40];
  std::size_t n = std::strftime(time, sizeof time, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(time + n, sizeof time - n, ".%03dZ", static_cast<int>(ms.count()));
  nlohmann::json j{
      {"time", time},
      {"remote", r.remote},
      {"method", r.method},
      {"target", r.target},
      {"version", version_text(r.version)},
      {"status", r.status},
      {"bytes", r.bytes},
      {"duration_ms", static_cast<double>(r.duration.count()) / 1000.0},
      {"request_id", r.request_id},
      {"referer", r.referer},
      {"user_agent", r.user_agent},
  };
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

std::string format_access_record(const access_record& record, access_log_format format) {
  return format == access_log_format::combined ? combined(record) : json_line(record);
}

std::function<void(const access_record&)> access_log_to(std::ostream& out,
                                                        access_log_format format) {
  auto mutex = std::make_shared<std::mutex>();
  return [&out, format, mutex](const access_record& r) {
    std::string line = format_access_record(r, format);
    line.push_back('\n');
    std::lock_guard lock(*mutex);
    out.write(line.data(), static_cast<std::streamsize>(line.size()));
    out.flush();
  };
}

std::function<void(const access_record&)> access_log_file(const std::string& path,
                                                          access_log_format format) {
  struct file {
    std::mutex mutex;
    std::ofstream out;
  };
  auto f = std::make_shared<file>();
  errno = 0;
  f->out.open(path, std::ios::app | std::ios::binary);
  if (!f->out) {
    throw std::system_error(errno ? errno : EIO, std::generic_category(),
                            "cannot open access log '" + path + "'");
  }
  return [f, format](const access_record& r) {
    std::string line = format_access_record(r, format);
    line.push_back('\n');
    std::lock_guard lock(f->mutex);
    f->out.write(line.data(), static_cast<std::streamsize>(line.size()));
    f->out.flush();
  };
}

}  // namespace vial
