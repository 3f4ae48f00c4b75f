#include "request_reader.hpp"

#include <algorithm>
#include <atomic>
#include <functional>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "http/refusal.hpp"
#include "text.hpp"
#include "vial/app/app.hpp"
#include "vial/detail/request_access.hpp"
#include "vial/http/error.hpp"
#include "vial/server/options.hpp"
#include "wire.hpp"

namespace vial::server_detail {

namespace http = boost::beast::http;
using boost::system::error_code;

namespace {

// The longest chunk-size line (size and extensions, without its CRLF). Beast buffers the line
// until its CRLF with no limit of its own, and nothing legitimate comes near this: a size is at
// most 16 hex digits, and no extension is defined.
constexpr std::size_t max_chunk_line = 4096;

std::atomic<std::size_t> live_states{0};

// Beast reports a malformed HTTP-version and one it does not support alike, as bad_version:
// only a well-formed "HTTP/" DIGIT "." DIGIT other than 1.0 and 1.1 is 505 (RFC 9112 2.3: the
// name is case-sensitive). `data` starts with the request line, which Beast has not consumed,
// and holds at least the 8 bytes of the version when Beast judged it.
int version_status(std::string_view data) {
  auto first = data.find(' ');
  auto second = first == std::string_view::npos ? first : data.find(' ', first + 1);
  if (second == std::string_view::npos) return 400;
  auto v = data.substr(second + 1, 8);
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  bool other = v.size() == 8 && v.starts_with("HTTP/") && digit(v[5]) && v[6] == '.' &&
               digit(v[7]) && v != "HTTP/1.0" && v != "HTTP/1.1";
  return other ? 505 : 400;
}

// The status a parser error answers; framing errors all close the connection.
int status_for(const error_code& ec, std::string_view data) {
  if (ec == http::error::header_limit) return 431;
  if (ec == http::error::body_limit) return 413;
  if (ec == http::error::bad_version) return version_status(data);
  return 400;
}

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// True when `bytes` folds a line: a line break followed by a space or tab (obs-fold, RFC 9112
// 5.2). `before` is the byte that preceded them.
bool has_obs_fold(char before, std::string_view bytes) {
  auto folds = [&](std::size_t at) { return bytes[at] == ' ' || bytes[at] == '\t'; };
  if (bytes.empty()) return false;
  if (before == '\n' && folds(0)) return true;
  // One memchr per line, not a test per byte.
  for (auto lf = bytes.find('\n'); lf != std::string_view::npos && lf + 1 < bytes.size();
       lf = bytes.find('\n', lf + 1)) {
    if (folds(lf + 1)) return true;
  }
  return false;
}

// The bytes that end a request-target.
constexpr detail::byte_set target_end{
    [](unsigned char c) { return c == ' ' || c == '\r' || c == '\n'; }};

// A reader's state (about 1.2 KiB) is made per request, so that a waiting connection holds
// none. At that size malloc serves it from an arena, under the arena's lock, not from its
// per-thread cache (tcache, up to 1,032 bytes): a tenth of the allocator's time on /hello.
// Each thread keeps the memory of a few freed states for its next requests instead.
class spare_states {
 public:
  static constexpr std::size_t keep = 4;
  spare_states() = default;
  spare_states(const spare_states&) = delete;
  spare_states& operator=(const spare_states&) = delete;
  ~spare_states() {
    closed_ = true;  // a state freed later on this thread goes back to malloc
    while (count_ > 0) ::operator delete(blocks_[--count_]);
  }
  void* take() noexcept { return count_ > 0 ? blocks_[--count_] : nullptr; }
  bool give(void* block) noexcept {
    if (closed_ || count_ == keep) return false;
    blocks_[count_++] = block;
    return true;
  }

 private:
  void* blocks_[keep] = {};
  std::size_t count_ = 0;
  bool closed_ = false;
};

thread_local spare_states spares;

// What to do at the start of a chunk-size line.
struct chunk_line {
  int status = 0;        // non-zero: fail with it
  std::size_t take = 0;  // bytes to give the parser (0: wait for more)
};

}  // namespace

struct request_reader::impl {
  using parser_type = http::request_parser<http::string_body>;

