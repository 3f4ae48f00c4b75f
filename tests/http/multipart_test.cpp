#include "vial/http/multipart.hpp"

#include "support/catch.hpp"
#include "support/status_of.hpp"
#include "vial/http/error.hpp"

using namespace std::string_literals;

namespace {

using vial::testing::status_of;

// A well-formed body with one text field and one file.
const std::string sample =
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"title\"\r\n"
    "\r\n"
    "Hello, world\r\n"
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"upload\"; filename=\"notes.txt\"\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "line 1\r\nline 2\r\n"
    "--XyZ--\r\n";

}  // namespace

TEST_CASE("multipart_boundary extracts a plain or quoted boundary", "[http][multipart]") {
  CHECK(vial::multipart_boundary("multipart/form-data; boundary=XyZ") == "XyZ");
  CHECK(vial::multipart_boundary("multipart/form-data;boundary=\"a b:c\"") == "a b:c");
  CHECK(vial::multipart_boundary("multipart/form-data; charset=utf-8; BOUNDARY=q1") == "q1");
  CHECK(vial::multipart_boundary(
            "multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW") ==
        "----WebKitFormBoundary7MA4YWxkTrZu0gW");
}

TEST_CASE("multipart_boundary is empty when the boundary is absent or invalid",
          "[http][multipart]") {
  CHECK(vial::multipart_boundary("multipart/form-data").empty());
  CHECK(vial::multipart_boundary("multipart/form-data; boundary=").empty());
  CHECK(vial::multipart_boundary("multipart/form-data; boundary=\"unterminated").empty());
  CHECK(vial::multipart_boundary("multipart/form-data; boundary=a; junk").empty());
  CHECK(vial::multipart_boundary("multipart/form-data; boundary=\"a\\\"b\"").empty());
  CHECK(vial::multipart_boundary("multipart/form-data; boundary=" + std::string(71, 'a')).empty());
  CHECK(vial::multipart_boundary("multipart/form-data; boundary=\"trailing \"").empty());
  CHECK(vial::multipart_boundary("multipart/form-data; boundary=" + std::string(70, 'a')) ==
        std::string(70, 'a'));
}

TEST_CASE("parse_multipart reads fields and files", "[http][multipart]") {
  auto data = vial::parse_multipart(sample, "XyZ");
  CHECK(data.fields.size() == 1);
  CHECK(data.fields.get("title") == "Hello, world");
  REQUIRE(data.files.size() == 1);
  const auto& f = data.files[0];
  CHECK(f.field == "upload");
  CHECK(f.filename == "notes.txt");
  CHECK(f.content_type == "text/plain");
  CHECK(f.content == "line 1\r\nline 2");
}

TEST_CASE("parse_multipart ignores the preamble and the epilogue", "[http][multipart]") {
  std::string body =
      "This is the preamble.\r\n--b\r\n"
      "Content-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n"
      "--b--\r\nThis is the epilogue, with --b in it.";
  auto data = vial::parse_multipart(body, "b");
  CHECK(data.fields.get("a") == "1");
  CHECK(data.fields.size() == 1);
}

TEST_CASE("parse_multipart accepts a closing boundary without a trailing CRLF and padding",
          "[http][multipart]") {
  std::string body =
      "--b  \r\n"
      "Content-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n"
      "--b--";
  CHECK(vial::parse_multipart(body, "b").fields.get("a") == "1");
}

TEST_CASE("parse_multipart keeps repeated fields in order and empty values", "[http][multipart]") {
  std::string body =
      "--b\r\nContent-Disposition: form-data; name=\"tag\"\r\n\r\nx\r\n"
      "--b\r\nContent-Disposition: form-data; name=\"empty\"\r\n\r\n\r\n"
      "--b\r\nContent-Disposition: form-data; name=\"tag\"\r\n\r\ny\r\n"
      "--b--\r\n";
  auto data = vial::parse_multipart(body, "b");
  CHECK(data.fields.get_all("tag") == std::vector<std::string_view>{"x", "y"});
  CHECK(data.fields.get("empty") == "");
}

TEST_CASE("parse_multipart handles an empty body with only the closing boundary",
          "[http][multipart]") {
  auto data = vial::parse_multipart("--b--\r\n", "b");
  CHECK(data.fields.empty());
  CHECK(data.files.empty());
}

