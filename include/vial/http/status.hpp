#pragma once

#include <string_view>

namespace vial {

/// Common HTTP status codes. Any integer in 100..599 is a valid status; these are names for the
/// usual ones. Functions taking a status take `int` so both forms work.
enum class status : int {
  continue_ = 100,
  switching_protocols = 101,
  ok = 200,
  created = 201,
  accepted = 202,
  no_content = 204,
  partial_content = 206,
  moved_permanently = 301,
  found = 302,
  see_other = 303,
  not_modified = 304,
  temporary_redirect = 307,
  permanent_redirect = 308,
  bad_request = 400,
  unauthorized = 401,
  forbidden = 403,
  not_found = 404,
  method_not_allowed = 405,
  not_acceptable = 406,
  request_timeout = 408,
  conflict = 409,
  gone = 410,
  length_required = 411,
  precondition_failed = 412,
  payload_too_large = 413,
  uri_too_long = 414,
  unsupported_media_type = 415,
  range_not_satisfiable = 416,
  expectation_failed = 417,
  unprocessable_entity = 422,
  too_many_requests = 429,
  request_header_fields_too_large = 431,
  internal_server_error = 500,
  not_implemented = 501,
  bad_gateway = 502,
  service_unavailable = 503,
  gateway_timeout = 504,
  http_version_not_supported = 505,
};

/// The standard reason phrase ("Not Found"); "Unknown" for codes without one.
std::string_view reason_phrase(int code) noexcept;

/// The status as an int, for APIs that take codes.
constexpr int to_int(status s) noexcept { return static_cast<int>(s); }

/// True for the redirects a client follows to `Location` (301, 302, 303, 307, 308).
constexpr bool is_redirect(int code) noexcept {
  return code == 301 || code == 302 || code == 303 || code == 307 || code == 308;
}

}  // namespace vial
