#include "vial/http/stream.hpp"

#include "support/catch.hpp"

TEST_CASE("format_sse writes a data-only event ending with a blank line", "[http][sse]") {
  CHECK(vial::format_sse({.data = "hello"}) == "data: hello\n\n");
}

TEST_CASE("format_sse splits multi-line data on LF, CRLF and CR", "[http][sse]") {
  CHECK(vial::format_sse({.data = "a\nb\r\nc\rd"}) == "data: a\ndata: b\ndata: c\ndata: d\n\n");
  CHECK(vial::format_sse({.data = "a\n"}) == "data: a\ndata: \n\n");
  CHECK(vial::format_sse({.data = "\r\n\r\n"}) == "data: \ndata: \ndata: \n\n");
}

TEST_CASE("format_sse writes an empty data line for empty data", "[http][sse]") {
  CHECK(vial::format_sse({}) == "data: \n\n");
}

TEST_CASE("format_sse writes event, id and retry fields", "[http][sse]") {
  vial::sse_event e{.data = "{\"n\":1}", .event = "tick", .id = "42", .retry_ms = 1500};
  CHECK(vial::format_sse(e) == "event: tick\nid: 42\nretry: 1500\ndata: {\"n\":1}\n\n");
}

TEST_CASE("format_sse strips line breaks from event and id so no field can be injected",
          "[http][sse]") {
  vial::sse_event e{.data = "x", .event = "a\r\ndata: evil", .id = "1\nevent: x\0"};
  e.id.push_back('\0');
  e.id += "2";
  CHECK(vial::format_sse(e) == "event: adata: evil\nid: 1event: x2\ndata: x\n\n");
}

TEST_CASE("format_sse omits a negative retry", "[http][sse]") {
  CHECK(vial::format_sse({.data = "x", .retry_ms = -1}) == "data: x\n\n");
  CHECK(vial::format_sse({.data = "x", .retry_ms = 0}) == "retry: 0\ndata: x\n\n");
}