  impl(const vial::app& a, const server_options& o, const std::string& r, std::string& m,
       std::string& t, std::optional<vial::request>& req, vial::matched_route& rt)
      : app(a), options(o), remote(r), method(m), target(t), request(req), route(rt) {
    live_states.fetch_add(1, std::memory_order_relaxed);
  }
  ~impl() { live_states.fetch_sub(1, std::memory_order_relaxed); }
  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;
  static void* operator new(std::size_t size) {
    if (void* block = spares.take()) return block;
    return ::operator new(size);
  }
  static void operator delete(void* block) noexcept {
    if (!spares.give(block)) ::operator delete(block);
  }

  read_step fail(int code, std::size_t used) {
    status = code;
    return {read_state::failed, used};
  }
  read_step feed(std::string_view data, std::size_t& used);
  // The checks that need the whole header section; false after answering `failed`.
  bool check_header();
  chunk_line next_chunk_line(std::string_view data) const;
  read_state finish();
  // A body over the limit: the app answers 413 and the connection closes, the rest of the
  // body unread.
  void refuse_body() {
    request->set_refusal(detail::body_too_large(limit));
    status = refused = 413;
    keep_alive = false;
  }

  const vial::app& app;
  const server_options& options;
  const std::string& remote;  // the reader's: the peer's address
  std::optional<parser_type> parser;
  bool header_checked = false;
  bool request_line_seen = false;
  std::size_t header_bytes = 0;  // consumed before the header was checked
  char last_header_byte = 0;     // the last of them, to see an obs-fold split across reads
  // A chunked body is given to Beast a piece at a time, so that each chunk-size line and the
  // trailer section are measured before Beast buffers them: the data of the current chunk,
  // then one whole size line, or the last chunk with its whole trailer section.
  std::uint64_t chunk_left = 0;  // data bytes of the current chunk not given to Beast yet
  bool chunk_seen = false;       // a chunk with data was read: its CRLF precedes the next line
  std::function<void(std::uint64_t, boost::beast::string_view, error_code&)> on_chunk_header =
      [this](std::uint64_t size, boost::beast::string_view, error_code&) {
        chunk_left = size;
        if (size > 0) chunk_seen = true;
      };
  int status = 0;
  int refused = 0;        // the status of the request's refusal, answered by the app
  std::size_t limit = 0;  // the body limit of this request
  std::string& method;    // the reader's, which outlive this state
  std::string& target;
  bool expects_continue = false;
  bool keep_alive = true;
  bool http10 = false;
  bool is_head = false;
  // The reader's, where the connection uses them: built in place, never moved.
  std::optional<vial::request>& request;
  vial::matched_route& route;
};

bool request_reader::impl::check_header() {
  header_checked = true;
  const auto& h = parser->get();
  // Assigned, not rebuilt: the strings keep their capacity from one request to the next.
  method.assign(h.method_string().data(), h.method_string().size());
  target.assign(h.target().data(), h.target().size());
  // Beast applies its header limit to the fields alone when the whole header arrives in one
  // read, and from the start of the header otherwise: count the section here so that the limit
  // is the same however the bytes were split.
  if (header_bytes > options.max_header_bytes) {
    status = 431;
    return false;
  }
  if (h.version() != 10 && h.version() != 11) {
    status = 505;
    return false;
  }
  // One pass over the fields for what the checks below need, instead of a lookup each.
  std::size_t count = 0, hosts = 0, codings = 0, lengths = 0;
  std::string_view host, expect;
  for (const auto& f : h) {
    ++count;
    switch (f.name()) {
      case http::field::host:
        if (hosts++ == 0) host = f.value();
        break;
      case http::field::transfer_encoding:
        ++codings;
        break;
      case http::field::content_length:
        ++lengths;
        break;
      case http::field::expect:
        if (expect.empty()) expect = f.value();
        break;
      default:
        break;
    }
  }
  // RFC 9112 3.2: exactly one valid Host in HTTP/1.1.
  if (hosts > 1 || (hosts == 0 && h.version() == 11) || (hosts == 1 && !valid_host(host))) {
    status = 400;
    return false;
  }
  if (codings > 0) {
    if (lengths > 0) {
      status = 400;
      return false;
    }
    std::vector<std::string_view> fields;
    for (auto it = h.find(http::field::transfer_encoding);
         it != h.end() && it->name() == http::field::transfer_encoding; ++it) {
      fields.push_back(it->value());
    }
    auto check = check_transfer_codings(fields);
    if (check != coding_check::ok) {
      status = check == coding_check::bad_request ? 400 : 501;
      return false;
    }
  }
  keep_alive = h.keep_alive();
  http10 = h.version() == 10;
  // RFC 9112 6.1: Transfer-Encoding in HTTP/1.0 is faulty framing; answer, then close.
  if (http10 && codings > 0) keep_alive = false;
  is_head = h.method() == http::verb::head;
  // The request is built from the header section alone: trailer fields, which Beast adds to
  // the same message, never reach it (RFC 9110 6.5.1), and the route's body limit is looked up
  // with the path the router will see (decoded, absolute-form stripped), not the raw target.
  vial::headers fields;
  fields.reserve(count);
  for (const auto& f : h) fields.add(f.name_string(), f.value());
  // A bad target is the app's to answer (its error handlers and hooks), once the body has been
  // read, keeping the connection.
  request.emplace(vial::request::refused_or_valid(method, target, std::move(fields)));
  detail::request_access::set_version(*request, static_cast<int>(h.version()));
  if (const auto* refusal = request->refusal()) refused = refusal->status();
  request->set_remote_address(remote);
  // Routed once, here: the route's body limit is needed before the body, and dispatch takes
  // the match from `take_route()`.
  route = app.match(*request);
  limit = route.body_limit().value_or(options.max_body_bytes);
  if (auto length = parser->content_length(); length && *length > limit) {
    refuse_body();  // without reading it
    return true;
  }
  parser->body_limit(limit);
  parser->eager(true);
  expects_continue = h.version() == 11 && iequals(expect, "100-continue");
  return true;
}

read_state request_reader::impl::finish() {
  auto body = std::move(parser->get().body());
  parser.reset();
  request->set_body(std::move(body));
  if (refused != 0) {
    status = refused;
    return read_state::refused;
  }
  return read_state::complete;
}

request_reader::request_reader(const vial::app& app, const server_options& options)
    : app_(app), options_(options) {}

request_reader::~request_reader() = default;

// The state (a Beast parser, the request being built: about 1 KiB) lives only while a request
// is read: a connection waiting for its next request, or answering one, holds none of it.
void request_reader::reset() noexcept {
  impl_.reset();
  drop_request();
  method_.clear();
  target_.clear();
}

void request_reader::release() noexcept { impl_.reset(); }

std::size_t request_reader::states() noexcept {
  return live_states.load(std::memory_order_relaxed);
}

request_reader::impl& request_reader::state() {
  if (impl_) return *impl_;
  impl_ = std::make_unique<impl>(app_, options_, remote_, method_, target_, request_, route_);
  auto& s = *impl_;
  s.parser.emplace();
  s.parser->header_limit(static_cast<std::uint32_t>(s.options.max_header_bytes));
  s.parser->body_limit(boost::none);  // set per route once the header is known
  s.parser->eager(false);             // stop after the header: it is checked before the body
  s.parser->on_chunk_header(s.on_chunk_header);
  return s;
}

// At the start of a chunk-size line (after the CRLF that ends the previous chunk's data): how
// much of `data` Beast may have. Beast keeps a line it has not seen the end of, however long,
// so the line is measured here; the last chunk goes to Beast only with its whole trailer
// section, which counts against max_header_bytes together with the header.
chunk_line request_reader::impl::next_chunk_line(std::string_view data) const {
  const std::size_t start = chunk_seen ? 2 : 0;
  if (data.size() < start) return {};
  if (chunk_seen && !data.starts_with("\r\n")) return {.status = 400};
  auto eol = data.find("\r\n", start);
  if (eol == std::string_view::npos) {
    auto pending = data.size() - start - (data.ends_with('\r') ? 1 : 0);
    return {.status = pending > max_chunk_line ? 400 : 0};
  }
  auto line = data.substr(start, eol - start);
  if (line.size() > max_chunk_line) return {.status = 400};
  auto digits_end = std::find_if_not(line.begin(), line.end(), is_hex);
  bool last =
      !line.empty() && std::all_of(line.begin(), digits_end, [](char c) { return c == '0'; });
  if (!last) return {.take = eol + 2};
  // The trailer section runs from after the line to the blank line that ends the message,
  // which Beast looks for from the line's own CRLF (so "0\r\n\r\n" has an empty one).
  const std::size_t budget =
      options.max_header_bytes - std::min(header_bytes, options.max_header_bytes);
  const std::size_t trailer = eol + 2;
  auto eom = data.find("\r\n\r\n", eol);
  if (eom == std::string_view::npos) {
    return {.status = data.size() - trailer >= budget + 2 ? 431 : 0};
  }
  if (eom + 2 - trailer > budget) return {.status = 431};
  if (has_obs_fold('\n', data.substr(trailer, eom + 2 - trailer))) return {.status = 400};
  return {.take = eom + 4};
}

read_step request_reader::impl::feed(std::string_view data, std::size_t& used) {
  for (;;) {
    if (data.empty()) return {read_state::need_more, used};
    if (!request_line_seen) {
      // Beast has no request-target limit of its own: measure it before the header limit hits.
      // Only until Beast consumes the request line (it consumes nothing before the line is
      // whole): after that the data starts inside the header fields.
      if (auto sp = data.find(' '); sp != std::string_view::npos) {
        auto rest = data.substr(sp + 1);
        auto end = target_end.find_in(rest);
        auto len = end == std::string_view::npos ? rest.size() : end;
        if (len > options.max_uri_bytes) return fail(414, used);
      }
    }
    auto piece = data;
    const bool in_chunk = header_checked && parser->chunked() && chunk_left > 0;
    if (header_checked && parser->chunked()) {
      if (in_chunk) {
        piece = data.substr(
            0, static_cast<std::size_t>(std::min<std::uint64_t>(chunk_left, data.size())));
      } else {
        auto next = next_chunk_line(data);
        if (next.status != 0) return fail(next.status, used);
        if (next.take == 0) return {read_state::need_more, used};
        piece = data.substr(0, next.take);
      }
    }
    error_code ec;
    auto n = parser->put(boost::asio::const_buffer(piece.data(), piece.size()), ec);
    if (!header_checked) {
      // Beast unfolds an obs-fold into the value, and would frame the body by a folded
      // Transfer-Encoding or Content-Length that an intermediary reads differently.
      if (has_obs_fold(last_header_byte, data.substr(0, n))) return fail(400, used);
      header_bytes += n;  // eager is off: the put stops after the header
      if (n > 0) last_header_byte = data[n - 1];
    }
    if (in_chunk) chunk_left -= n;
    if (n > 0) request_line_seen = true;
    used += n;
    if (ec == http::error::need_more) {
      // A whole size line or last chunk was given: Beast must not wait for more of it.
      if (header_checked && parser->chunked() && !in_chunk) return fail(400, used);
      return {read_state::need_more, used};
    }
    if (ec == http::error::body_limit && header_checked) {
      refuse_body();
      return {read_state::refused, used};
    }
    if (ec) return fail(status_for(ec, data), used);
    data.remove_prefix(n);
    if (parser->is_header_done() && !header_checked) {
      if (!check_header()) return {read_state::failed, used};
      if (status == 413) return {read_state::refused, used};
      if (!parser->is_done()) return {read_state::body, used};
    }
    if (parser->is_done()) return {finish(), used};
  }
}

read_step request_reader::feed(std::string_view data) {
  auto& s = state();
  std::size_t used = 0;
  if (s.status != 0) return {read_state::failed, 0};  // answered already: reset() first
  try {
    return s.feed(data, used);
  } catch (const std::length_error&) {
    // Beast's fields hold a name or value of at most 64 KiB and throw past it (reachable only
    // with max_header_bytes over 64 KiB): a field too large.
    return s.fail(431, used);
  } catch (...) {
    // Nothing the parser throws may leave the reader: the connection answers and closes.
    return s.fail(400, used);
  }
}

int request_reader::status() const noexcept { return impl_ ? impl_->status : 0; }
const std::string& request_reader::method() const noexcept { return method_; }
const std::string& request_reader::target() const noexcept { return target_; }
bool request_reader::expects_continue() const noexcept { return impl_ && impl_->expects_continue; }
bool request_reader::keep_alive() const noexcept { return !impl_ || impl_->keep_alive; }
bool request_reader::http10() const noexcept { return impl_ && impl_->http10; }
bool request_reader::is_head() const noexcept { return impl_ && impl_->is_head; }

request request_reader::take_request() {
  request out = std::move(*request_);
  drop_request();
  return out;
}

void request_reader::drop_request() noexcept { request_.reset(); }

}  // namespace vial::server_detail
