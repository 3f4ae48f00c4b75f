#include "vial/app/static_files.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <fstream>
#include <memory>
#include <system_error>
#include <utility>

#include "text.hpp"
#include "vial/app/app.hpp"
#include "vial/app/blueprint.hpp"
#include "vial/app/stream.hpp"
#include "vial/http/cookies.hpp"
#include "vial/http/error.hpp"

namespace vial {

namespace fs = std::filesystem;

namespace {

struct type_entry {
  std::string_view ext;
  std::string_view type;
};

constexpr std::array<type_entry, 32> content_types{{
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"json", "application/json"},
    {"map", "application/json"},
    {"txt", "text/plain; charset=utf-8"},
    {"md", "text/markdown; charset=utf-8"},
    {"csv", "text/csv; charset=utf-8"},
    {"xml", "application/xml"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"avif", "image/avif"},
    {"ico", "image/vnd.microsoft.icon"},
    {"pdf", "application/pdf"},
    {"wasm", "application/wasm"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"ttf", "font/ttf"},
    {"otf", "font/otf"},
    {"mp4", "video/mp4"},
    {"webm", "video/webm"},
    {"mp3", "audio/mpeg"},
    {"wav", "audio/wav"},
    {"zip", "application/zip"},
    {"gz", "application/gzip"},
    {"tar", "application/x-tar"},
}};

std::string to_hex(std::uint64_t n) {
  std::array<char, 16> buf{};
  auto [p, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), n, 16);
  return std::string(buf.data(), p);
}

/// Does an If-None-Match list hold `etag`? Weak comparison, as RFC 9110 requires for it.
bool etag_listed(std::string_view list, std::string_view etag) {
  if (detail::trim_ows(list) == "*") return true;
  while (!list.empty()) {
    const auto comma = list.find(',');
    auto item = detail::trim_ows(list.substr(0, comma));
    if (item.starts_with("W/")) item.remove_prefix(2);
    if (item == etag) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

std::optional<std::uint64_t> parse_number(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::uint64_t n = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return n;
}

struct byte_range {
  std::uint64_t first = 0;
  std::uint64_t last = 0;  // inclusive
};

/// One range of "bytes=a-b" / "a-" / "-n". nullopt: ignore the header; `unsatisfiable` is set
/// when it is well-formed but selects nothing.
std::optional<byte_range> parse_range(std::string_view header, std::uint64_t size,
                                      bool& unsatisfiable) {
  header = detail::trim_ows(header);
  if (!header.starts_with("bytes=")) return std::nullopt;
  header.remove_prefix(6);
  if (header.find(',') != std::string_view::npos) return std::nullopt;
  header = detail::trim_ows(header);
  const auto dash = header.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  const auto a = header.substr(0, dash);
  const auto b = header.substr(dash + 1);
  if (a.empty()) {
    auto n = parse_number(b);
    if (!n) return std::nullopt;
    if (*n == 0 || size == 0) {
      unsatisfiable = true;
      return std::nullopt;
    }
    const auto len = std::min(*n, size);
    return byte_range{size - len, size - 1};
  }
  auto first = parse_number(a);
  if (!first) return std::nullopt;
  std::uint64_t last = size == 0 ? 0 : size - 1;
  if (!b.empty()) {
    auto l = parse_number(b);
    if (!l || *l < *first) return std::nullopt;
    last = std::min(*l, last);
  }
  if (*first >= size) {
    unsatisfiable = true;
    return std::nullopt;
  }
  return byte_range{*first, last};
}

std::string attachment_header(std::string_view name) {
  std::string safe;
  for (unsigned char c : name) {
    safe.push_back(c < 0x20 || c >= 0x7f || c == '"' || c == '\\' ? '_' : static_cast<char>(c));
  }
  return "attachment; filename=\"" + safe + "\"";
}

[[noreturn]] void not_found() {
  throw http_error(404, "The requested URL was not found on the server.");
}

}  // namespace

std::string_view guess_content_type(std::string_view filename) {
  const auto dot = filename.rfind('.');
  const auto slash = filename.rfind('/');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) {
    return "application/octet-stream";
  }
  const auto ext = detail::ascii_lower(filename.substr(dot + 1));
  for (const auto& e : content_types) {
    if (e.ext == ext) return e.type;
  }
  return "application/octet-stream";
}

namespace {

/// What identifies a file's current content to caches: its size and modification time.
struct file_identity {
  std::uint64_t size = 0;
  std::chrono::sys_seconds mtime;
  std::string etag;
  std::string last_modified;
};

/// The regular file at `path`, or 404.
file_identity identify(const fs::path& path) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec || !fs::is_regular_file(status)) not_found();
  file_identity id;
  id.size = fs::file_size(path, ec);
  if (ec) not_found();
  const auto mtime_raw = fs::last_write_time(path, ec);
  if (ec) not_found();
  id.mtime = std::chrono::time_point_cast<std::chrono::seconds>(
      std::chrono::file_clock::to_sys(mtime_raw));
  const auto ticks = static_cast<std::uint64_t>(mtime_raw.time_since_epoch().count());
  id.etag = "\"" + to_hex(id.size) + "-" + to_hex(ticks) + "\"";
  id.last_modified = format_http_date(id.mtime);
  return id;
}

/// Whether the client's cached copy is current (If-None-Match, else If-Modified-Since).
bool not_modified(const request& req, const file_identity& id) {
  if (auto inm = req.header("If-None-Match")) return etag_listed(*inm, id.etag);
  if (auto ims = req.header("If-Modified-Since")) {
    auto since = parse_http_date(*ims);
    return since && id.mtime <= *since;
  }
  return false;
}

