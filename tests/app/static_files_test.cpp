#include "vial/app/static_files.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "support/catch.hpp"
#include "vial/testing/test_client.hpp"

using vial::test_client;
namespace fs = std::filesystem;

namespace {

void write_file(const fs::path& p, const std::string& content) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << content;
}

/// A fresh directory tree: root/ is served, secret.txt sits beside it.
struct site {
  site() {
    std::random_device rd;
    base =
        fs::temp_directory_path() / ("vial-static-" + std::to_string(rd()) + std::to_string(rd()));
    root = base / "public";
    write_file(root / "hello.txt", "hello world");
    write_file(root / "css" / "site.css", "body{}");
    write_file(root / "%2e%2e" / "secret.txt", "decoy");
    write_file(base / "secret.txt", "top secret");
    fs::create_symlink(base / "secret.txt", root / "escape.txt");
    fs::create_symlink(root / "hello.txt", root / "alias.txt");
    fs::create_directory_symlink(base, root / "up");
  }
  ~site() {
    std::error_code ec;
    fs::remove_all(base, ec);
  }
  site(const site&) = delete;
  site& operator=(const site&) = delete;
  fs::path base;
  fs::path root;
};

}  // namespace

TEST_CASE("a static folder serves files with content type, length and validators",
          "[app][static]") {
  site s;
  vial::app app;
  app.static_folder("/static", s.root.string());
  test_client client(app);
  auto r = client.get("/static/hello.txt");
  CHECK(r.status() == 200);
  CHECK(r.text() == "hello world");
  CHECK(r.content_type() == "text/plain; charset=utf-8");
  CHECK(r.header("Accept-Ranges") == std::optional<std::string_view>("bytes"));
  CHECK(r.header("ETag"));
  CHECK(r.header("Last-Modified"));
  auto css = client.get("/static/css/site.css");
  CHECK(css.text() == "body{}");
  CHECK(css.content_type() == "text/css; charset=utf-8");
  CHECK(client.get("/static/alias.txt").text() == "hello world");  // symlink inside the root
  CHECK(client.get("/static/missing.txt").status() == 404);
  CHECK(client.get("/static/css").status() == 404);  // a directory is not a file
  CHECK(app.url_for("static", {{"filename", "css/site.css"}}) == "/static/css/site.css");
}

TEST_CASE("static paths never leave the folder", "[app][static][hostile]") {
  site s;
  vial::app app;
  app.static_folder("/static", s.root.string());
  test_client client(app);
  auto target =
      GENERATE(as<std::string>{}, "/static/../secret.txt", "/static/%2e%2e/secret.txt",
               "/static/%2E%2E/secret.txt", "/static/css/../../secret.txt",
               "/static/css/%2e%2e/%2e%2e/secret.txt", "/static/..%2fsecret.txt",
               "/static/%2e%2e%2fsecret.txt", "/static/..%5csecret.txt", "/static/escape.txt",
               "/static/up/secret.txt", "/static//etc/passwd", "/static/hello.txt%00.png");
  CAPTURE(target);
  auto r = client.get(target);
  CHECK(r.text().find("top secret") == std::string::npos);
  CHECK((r.status() == 404 || r.status() == 400));
}

TEST_CASE("a double-encoded dot-dot is a literal name, not a parent directory",
          "[app][static][hostile]") {
  site s;
  vial::app app;
  app.static_folder("/static", s.root.string());
  test_client client(app);
  // %252e decodes once to "%2e": the directory literally named "%2e%2e" inside the root.
  auto r = client.get("/static/%252e%252e/secret.txt");
  CHECK(r.status() == 200);
  CHECK(r.text() == "decoy");
}

