#include "server/wire.hpp"

#include "support/catch.hpp"
#include "vial/http/response.hpp"

using vial::server_detail::check_transfer_codings;
using vial::server_detail::coding_check;
using vial::server_detail::valid_host;

TEST_CASE("valid_host accepts names and addresses and ports and rejects the rest",
          "[server][wire]") {
  CHECK(valid_host("example.com"));
  CHECK(valid_host("example.com:8080"));
  CHECK(valid_host("127.0.0.1:80"));
  CHECK(valid_host("[::1]:80"));
  CHECK(valid_host(""));
  CHECK_FALSE(valid_host("a b"));
  CHECK_FALSE(valid_host("a/b"));
  CHECK_FALSE(valid_host("user@host"));
  CHECK_FALSE(valid_host("host:80x"));
  CHECK_FALSE(valid_host("host:1:2"));
  CHECK_FALSE(valid_host(":80"));
  CHECK_FALSE(valid_host("[::1"));
}

TEST_CASE("check_transfer_codings follows RFC 9112 section 6.1", "[server][wire]") {
  CHECK(check_transfer_codings({"chunked"}) == coding_check::ok);
  CHECK(check_transfer_codings({"Chunked"}) == coding_check::ok);
  CHECK(check_transfer_codings({"gzip, chunked"}) == coding_check::not_implemented);
  CHECK(check_transfer_codings({"gzip", "chunked"}) == coding_check::not_implemented);
  CHECK(check_transfer_codings({"gzip"}) == coding_check::bad_request);
  CHECK(check_transfer_codings({"chunked, gzip"}) == coding_check::bad_request);
  CHECK(check_transfer_codings({"chunked, chunked"}) == coding_check::bad_request);
  CHECK(check_transfer_codings({"chunked", "chunked"}) == coding_check::bad_request);
  CHECK(check_transfer_codings({""}) == coding_check::bad_request);
}

TEST_CASE("serialize_head frames the body and drops fields that would split the header",
          "[server][wire]") {
  vial::response r("hi");
  r.set_header("X-Ok", "1");
  r.set_header("Content-Length", "999");
  std::string head;
  vial::server_detail::serialize_head(head, r, 2, {.keep_alive = false});
  CHECK(head.starts_with("HTTP/1.1 200 OK\r\n"));
  CHECK(head.find("Content-Length: 2\r\n") != std::string::npos);
  CHECK(head.find("999") == std::string::npos);
  CHECK(head.find("X-Ok: 1\r\n") != std::string::npos);
  CHECK(head.find("Connection: close\r\n") != std::string::npos);
  CHECK(head.ends_with("\r\n\r\n"));
}
