#include "request_reader.hpp"

#include <algorithm>
#include <atomic>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>

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

// Constructs an `optional`'s value from what `f` returns, in place: the prvalue of the
// conversion initializes the value directly (a request is not moved into its slot).
template <class F>
struct from_call {
  F f;
  operator std::invoke_result_t<F&>() { return f(); }
};
template <class F>
from_call(F) -> from_call<F>;

// Beast's parsing and framing (its limits, Content-Length, Transfer-Encoding and chunking,
// Connection) without Beast's message: the method and target go into the reader's strings,
// each field straight into the headers the request is built from, the body into the string the
// request takes. A Beast message would cost an allocation per field, one for the method and
// target, and then a copy of each into the request.
class header_parser final : public http::basic_parser<true> {
 public:
  header_parser(std::string& method, std::string& target) : method_(method), target_(target) {}

  http::verb verb = http::verb::unknown;
  int version = 0;
  vial::headers fields;
  std::size_t hosts = 0, codings = 0, lengths = 0, expects = 0;
  std::string body;
  std::uint64_t chunk_left = 0;  // data bytes of the current chunk not given to Beast yet
  bool chunk_seen = false;       // a chunk with data was read: its CRLF precedes the next line

 private:
  void on_request_impl(http::verb v, boost::beast::string_view method_text,
                       boost::beast::string_view target, int v_number, error_code&) override {
    verb = v;
    version = v_number;
    // Assigned, not rebuilt: the strings keep their capacity from one request to the next.
    method_.assign(method_text.data(), method_text.size());
    target_.assign(target.data(), target.size());
  }
  void on_response_impl(int, boost::beast::string_view, int, error_code& ec) override {
    ec = http::error::bad_method;  // never called for a request parser
  }
  void on_field_impl(http::field name, boost::beast::string_view name_text,
                     boost::beast::string_view value, error_code&) override {
    if (is_header_done()) return;  // a trailer field: never part of the request
    switch (name) {
      case http::field::host:
        ++hosts;
        break;
      case http::field::transfer_encoding:
        ++codings;
        break;
      case http::field::content_length:
        ++lengths;
        break;
      case http::field::expect:
        ++expects;
        break;
      default:
        break;
    }
    fields.add(std::string_view(name_text.data(), name_text.size()),
               std::string_view(value.data(), value.size()));
  }
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>& length, error_code&) override {
    // The body starts only after check_header, which refused a length over the route's limit.
    if (length) body.reserve(static_cast<std::size_t>(*length));
  }
  std::size_t on_body_impl(boost::beast::string_view data, error_code&) override {
    body.append(data.data(), data.size());
    return data.size();
  }
  void on_chunk_header_impl(std::uint64_t size, boost::beast::string_view, error_code&) override {
    chunk_left = size;
    if (size > 0) chunk_seen = true;
  }
  std::size_t on_chunk_body_impl(std::uint64_t, boost::beast::string_view data,
                                 error_code& ec) override {
    return on_body_impl(data, ec);
  }
  void on_finish_impl(error_code&) override {}

  std::string& method_;
  std::string& target_;
};

}  // namespace

