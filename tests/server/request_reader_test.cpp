#include "../../src/server/request_reader.hpp"

#include <string>
#include <string_view>
#include <vector>

#include "support/catch.hpp"
#include "vial/app/app.hpp"
#include "vial/server/options.hpp"

using vial::server_detail::read_state;
using vial::server_detail::request_reader;

namespace {

// Feeds `pieces` one after another, as reads would deliver them, keeping what the reader left
// unused; returns the state after the last piece.
read_state feed_pieces(request_reader& reader, const std::vector<std::string_view>& pieces,
                       std::string& buffer) {
  read_state state = read_state::need_more;
  for (auto piece : pieces) {
    buffer.append(piece);
    for (;;) {
      auto step = reader.feed(buffer);
      buffer.erase(0, step.used);
      state = step.state;
      if (state != read_state::body) break;
    }
  }
  return state;
}

struct reader_fixture {
  reader_fixture() {
    app.put("/upload", [](const vial::request& r) { return std::to_string(r.body().size()); },
            {.max_body_bytes = 8});
    app.post("/echo", [](const vial::request& r) { return r.body(); });
    reader.reset();
  }
  vial::app app;
  vial::server_options options{.max_body_bytes = 1024};
  request_reader reader{app, options};
  std::string buffer;
};

}  // namespace

TEST_CASE("request_reader reads pipelined requests one at a time", "[server][reader]") {
  reader_fixture f;
  auto state = feed_pieces(f.reader,
                           {"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
                            "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"},
                           f.buffer);
  REQUIRE(state == read_state::complete);
  auto first = f.reader.take_request();
  CHECK(first.path() == "/a");
  CHECK(first.version() == 11);
  f.reader.reset();
  auto step = f.reader.feed(f.buffer);
  f.buffer.erase(0, step.used);
  CHECK(step.state == read_state::body);  // the header, checked before the body is read
  step = f.reader.feed(f.buffer);
  f.buffer.erase(0, step.used);
  REQUIRE(step.state == read_state::complete);
  CHECK(f.reader.take_request().body() == "abc");
  CHECK(f.buffer.empty());
}

TEST_CASE("request_reader completes a chunked body whose last chunk arrives byte by byte",
          "[server][reader]") {
  // Beast 1.81 asserted (aborting builds with assertions) when "0\r\n" came alone and one more
  // byte followed.
  reader_fixture f;
  auto state = feed_pieces(
      f.reader,
      {"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", "0\r\n", "\r", "\n"},
      f.buffer);
  REQUIRE(state == read_state::complete);
  CHECK(f.reader.take_request().body().empty());

  reader_fixture g;
  state = feed_pieces(g.reader,
                      {"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
                       "3\r\nabc", "\r\n0\r\n", "\r", "\n"},
                      g.buffer);
  REQUIRE(state == read_state::complete);
  CHECK(g.reader.take_request().body() == "abc");
}

TEST_CASE("request_reader applies a route's body limit to the path the route sees",
          "[server][reader][limits]") {
  // /upload takes 8 bytes, the server 1024: however the path is spelled, 20 bytes are too many.
  auto target = GENERATE("/upload", "/uploa%64", "/%75pload?x=1", "http://example.com/upload");
  CAPTURE(target);
  reader_fixture f;
  auto state =
      feed_pieces(f.reader,
                  {std::string("PUT ") + target +
                   " HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n" + std::string(20, 'u')},
                  f.buffer);
  // Refused through the app, and the connection closes: the body is not read.
  CHECK(state == read_state::refused);
  CHECK(f.reader.status() == 413);
  CHECK_FALSE(f.reader.keep_alive());
  auto req = f.reader.take_request();
  REQUIRE(req.refusal());
  CHECK(req.refusal()->description() == "request body is larger than the limit of 8 bytes");
  CHECK(req.path() == "/upload");
}

TEST_CASE("request_reader keeps chunked trailer fields out of the request's headers",
          "[server][reader][hostile]") {
  // The Host, Content-Type and Cookie checked or read from the header must be the ones the app
  // sees: a trailer may not add to them (RFC 9110 6.5.1).
  reader_fixture f;
  auto state =
      feed_pieces(f.reader,
                  {"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "3\r\nabc\r\n0\r\nHost: evil\r\nCookie: admin=1\r\nX-Checksum: 7\r\n\r\n"},
                  f.buffer);
  REQUIRE(state == read_state::complete);
  auto req = f.reader.take_request();
  CHECK(req.body() == "abc");
  CHECK(req.headers().count("Host") == 1);
  CHECK(req.header("Host") == std::optional<std::string_view>("x"));
  CHECK_FALSE(req.headers().contains("Cookie"));
  CHECK(req.cookies().empty());
  CHECK_FALSE(req.headers().contains("X-Checksum"));
}

TEST_CASE("request_reader hands a bad request-target to the app after reading its body",
          "[server][reader][hostile]") {
  reader_fixture f;
  auto state = feed_pieces(f.reader,
                           {"POST /a%zz HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
                            "GET /next HTTP/1.1\r\nHost: x\r\n\r\n"},
                           f.buffer);
  CHECK(state == read_state::refused);
  CHECK(f.reader.status() == 400);
  CHECK(f.reader.keep_alive());
  CHECK(f.buffer.starts_with("GET /next"));
  // The app answers it: the request carries its refusal.
  auto req = f.reader.take_request();
  REQUIRE(req.refusal());
  CHECK(req.refusal()->description() == "malformed percent-encoding in path");
  CHECK(req.body() == "abc");
}

TEST_CASE("request_reader holds the header section to max_header_bytes however it arrives",
          "[server][reader][limits]") {
  // 2100 bytes of header, 2048 allowed. Beast alone counted only the fields when the whole
  // header came in one read, and let it through.
  const std::string header = "GET /a HTTP/1.1\r\nHost: x\r\nX-Fill: " + std::string(2041, 'f') +
                             "\r\n\r\n";
  REQUIRE(header.size() > 2048);
  const std::string fits = "GET /a HTTP/1.1\r\nHost: x\r\nX-Fill: " + std::string(1990, 'f') +
                           "\r\n\r\n";
  REQUIRE(fits.size() <= 2048);
  for (std::size_t piece : {std::size_t{8192}, std::size_t{7}}) {
    CAPTURE(piece);
    for (const auto& [input, expected] : {std::pair{header, read_state::failed},
                                          std::pair{fits, read_state::complete}}) {
      reader_fixture f;
      f.options.max_header_bytes = 2048;
      std::vector<std::string_view> pieces;
      for (std::size_t i = 0; i < input.size(); i += piece) {
        pieces.push_back(std::string_view(input).substr(i, piece));
      }
      CHECK(feed_pieces(f.reader, pieces, f.buffer) == expected);
      if (expected == read_state::failed) CHECK(f.reader.status() == 431);
    }
  }
}
