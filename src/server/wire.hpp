#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace vial {
class response;
}

namespace vial::server_detail {

/// How the head of a response is framed.
struct head_framing {
  bool keep_alive = true;  ///< false adds "Connection: close"
  bool http10 = false;     ///< HTTP/1.0 peer: keep-alive must be announced
  bool chunked = false;    ///< Transfer-Encoding: chunked instead of Content-Length
  bool no_length = false;  ///< neither (HTTP/1.0 stream, 1xx/204/304)
};

/// Appends the status line and header section of `r` (with Server, Date, Content-Length or
/// Transfer-Encoding, Connection) to `out`. Header fields holding CR or LF are dropped.
void serialize_head(std::string& out, const response& r, std::size_t content_length,
                    const head_framing& framing);

/// A complete stock answer (400, 408, 413, 431, 503...): text body naming the status.
/// `close` adds "Connection: close"; `extra` is raw header lines ending in CRLF.
std::string stock_response(int status, bool close, std::string_view extra = {});

/// The current IMF-fixdate, cached per thread and second.
std::string_view http_date();

/// True when `value` is a valid Host field value: uri-host [ ":" port ].
bool valid_host(std::string_view value) noexcept;

/// What a request's Transfer-Encoding asks for.
enum class coding_check { ok, bad_request, not_implemented };

/// Checks the codings of all Transfer-Encoding fields, in order: `chunked` must be the final
/// coding and appear once (else bad_request, RFC 9112 6.1); any other coding is not supported.
coding_check check_transfer_codings(const std::vector<std::string_view>& fields);

/// True when `status` never carries a body (1xx, 204, 304).
inline bool bodiless_status(int status) noexcept {
  return status < 200 || status == 204 || status == 304;
}

}  // namespace vial::server_detail