TEST_CASE("conditional requests answer 304", "[app][static][conditional]") {
  site s;
  vial::app app;
  app.static_folder("/static", s.root.string());
  test_client client(app);
  auto first = client.get("/static/hello.txt");
  const std::string etag(first.header("ETag").value_or(""));
  const std::string modified(first.header("Last-Modified").value_or(""));
  auto by_etag = client.get("/static/hello.txt", {.headers = {{"If-None-Match", etag}}});
  CHECK(by_etag.status() == 304);
  CHECK(by_etag.text().empty());
  CHECK(by_etag.header("ETag") == std::optional<std::string_view>(etag));
  CHECK(client.get("/static/hello.txt", {.headers = {{"If-None-Match", "\"x\", W/" + etag}}})
            .status() == 304);
  CHECK(client.get("/static/hello.txt", {.headers = {{"If-None-Match", "\"other\""}}}).status() ==
        200);
  CHECK(client.get("/static/hello.txt", {.headers = {{"If-Modified-Since", modified}}}).status() ==
        304);
  CHECK(client
            .get("/static/hello.txt",
                 {.headers = {{"If-Modified-Since", "Mon, 01 Jan 2001 00:00:00 GMT"}}})
            .status() == 200);
  // If-None-Match wins over If-Modified-Since.
  CHECK(client
            .get("/static/hello.txt",
                 {.headers = {{"If-None-Match", "\"other\""}, {"If-Modified-Since", modified}}})
            .status() == 200);
}

TEST_CASE("range requests answer 206 or 416", "[app][static][range]") {
  site s;
  vial::app app;
  app.static_folder("/static", s.root.string());
  test_client client(app);
  auto range = [&](std::string value) {
    return client.get("/static/hello.txt", {.headers = {{"Range", std::move(value)}}});
  };
  auto r = range("bytes=0-4");
  CHECK(r.status() == 206);
  CHECK(r.text() == "hello");
  CHECK(r.header("Content-Range") == std::optional<std::string_view>("bytes 0-4/11"));
  CHECK(range("bytes=6-").text() == "world");
  CHECK(range("bytes=-5").text() == "world");
  CHECK(range("bytes=6-100").header("Content-Range") ==
        std::optional<std::string_view>("bytes 6-10/11"));
  auto past = range("bytes=11-");
  CHECK(past.status() == 416);
  CHECK(past.header("Content-Range") == std::optional<std::string_view>("bytes */11"));
  CHECK(range("bytes=-0").status() == 416);
  // Malformed or multiple ranges are ignored: the whole file.
  for (const char* ignored :
       {"bytes=5-1", "bytes=a-b", "items=0-1", "bytes=0-1,3-4", "bytes=99999999999999999999999-"}) {
    CAPTURE(ignored);
    auto whole = range(ignored);
    CHECK(whole.status() == 200);
    CHECK(whole.text() == "hello world");
  }
  auto etag = std::string(client.get("/static/hello.txt").header("ETag").value_or(""));
  CHECK(client.get("/static/hello.txt", {.headers = {{"Range", "bytes=0-4"}, {"If-Range", etag}}})
            .status() == 206);
  CHECK(client
            .get("/static/hello.txt",
                 {.headers = {{"Range", "bytes=0-4"}, {"If-Range", "\"stale\""}}})
            .status() == 200);
}

TEST_CASE("large files are streamed in chunks, ranges included", "[app][static][stream]") {
  site s;
  std::string big;
  for (int i = 0; big.size() < 1'000'000; ++i) big += std::to_string(i) + ",";
  write_file(s.root / "big.bin", big);
  vial::app app;
  app.get("/big", [&](vial::request& req) {
    return vial::send_file(req, s.root / "big.bin", {.stream_threshold = 4096, .chunk_size = 1000});
  });
  test_client client(app);
  auto r = client.get("/big");
  CHECK(r.status() == 200);
  CHECK(r.content_type() == "application/octet-stream");
  CHECK(r.text() == big);
  auto part = client.get("/big", {.headers = {{"Range", "bytes=1000-500999"}}});
  CHECK(part.status() == 206);
  CHECK(part.text() == big.substr(1000, 500000));

  vial::request req("GET", "/big");
  auto direct = vial::send_file(req, s.root / "big.bin", {.stream_threshold = 4096});
  CHECK(direct.is_stream());
}

TEST_CASE("send_file sets attachment names safely and guesses content types", "[app][static]") {
  site s;
  vial::request req("GET", "/");
  auto r = vial::send_file(req, s.root / "hello.txt",
                           {.as_attachment = true, .download_name = "re\"port\r\n.txt"});
  CHECK(r.headers().get("Content-Disposition") ==
        std::optional<std::string_view>("attachment; filename=\"re_port__.txt\""));
  CHECK(vial::guess_content_type("a.PNG") == "image/png");
  CHECK(vial::guess_content_type("dir.d/file") == "application/octet-stream");
  CHECK_THROWS_AS(vial::send_file(req, s.root / "nope"), vial::http_error);
}
