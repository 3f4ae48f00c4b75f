#include "server/request_reader.hpp"

#include <string>
#include <string_view>
#include <vector>

#include "support/allocation_count.hpp"
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
  const std::string header =
      "GET /a HTTP/1.1\r\nHost: x\r\nX-Fill: " + std::string(2041, 'f') + "\r\n\r\n";
  REQUIRE(header.size() > 2048);
  const std::string fits =
      "GET /a HTTP/1.1\r\nHost: x\r\nX-Fill: " + std::string(1990, 'f') + "\r\n\r\n";
  REQUIRE(fits.size() <= 2048);
  for (std::size_t piece : {std::size_t{8192}, std::size_t{7}}) {
    CAPTURE(piece);
    for (const auto& [input, expected] :
         {std::pair{header, read_state::failed}, std::pair{fits, read_state::complete}}) {
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

namespace {

const std::string chunked_post =
    "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";

// Feeds `input` in pieces of `piece` bytes; returns the state after the last one.
read_state feed_split(reader_fixture& f, const std::string& input, std::size_t piece) {
  std::vector<std::string_view> pieces;
  for (std::size_t i = 0; i < input.size(); i += piece) {
    pieces.push_back(std::string_view(input).substr(i, piece));
  }
  return feed_pieces(f.reader, pieces, f.buffer);
}

}  // namespace

TEST_CASE("request_reader reads chunk extensions and trailer fields within the limits",
          "[server][reader]") {
  const std::string input = chunked_post + "3;name=value;q=\"a b\"\r\nabc\r\n2;x\r\nde\r\n" +
                            "0;last=1\r\nX-Checksum: 7\r\nX-Other: y\r\n\r\n";
  for (std::size_t piece : {std::size_t{1}, std::size_t{3}, std::size_t{8192}}) {
    CAPTURE(piece);
    reader_fixture f;
    REQUIRE(feed_split(f, input, piece) == read_state::complete);
    CHECK(f.reader.take_request().body() == "abcde");
    CHECK(f.buffer.empty());
  }
}

TEST_CASE("request_reader answers a chunk-size line over 4 KiB with 400 without keeping it",
          "[server][reader][limits][hostile]") {
  // Beast keeps a size line until its CRLF: 1 GiB of extension took the process to 1 GB.
  auto line = GENERATE(std::string("5;a=") + std::string(5000, 'x'),  // a long extension
                       std::string(5000, '0') + "5",                  // leading zeros
                       std::string("3\r\nabc\r\n5;a=") + std::string(5000, 'x'));  // second chunk
  for (std::size_t piece : {std::size_t{512}, std::size_t{8192}, std::size_t{100000}}) {
    CAPTURE(line.size(), piece);
    reader_fixture f;
    const std::string input = chunked_post + line;
    std::size_t offered = 0;
    read_state state = read_state::need_more;
    while (offered < input.size() && state != read_state::failed) {
      state = feed_pieces(f.reader, {std::string_view(input).substr(offered, piece)}, f.buffer);
      offered += piece;
    }
    CHECK(state == read_state::failed);
    CHECK(f.reader.status() == 400);
    // Refused once the line passed 4 KiB: no more of it was asked for.
    CHECK(offered <= chunked_post.size() + 4096 + 16 + piece);
  }
  reader_fixture f;  // up to the limit is fine
  CHECK(feed_split(f, chunked_post + "3;a=" + std::string(4000, 'x') + "\r\nabc\r\n0\r\n\r\n",
                   1000) == read_state::complete);
}

TEST_CASE("request_reader counts the trailer section against max_header_bytes",
          "[server][reader][limits][hostile]") {
  const std::string header = chunked_post;
  auto fill = [](std::size_t n) { return "X-Fill: " + std::string(n, 't') + "\r\n"; };
  for (std::size_t piece : {std::size_t{7}, std::size_t{1000}, std::size_t{100000}}) {
    CAPTURE(piece);
    {
      reader_fixture f;
      f.options.max_header_bytes = 2048;
      // The header takes ~70 bytes: a 3000-byte trailer does not fit in the rest.
      CHECK(feed_split(f, header + "1\r\na\r\n0\r\n" + fill(3000) + "\r\n", piece) ==
            read_state::failed);
      CHECK(f.reader.status() == 431);
    }
    {
      reader_fixture f;
      f.options.max_header_bytes = 2048;
      // A million tiny fields, most of which never need to arrive.
      std::string many;
      for (int i = 0; i < 1000; ++i) many += "a: b\r\n";
      CHECK(feed_split(f, header + "0\r\n" + many, piece) == read_state::failed);
      CHECK(f.reader.status() == 431);
    }
    {
      reader_fixture f;
      f.options.max_header_bytes = 2048;
      CHECK(feed_split(f, header + "1\r\na\r\n0\r\n" + fill(1800) + "\r\n", piece) ==
            read_state::complete);
    }
  }
}

TEST_CASE("request_reader holds a field value over 64 KiB to max_header_bytes alone",
          "[server][reader][limits][hostile]") {
  // Beast's message threw std::length_error past 64 KiB, which once escaped the server thread;
  // the reader keeps no Beast message now, so the one limit is the header section's.
  const std::string value(70000, 'v');
  const bool trailer = GENERATE(false, true);
  CAPTURE(trailer);
  const std::string input = trailer ? chunked_post + "0\r\nX-Big: " + value + "\r\n\r\n"
                                    : "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + value + "\r\n\r\n";
  SECTION("within the limit it is read") {
    reader_fixture f;
    f.options.max_header_bytes = 1024 * 1024;
    read_state state = read_state::need_more;
    REQUIRE_NOTHROW(state = feed_split(f, input, 100000));
    REQUIRE(state == read_state::complete);
    auto req = f.reader.take_request();
    // A trailer field never reaches the request; a header field does, whole.
    CHECK(req.header("X-Big") == (trailer ? std::nullopt : std::optional<std::string_view>(value)));
  }
  SECTION("past it the answer is 431") {
    reader_fixture f;
    f.options.max_header_bytes = 64 * 1024;
    read_state state = read_state::need_more;
    REQUIRE_NOTHROW(state = feed_split(f, input, 100000));
    CHECK(state == read_state::failed);
    CHECK(f.reader.status() == 431);
  }
}

TEST_CASE("request_reader rejects obs-fold in any field with 400", "[server][reader][hostile]") {
  // Beast unfolds "Transfer-Encoding:\r\n chunked" and frames the body by it.
  auto input = GENERATE(
      std::string("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked\r\n\r\n"
                  "0\r\n\r\n"),
      std::string("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\t3\r\n\r\nabc"),
      std::string("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n"),
      std::string("GET / HTTP/1.1\r\n Host: x\r\n\r\n"),
      chunked_post + "0\r\nX-T: a\r\n b\r\n\r\n");
  for (std::size_t piece : {std::size_t{1}, std::size_t{8192}}) {
    CAPTURE(input, piece);
    reader_fixture f;
    CHECK(feed_split(f, input, piece) == read_state::failed);
    CHECK(f.reader.status() == 400);
  }
}

TEST_CASE("request_reader does not keep an HTTP/1.0 chunked request alive",
          "[server][reader][hostile]") {
  // RFC 9112 6.1: Transfer-Encoding in HTTP/1.0 is faulty framing; close after answering.
  reader_fixture f;
  CHECK(feed_split(f,
                   "POST /echo HTTP/1.0\r\nConnection: keep-alive\r\n"
                   "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
                   8192) == read_state::complete);
  CHECK_FALSE(f.reader.keep_alive());
  reader_fixture g;  // without Transfer-Encoding it stays alive
  CHECK(feed_split(g,
                   "POST /echo HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\n"
                   "abc",
                   8192) == read_state::complete);
  CHECK(g.reader.keep_alive());
}

TEST_CASE("request_reader answers a malformed HTTP-version with 400, an unsupported one with 505",
          "[server][reader]") {
  struct version_case {
    const char* version;
    int status;
  };
  auto c = GENERATE(values<version_case>({{"http/1.1", 400},
                                          {"HTTP/1.1x", 400},
                                          {"HTTP/1", 400},
                                          {"HTTP/a.b", 400},
                                          {"HTTP/2.0", 505},
                                          {"HTTP/0.9", 505}}));
  CAPTURE(c.version);
  reader_fixture f;
  CHECK(feed_split(f, std::string("GET / ") + c.version + "\r\nHost: x\r\n\r\n", 8192) ==
        read_state::failed);
  CHECK(f.reader.status() == c.status);
}

TEST_CASE("request_reader sizes a request's header list once, however many fields it has",
          "[server][reader][allocations]") {
  // Short names and values: only the request's list allocates, once, whatever the count (the
  // reader counts the header's lines first; Beast's message, a node per field, is gone).
  auto allocations = [](std::size_t extra_fields) {
    std::string input = "GET /a HTTP/1.1\r\nHost: x\r\n";
    for (std::size_t i = 0; i < extra_fields; ++i) input += "X-" + std::to_string(i) + ": v\r\n";
    input += "\r\n";
    reader_fixture f;
    vial_test::allocation_count count;
    auto step = f.reader.feed(input);
    REQUIRE(step.state == read_state::complete);
    auto req = f.reader.take_request();
    REQUIRE(req.headers().size() == extra_fields + 1);
    return count.value();
  };
  allocations(0);  // the thread's first request makes what later ones reuse
  const auto bare = allocations(0);
  CHECK(allocations(8) == bare);
  CHECK(allocations(40) == bare);
}

TEST_CASE("request_reader gives a thread's next request its last state's memory, not malloc's",
          "[server][reader][allocations]") {
  // The parser state is made per request; at 1.2 KiB malloc would take its arena's lock for
  // it each time (its per-thread cache holds blocks up to 1,032 bytes).
  reader_fixture f;
  const std::string input = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
  REQUIRE(f.reader.feed(input).state == read_state::complete);
  f.reader.take_request();
  f.reader.reset();
  vial_test::allocation_count count;
  REQUIRE(f.reader.feed(input).state == read_state::complete);
  f.reader.take_request();
  f.reader.reset();
  CHECK(count.value() > 0);
  CHECK(count.largest() <= 1032);
}
