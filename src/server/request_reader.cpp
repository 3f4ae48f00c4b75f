#include "request_reader.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <optional>
#include <utility>
#include <vector>

#include "vial/app/app.hpp"
#include "vial/http/error.hpp"
#include "vial/server/options.hpp"
#include "http/refusal.hpp"
#include "wire.hpp"

namespace vial::server_detail {

namespace http = boost::beast::http;
using boost::system::error_code;

namespace {

// The status a parser error answers; framing errors all close the connection.
int status_for(const error_code& ec) {
  if (ec == http::error::header_limit) return 431;
  if (ec == http::error::body_limit) return 413;
  if (ec == http::error::bad_version) return 505;
  return 400;
}

}  // namespace

struct request_reader::impl {
  using parser_type = http::request_parser<http::string_body>;

  impl(const vial::app& a, const server_options& o) : app(a), options(o) {}

  read_step fail(int code, std::size_t used) {
    status = code;
    return {read_state::failed, used};
  }
  // The checks that need the whole header section; false after answering `failed`.
  bool check_header();
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
  std::optional<parser_type> parser;
  bool header_checked = false;
  bool request_line_seen = false;
  std::size_t header_bytes = 0;  // consumed before the header was checked
  int status = 0;
  int refused = 0;  // the status of the request's refusal, answered by the app
  std::size_t limit = 0;  // the body limit of this request
  std::string method;
  std::string target;
  bool expects_continue = false;
  bool keep_alive = true;
  bool http10 = false;
  bool is_head = false;
  std::optional<vial::request> request;
};

bool request_reader::impl::check_header() {
  header_checked = true;
  const auto& h = parser->get();
  method = std::string(h.method_string());
  target = std::string(h.target());
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
  // RFC 9112 3.2: exactly one valid Host in HTTP/1.1.
  auto hosts = h.count(http::field::host);
  if (hosts > 1 || (hosts == 0 && h.version() == 11) ||
      (hosts == 1 && !valid_host(h[http::field::host]))) {
    status = 400;
    return false;
  }
  if (h.count(http::field::transfer_encoding) > 0) {
    if (h.count(http::field::content_length) > 0) {
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
  is_head = h.method() == http::verb::head;
  // The request is built from the header section alone: trailer fields, which Beast adds to
  // the same message, never reach it (RFC 9110 6.5.1), and the route's body limit is looked up
  // with the path the router will see (decoded, absolute-form stripped), not the raw target.
  vial::headers fields;
  for (const auto& f : h) fields.add(f.name_string(), f.value());
  // A bad target is the app's to answer (its error handlers and hooks), once the body has been
  // read, keeping the connection.
  request.emplace(vial::request::refused_or_valid(method, target, std::move(fields)));
  request->set_version(static_cast<int>(h.version()));
  if (const auto* refusal = request->refusal()) refused = refusal->status();
  limit = options.max_body_bytes;
  if (auto route = app.body_limit(method, request->path())) limit = *route;
  if (auto length = parser->content_length(); length && *length > limit) {
    refuse_body();  // without reading it
    return true;
  }
  parser->body_limit(limit);
  parser->eager(true);
  expects_continue = h.version() == 11 && iequals(h[http::field::expect], "100-continue");
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
    : impl_(std::make_unique<impl>(app, options)) {}

request_reader::~request_reader() = default;

void request_reader::reset() {
  auto& s = *impl_;
  s.parser.emplace();
  s.parser->header_limit(static_cast<std::uint32_t>(s.options.max_header_bytes));
  s.parser->body_limit(boost::none);  // set per route once the header is known
  s.parser->eager(false);             // stop after the header: it is checked before the body
  s.header_checked = false;
  s.request_line_seen = false;
  s.header_bytes = 0;
  s.status = 0;
  s.refused = 0;
  s.limit = 0;
  s.method.clear();
  s.target.clear();
  s.expects_continue = false;
  s.keep_alive = true;
  s.http10 = false;
  s.is_head = false;
  s.request.reset();
}

read_step request_reader::feed(std::string_view data) {
  auto& s = *impl_;
  std::size_t used = 0;
  for (;;) {
    if (data.empty()) return {read_state::need_more, used};
    if (!s.request_line_seen) {
      // Beast has no request-target limit of its own: measure it before the header limit hits.
      // Only until Beast consumes the request line (it consumes nothing before the line is
      // whole): after that the data starts inside the header fields.
      if (auto sp = data.find(' '); sp != std::string_view::npos) {
        auto end = data.find_first_of(" \r\n", sp + 1);
        auto len = (end == std::string_view::npos ? data.size() : end) - (sp + 1);
        if (len > s.options.max_uri_bytes) return s.fail(414, used);
      }
    }
    // Beast 1.81 asserts that a chunked body resumed after its last chunk has 5 bytes, but
    // "0\r\n" may arrive alone and one more byte after it (boostorg/beast#2861, fixed in later
    // Boost), which would abort a build with assertions. Holding back fewer than 5 bytes of a
    // chunked body delays nothing: its last chunk and final CRLF alone take 5.
    if (s.header_checked && s.parser->chunked() && data.size() < 5) {
      return {read_state::need_more, used};
    }
    error_code ec;
    auto n = s.parser->put(boost::asio::const_buffer(data.data(), data.size()), ec);
    used += n;
    if (!s.header_checked) s.header_bytes += n;  // eager is off: the put stops after the header
    data.remove_prefix(n);
    if (n > 0) s.request_line_seen = true;
    if (ec == http::error::need_more) return {read_state::need_more, used};
    if (ec == http::error::body_limit && s.header_checked) {
      s.refuse_body();
      return {read_state::refused, used};
    }
    if (ec) return s.fail(status_for(ec), used);
    if (s.parser->is_header_done() && !s.header_checked) {
      if (!s.check_header()) return {read_state::failed, used};
      if (s.status == 413) return {read_state::refused, used};
      if (!s.parser->is_done()) return {read_state::body, used};
    }
    if (s.parser->is_done()) return {s.finish(), used};
  }
}

int request_reader::status() const noexcept { return impl_->status; }
const std::string& request_reader::method() const noexcept { return impl_->method; }
const std::string& request_reader::target() const noexcept { return impl_->target; }
bool request_reader::expects_continue() const noexcept { return impl_->expects_continue; }
bool request_reader::keep_alive() const noexcept { return impl_->keep_alive; }
bool request_reader::http10() const noexcept { return impl_->http10; }
bool request_reader::is_head() const noexcept { return impl_->is_head; }

request request_reader::take_request() {
  request out = std::move(*impl_->request);
  impl_->request.reset();
  return out;
}

}  // namespace vial::server_detail
