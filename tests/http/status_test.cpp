#include "vial/http/status.hpp"

#include "support/catch.hpp"

TEST_CASE("reason_phrase names every status of the enum", "[http][status]") {
  using vial::status;
  auto s = GENERATE(
      status::continue_, status::switching_protocols, status::ok, status::created, status::accepted,
      status::no_content, status::partial_content, status::moved_permanently, status::found,
      status::see_other, status::not_modified, status::temporary_redirect,
      status::permanent_redirect, status::bad_request, status::unauthorized, status::forbidden,
      status::not_found, status::method_not_allowed, status::not_acceptable,
      status::request_timeout, status::conflict, status::gone, status::length_required,
      status::precondition_failed, status::payload_too_large, status::uri_too_long,
      status::unsupported_media_type, status::range_not_satisfiable, status::expectation_failed,
      status::unprocessable_entity, status::too_many_requests,
      status::request_header_fields_too_large, status::internal_server_error,
      status::not_implemented, status::bad_gateway, status::service_unavailable,
      status::gateway_timeout, status::http_version_not_supported);
  CAPTURE(vial::to_int(s));
  CHECK(vial::reason_phrase(vial::to_int(s)) != "Unknown");
}

TEST_CASE("reason_phrase gives the standard phrases", "[http][status]") {
  CHECK(vial::reason_phrase(200) == "OK");
  CHECK(vial::reason_phrase(404) == "Not Found");
  CHECK(vial::reason_phrase(405) == "Method Not Allowed");
  CHECK(vial::reason_phrase(415) == "Unsupported Media Type");
  CHECK(vial::reason_phrase(418) == "I'm a teapot");
  CHECK(vial::reason_phrase(451) == "Unavailable For Legal Reasons");
  CHECK(vial::reason_phrase(503) == "Service Unavailable");
}

TEST_CASE("reason_phrase says Unknown for codes without a phrase", "[http][status]") {
  CHECK(vial::reason_phrase(299) == "Unknown");
  CHECK(vial::reason_phrase(0) == "Unknown");
  CHECK(vial::reason_phrase(-1) == "Unknown");
  CHECK(vial::reason_phrase(999) == "Unknown");
}