TEST_CASE("parse_multipart reads quoted names with escaped quotes and case-insensitive headers",
          "[http][multipart]") {
  std::string body =
      "--b\r\n"s +
      "content-disposition: Form-Data; NAME=\"say \\\"hi\\\"\"; filename=\"a\\\"b.txt\"\r\n"
      "content-type: image/png\r\n"
      "X-Extra: ignored\r\n"
      "\r\n"
      "\x89PNG\xFF\x00\r\n"s +
      "--b\r\n"
      "Content-Disposition: form-data; name=plain\r\n\r\nv\r\n"
      "--b--\r\n";
  auto data = vial::parse_multipart(body, "b");
  REQUIRE(data.files.size() == 1);
  CHECK(data.files[0].field == "say \"hi\"");
  CHECK(data.files[0].filename == "a\"b.txt");
  CHECK(data.files[0].content_type == "image/png");
  CHECK(data.files[0].content == "\x89PNG\xFF\0"s);
  CHECK(data.fields.get("plain") == "v");
}

TEST_CASE("parse_multipart unfolds obsolete line folding into one trimmed value",
          "[http][multipart]") {
  std::string body =
      "--b\r\n"
      "Content-Disposition: form-data;\r\n"
      "  name=\"f\"; filename=\"a.txt\"\r\n"
      "Content-Type:\r\n"
      "\ttext/plain\r\n"
      "\r\n"
      "x\r\n"
      "--b--\r\n";
  auto data = vial::parse_multipart(body, "b");
  REQUIRE(data.files.size() == 1);
  CHECK(data.files[0].field == "f");
  CHECK(data.files[0].content_type == "text/plain");  // not " text/plain"
}

TEST_CASE("parse_multipart ignores a blank folded line instead of adding a trailing space",
          "[http][multipart]") {
  std::string body =
      "--b\r\n"
      "Content-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\n"
      "Content-Type:\r\n"
      " text/plain\r\n"
      "\t\r\n"
      "\r\n"
      "x\r\n"
      "--b--\r\n";
  auto data = vial::parse_multipart(body, "b");
  REQUIRE(data.files.size() == 1);
  CHECK(data.files[0].content_type == "text/plain");  // not "text/plain "
}

TEST_CASE("parse_multipart gives files without Content-Type application/octet-stream",
          "[http][multipart]") {
  std::string body =
      "--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"\"\r\n\r\n\r\n--b--\r\n";
  auto data = vial::parse_multipart(body, "b");
  REQUIRE(data.files.size() == 1);
  CHECK(data.files[0].filename == "");
  CHECK(data.files[0].content_type == "application/octet-stream");
  CHECK(data.files[0].content == "");
  CHECK(data.fields.empty());
}

TEST_CASE("parse_multipart files may hold any bytes, including CRLF and dashes",
          "[http][multipart]") {
  // "--b" inside content is fine as long as it does not follow a CRLF (RFC 2046 5.1.1).
  std::string content = "x--b not at line start\r\n-\r\n--\r\n\0\xFF"s;
  std::string body =
      "--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x.bin\"\r\n\r\n" + content +
      "\r\n--b--\r\n";
  auto data = vial::parse_multipart(body, "b");
  REQUIRE(data.files.size() == 1);
  CHECK(data.files[0].content == content);
}

