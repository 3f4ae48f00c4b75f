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

TEST_CASE("serialize_head writes the status line, the fields and the framing byte for byte",
          "[server][wire]") {
  using vial::server_detail::http_date;
  using vial::server_detail::serialize_head;
  vial::response r("hello");
  r.add_header("Set-Cookie", "a=1");
  r.add_header("X-Long", "a value longer than one eight-byte word");
  // A handler may write into the fields directly, past set_header's checks.
  r.headers().add("X-Split", "a value with a line\nbreak past its first word");
  r.add_header("transfer-encoding", "gzip");
  std::string head = "kept";  // appended to, as a connection's buffer may hold bytes already
  serialize_head(head, r, 5, {});
  // Read the date after: the second may have turned between the two.
  const std::string date(http_date());
  const std::string expected_start =
      "keptHTTP/1.1 200 OK\r\n"
      "Content-Type: text/html; charset=utf-8\r\n"
      "Set-Cookie: a=1\r\n"
      "X-Long: a value longer than one eight-byte word\r\n"
      "Server: vial\r\n"
      "Date: ";
  CHECK(head.starts_with(expected_start));
  CHECK(head.ends_with(" GMT\r\nContent-Length: 5\r\n\r\n"));
  CHECK(head.size() == expected_start.size() + date.size() + 2 + 19 + 2);

  head.clear();
  r.set_status(404);
  serialize_head(head, r, 0, {.chunked = true});
  CHECK(head.starts_with("HTTP/1.1 404 Not Found\r\n"));
  CHECK(head.ends_with("\r\nTransfer-Encoding: chunked\r\n\r\n"));

  head.clear();
  r.set_status(204);
  serialize_head(head, r, 0, {.http10 = true, .no_length = true});
  CHECK(head.find("Content-Length") == std::string::npos);
  CHECK(head.ends_with(" GMT\r\nConnection: keep-alive\r\n\r\n"));
}

TEST_CASE("serialize_head sends a handler's own Server and Date instead of the server's",
          "[server][wire]") {
  using vial::server_detail::serialize_head;
  vial::response r("x");
  r.set_header("date", "Sun, 06 Nov 1994 08:49:37 GMT");
  std::string head;
  serialize_head(head, r, 1, {});
  CHECK(head.find("date: Sun, 06 Nov 1994 08:49:37 GMT\r\nServer: vial\r\nContent-Length: 1\r\n") !=
        std::string::npos);
  CHECK(head.find("Date:") == std::string::npos);

  vial::response s("x");
  s.set_header("SERVER", "mine");
  head.clear();
  serialize_head(head, s, 1, {});
  CHECK(head.find("SERVER: mine\r\nDate: ") != std::string::npos);
  CHECK(head.find("Server: vial") == std::string::npos);

  s.set_header("Date", "Sun, 06 Nov 1994 08:49:37 GMT");
  head.clear();
  serialize_head(head, s, 1, {});
  CHECK(head.ends_with("Date: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Length: 1\r\n\r\n"));
}

TEST_CASE("http_date is an IMF-fixdate", "[server][wire]") {
  const auto date = vial::server_detail::http_date();
  REQUIRE(date.size() == 29);
  CHECK(date.substr(3, 2) == ", ");
  CHECK(date.ends_with(" GMT"));
}