/// The part of the file a response sends.
struct byte_span {
  std::uint64_t first = 0;
  std::uint64_t length = 0;
};

/// Applies the request's Range (when If-Range allows it): narrows `span` and makes `res` a 206,
/// or returns the 416 to send instead.
std::optional<response> apply_range(const request& req, const file_identity& id, response& res,
                                    byte_span& span) {
  auto range_header = req.header("Range");
  if (!range_header) return std::nullopt;
  bool range_applies = true;
  if (auto if_range = req.header("If-Range")) {
    const auto validator = detail::trim_ows(*if_range);
    range_applies = validator == id.etag || validator == id.last_modified;
  }
  bool unsatisfiable = false;
  auto range = range_applies ? parse_range(*range_header, id.size, unsatisfiable) : std::nullopt;
  if (unsatisfiable) {
    response r = response::text("416 Range Not Satisfiable\n", 416);
    r.set_header("Content-Range", "bytes */" + std::to_string(id.size));
    r.set_header("Accept-Ranges", "bytes");
    return r;
  }
  if (range) {
    span = {range->first, range->last - range->first + 1};
    res.set_status(206);
    res.set_header("Content-Range", "bytes " + std::to_string(range->first) + "-" +
                                        std::to_string(range->last) + "/" +
                                        std::to_string(id.size));
  }
  return std::nullopt;
}

/// `res` with `span` of the file as its body: read at once up to the stream threshold,
/// streamed in chunks beyond it (with `res`'s status and headers).
response with_file_body(response res, const fs::path& path, byte_span span,
                        const send_file_options& options) {
  auto file = std::make_shared<std::ifstream>(path, std::ios::binary);
  if (!*file) not_found();
  file->seekg(static_cast<std::streamoff>(span.first));
  if (span.length <= options.stream_threshold) {
    std::string body(static_cast<std::size_t>(span.length), '\0');
    file->read(body.data(), static_cast<std::streamsize>(span.length));
    body.resize(static_cast<std::size_t>(file->gcount()));
    res.set_body(std::move(body));
    return res;
  }
  const std::size_t chunk = std::max<std::size_t>(options.chunk_size, 1);
  auto streamed = stream(
      [file, remaining = span.length, chunk]() mutable -> std::optional<std::string> {
        if (remaining == 0) return std::nullopt;
        std::string buf(static_cast<std::size_t>(std::min<std::uint64_t>(remaining, chunk)), '\0');
        file->read(buf.data(), static_cast<std::streamsize>(buf.size()));
        const auto got = static_cast<std::size_t>(file->gcount());
        if (got == 0) return std::nullopt;  // the file shrank under us
        buf.resize(got);
        remaining -= got;
        return buf;
      },
      res.content_type());
  streamed.set_status(res.status());
  for (const auto& [name, value] : res.headers()) {
    if (!streamed.headers().contains(name)) streamed.set_header(name, value);
  }
  return streamed;
}

}  // namespace

response send_file(const request& req, const fs::path& path, const send_file_options& options) {
  const file_identity id = identify(path);
  response res;
  res.set_header("ETag", id.etag);
  res.set_header("Last-Modified", id.last_modified);
  res.set_header("Cache-Control",
                 options.max_age ? "public, max-age=" + std::to_string(options.max_age->count())
                                 : std::string("no-cache"));
  const bool get_or_head = req.method() == method::get || req.method() == method::head;
  if (get_or_head && not_modified(req, id)) {
    res.set_status(304);
    return res;
  }

  res.set_content_type(options.content_type.empty() ? guess_content_type(path.filename().string())
                                                    : std::string_view(options.content_type));
  res.set_header("Accept-Ranges", "bytes");
  if (options.as_attachment) {
    res.set_header("Content-Disposition",
                   attachment_header(options.download_name.empty() ? path.filename().string()
                                                                   : options.download_name));
  }

  byte_span span{0, id.size};
  if (get_or_head) {
    if (auto refused = apply_range(req, id, res, span)) return std::move(*refused);
  }
  return with_file_body(std::move(res), path, span, options);
}

response send_from_directory(const request& req, const fs::path& directory,
                             std::string_view subpath, const send_file_options& options) {
  if (subpath.empty() || subpath.front() == '/' ||
      subpath.find_first_of(std::string_view("\\\0", 2)) != std::string_view::npos) {
    not_found();
  }
  fs::path relative;
  std::string_view rest = subpath;
  while (!rest.empty()) {
    const auto slash = rest.find('/');
    const auto segment = rest.substr(0, slash);
    if (segment == "..") not_found();
    if (!segment.empty() && segment != ".") relative /= fs::path(std::string(segment));
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  if (relative.empty()) not_found();
  std::error_code ec;
  const auto root = fs::weakly_canonical(directory, ec);
  if (ec) not_found();
  const auto target = fs::weakly_canonical(root / relative, ec);
  if (ec) not_found();
  // Symlinks are resolved by weakly_canonical: the real file must still be under the root.
  auto [r, t] = std::mismatch(root.begin(), root.end(), target.begin(), target.end());
  if (r != root.end() && !(std::next(r) == root.end() && r->empty())) not_found();
  return send_file(req, target, options);
}

app& app::static_folder(std::string_view url_path, std::string directory) {
  get(runtime_rule(join_rule(url_path, "<path:filename>")),
      [dir = fs::path(std::move(directory))](request& req, std::string_view filename) {
        return send_from_directory(req, dir, filename);
      },
      {.endpoint = "static"});
  return *this;
}

}  // namespace vial