TEST_CASE("parse_multipart rejects malformed bodies with a specific 400", "[http][multipart]") {
  const std::string cd = "Content-Disposition: form-data; name=\"a\"\r\n";
  SECTION("no boundary given") {
    CHECK_THROWS_WITH(vial::parse_multipart(sample, ""), "multipart body has no boundary");
  }
  SECTION("boundary never appears") {
    CHECK_THROWS_WITH(vial::parse_multipart("just text", "b"),
                      "multipart body does not contain the boundary");
    CHECK_THROWS_WITH(vial::parse_multipart("", "b"),
                      "multipart body does not contain the boundary");
  }
  SECTION("no closing boundary") {
    CHECK_THROWS_WITH(vial::parse_multipart("--b\r\n" + cd + "\r\nvalue", "b"),
                      "multipart body has no closing boundary");
    CHECK_THROWS_WITH(vial::parse_multipart("--b\r\n" + cd + "\r\nvalue\r\n", "b"),
                      "multipart body has no closing boundary");
  }
  SECTION("truncated right after the opening boundary") {
    CHECK_THROWS_WITH(vial::parse_multipart("--b", "b"), "malformed multipart boundary line");
  }
  SECTION("garbage after a boundary") {
    CHECK_THROWS_WITH(vial::parse_multipart("--bX\r\n" + cd + "\r\n1\r\n--b--", "b"),
                      "malformed multipart boundary line");
    CHECK_THROWS_WITH(vial::parse_multipart("--b\r\n" + cd + "\r\n1\r\n--bogus\r\n--b--", "b"),
                      "malformed multipart boundary line");
  }
  SECTION("part without Content-Disposition") {
    CHECK_THROWS_WITH(
        vial::parse_multipart("--b\r\nContent-Type: text/plain\r\n\r\n1\r\n--b--", "b"),
        "multipart part has no Content-Disposition header");
    CHECK_THROWS_WITH(vial::parse_multipart("--b\r\n\r\n1\r\n--b--", "b"),
                      "multipart part has no Content-Disposition header");
  }
  SECTION("Content-Disposition without a name") {
    CHECK_THROWS_WITH(
        vial::parse_multipart(
            "--b\r\nContent-Disposition: form-data; filename=\"x\"\r\n\r\n1\r\n--b--", "b"),
        "multipart part has no Content-Disposition name");
  }
  SECTION("Content-Disposition that is not form-data") {
    CHECK_THROWS_WITH(
        vial::parse_multipart(
            "--b\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\n1\r\n--b--", "b"),
        "multipart part has Content-Disposition 'attachment', expected form-data");
  }
  SECTION("Content-Disposition that is not form-data nor UTF-8 is quoted escaped") {
    CHECK_THROWS_WITH(
        vial::parse_multipart(
            "--b\r\nContent-Disposition: for\xED-data; name=\"a\"\r\n\r\n1\r\n--b--", "b"),
        "multipart part has Content-Disposition 'for%ED-data', expected form-data");
  }
  SECTION("unterminated quoted name") {
    CHECK_THROWS_WITH(vial::parse_multipart(
                          "--b\r\nContent-Disposition: form-data; name=\"a\r\n\r\n1\r\n--b--", "b"),
                      "malformed Content-Disposition in multipart part");
  }
  SECTION("header line without a colon") {
    CHECK_THROWS_WITH(vial::parse_multipart("--b\r\n" + cd + "garbage\r\n\r\n1\r\n--b--", "b"),
                      "malformed header line in multipart part");
  }
  SECTION("headers never end") {
    CHECK_THROWS_WITH(vial::parse_multipart("--b\r\n" + cd + "\r\n--b--", "b"),
                      "multipart part headers are not terminated");
  }
  SECTION("field value that is not UTF-8") {
    CHECK_THROWS_WITH(vial::parse_multipart("--b\r\n" + cd + "\r\n\xC0\xAF\r\n--b--", "b"),
                      "multipart field 'a' is not valid UTF-8");
  }
  SECTION("field name that is not UTF-8") {
    CHECK_THROWS_WITH(
        vial::parse_multipart(
            "--b\r\nContent-Disposition: form-data; name=\"\xFF\"\r\n\r\n1\r\n--b--", "b"),
        "multipart part name is not valid UTF-8");
  }
  SECTION("every error is a 400") {
    CHECK(status_of([] { vial::parse_multipart("--b\r\n\r\n1\r\n--b--", "b"); }) == 400);
    CHECK(status_of([] { vial::parse_multipart("x", "b"); }) == 400);
  }
}

TEST_CASE("parse_multipart enforces its limits with 413", "[http][multipart]") {
  auto field = [](const std::string& name, const std::string& value) {
    return "--b\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value + "\r\n";
  };
  auto file = [](const std::string& name, const std::string& content) {
    return "--b\r\nContent-Disposition: form-data; name=\"" + name +
           "\"; filename=\"f.bin\"\r\n\r\n" + content + "\r\n";
  };
  vial::multipart_limits limits;
  limits.max_parts = 2;
  limits.max_field_bytes = 4;
  limits.max_part_bytes = 8;

  SECTION("too many parts") {
    std::string body = field("a", "1") + field("b", "2") + field("c", "3") + "--b--\r\n";
    CHECK_THROWS_WITH(vial::parse_multipart(body, "b", limits),
                      "multipart body has more than 2 parts");
    CHECK(status_of([&] { vial::parse_multipart(body, "b", limits); }) == 413);
    std::string two = field("a", "1") + field("b", "2") + "--b--\r\n";
    CHECK(vial::parse_multipart(two, "b", limits).fields.size() == 2);
  }
  SECTION("oversized field") {
    std::string body = field("big", "12345") + "--b--\r\n";
    CHECK_THROWS_WITH(vial::parse_multipart(body, "b", limits),
                      "multipart field 'big' is larger than 4 bytes");
    CHECK(status_of([&] { vial::parse_multipart(body, "b", limits); }) == 413);
    CHECK(vial::parse_multipart(field("ok", "1234") + "--b--", "b", limits).fields.get("ok") ==
          "1234");
  }
  SECTION("oversized file") {
    std::string body = file("up", "123456789") + "--b--\r\n";
    CHECK_THROWS_WITH(vial::parse_multipart(body, "b", limits),
                      "multipart file 'up' is larger than 8 bytes");
    CHECK(status_of([&] { vial::parse_multipart(body, "b", limits); }) == 413);
    CHECK(vial::parse_multipart(file("up", "12345678") + "--b--", "b", limits).files.size() == 1);
  }
}