struct request_reader::impl {
  using parser_type = header_parser;

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
  bool fields_reserved = false;  // the header's field count is known, and room made
  std::size_t eom_scan = 0;      // bytes searched for the header's end so far
  std::size_t header_bytes = 0;  // consumed before the header was checked
  char last_header_byte = 0;     // the last of them, to see an obs-fold split across reads
  // A chunked body is given to Beast a piece at a time, so that each chunk-size line and the
  // trailer section are measured before Beast buffers them: the data of the current chunk
  // (`parser->chunk_left`), then one whole size line, or the last chunk with its whole trailer
  // section.
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
  auto& p = *parser;
  // Beast applies its header limit to the fields alone when the whole header arrives in one
  // read, and from the start of the header otherwise: count the section here so that the limit
  // is the same however the bytes were split.
  if (header_bytes > options.max_header_bytes) {
    status = 431;
    return false;
  }
  if (p.version != 10 && p.version != 11) {
    status = 505;
    return false;
  }
  // RFC 9112 3.2: exactly one valid Host in HTTP/1.1.
  if (p.hosts > 1 || (p.hosts == 0 && p.version == 11) ||
      (p.hosts == 1 && !valid_host(p.fields.get_or("Host", {})))) {
    status = 400;
    return false;
  }
  if (p.codings > 0) {
    if (p.lengths > 0) {
      status = 400;
      return false;
    }
    auto check = check_transfer_codings(p.fields.get_all("Transfer-Encoding"));
    if (check != coding_check::ok) {
      status = check == coding_check::bad_request ? 400 : 501;
      return false;
    }
  }
  keep_alive = p.keep_alive();
  http10 = p.version == 10;
  // RFC 9112 6.1: Transfer-Encoding in HTTP/1.0 is faulty framing; answer, then close.
  if (http10 && p.codings > 0) keep_alive = false;
  is_head = p.verb == http::verb::head;
  expects_continue =
      p.version == 11 && p.expects > 0 && iequals(p.fields.get_or("Expect", {}), "100-continue");
  // The request is built from the header section alone: trailer fields, which Beast reports
  // after the body, never reach it (RFC 9110 6.5.1), and the route's body limit is looked up
  // with the path the router will see (decoded, absolute-form stripped), not the raw target.
  // A bad target is the app's to answer (its error handlers and hooks), once the body has been
  // read, keeping the connection.
  request.emplace(from_call{
      [&] { return vial::request::refused_or_valid(method, target, std::move(p.fields)); }});
  detail::request_access::set_version(*request, p.version);
  if (const auto* refusal = request->refusal()) refused = refusal->status();
  request->set_remote_address(remote);
  // Routed once, here: the route's body limit is needed before the body, and dispatch takes
  // the match from `route()`.
  route = app.match(*request);
  limit = route.body_limit().value_or(options.max_body_bytes);
  if (auto length = p.content_length(); length && *length > limit) {
    refuse_body();  // without reading it
    return true;
  }
  p.body_limit(limit);
  p.eager(true);
  return true;
}

read_state request_reader::impl::finish() {
  auto body = std::move(parser->body);
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
  s.parser.emplace(method_, target_);
  s.parser->header_limit(static_cast<std::uint32_t>(s.options.max_header_bytes));
  s.parser->body_limit(boost::none);  // set per route once the header is known
  s.parser->eager(false);             // stop after the header: it is checked before the body
  return s;
}

// At the start of a chunk-size line (after the CRLF that ends the previous chunk's data): how
// much of `data` Beast may have. Beast keeps a line it has not seen the end of, however long,
// so the line is measured here; the last chunk goes to Beast only with its whole trailer
// section, which counts against max_header_bytes together with the header.
chunk_line request_reader::impl::next_chunk_line(std::string_view data) const {
  const bool chunk_seen = parser->chunk_seen;
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
    const bool in_chunk = header_checked && parser->chunked() && parser->chunk_left > 0;
    if (header_checked && parser->chunked()) {
      if (in_chunk) {
        piece = data.substr(
            0, static_cast<std::size_t>(std::min<std::uint64_t>(parser->chunk_left, data.size())));
      } else {
        auto next = next_chunk_line(data);
        if (next.status != 0) return fail(next.status, used);
        if (next.take == 0) return {read_state::need_more, used};
        piece = data.substr(0, next.take);
      }
    }
    if (!header_checked && !fields_reserved) {
      // Beast parses the header once it is whole, calling on_field_impl per field: room for
      // them all at once (a field a line) rather than growing the list field by field. Each
      // byte is looked at once however the header is split (Beast consumes none of it before
      // it is whole).
      auto eom = data.find("\r\n\r\n", eom_scan > 3 ? eom_scan - 3 : 0);
      if (eom == std::string_view::npos) {
        eom_scan = data.size();
      } else {
        parser->fields.reserve(
            static_cast<std::size_t>(std::count(data.begin(), data.begin() + eom, '\n')));
        fields_reserved = true;
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
    if (in_chunk) parser->chunk_left -= n;
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
