#include "vial/server/access_log.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <regex>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/catch.hpp"
#include "support/raw_client.hpp"
#include "vial/app.hpp"
#include "vial/server/server.hpp"

using namespace std::chrono_literals;
using vial::test::raw_client;

namespace {

vial::access_record sample_record() {
  return {.remote = "203.0.113.7:41000",
          .method = "GET",
          .target = "/a?b=\"1\"",
          .status = 200,
          .bytes = 512,
          .duration = std::chrono::microseconds(1234),
          .request_id = "abc-1",
          .referer = "",
          .user_agent = "curl/7.88 \xc3\xa9",
          .version = 11};
}

// Records handed over by the server's I/O thread.
struct record_box {
  std::mutex m;
  std::condition_variable cv;
  std::vector<vial::access_record> records;
  void add(const vial::access_record& r) {
    std::lock_guard lock(m);
    records.push_back(r);
    cv.notify_all();
  }
  bool wait_for(std::size_t n) {
    std::unique_lock lock(m);
    return cv.wait_for(lock, 5s, [&] { return records.size() >= n; });
  }
};

}  // namespace

TEST_CASE("the combined format is nginx's, with the port dropped and quotes escaped",
          "[server][access_log]") {
  const std::string line =
      vial::format_access_record(sample_record(), vial::access_log_format::combined);
  const std::regex shape(
      R"(203\.0\.113\.7 - - \[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000\] )"
      R"("GET /a\?b=\\x221\\x22 HTTP/1\.1" 200 512 "-" "curl/7\.88 \\xC3\\xA9")");
  CHECK(std::regex_match(line, shape));
  INFO(line);

  auto refused = sample_record();
  refused.method = "-";
  refused.target = "-";
  refused.remote = "[::1]:5000";
  refused.status = 400;
  const std::string refused_line =
      vial::format_access_record(refused, vial::access_log_format::combined);
  CHECK(refused_line.starts_with("::1 - - ["));
  CHECK(refused_line.find("] \"-\" 400 512 ") != std::string::npos);
}

TEST_CASE("the JSON lines format is one parseable object per record", "[server][access_log]") {
  auto r = sample_record();
  r.target = "/\xff\"\\";  // invalid UTF-8 and JSON's own specials
  const std::string line = vial::format_access_record(r, vial::access_log_format::json_lines);
  CHECK(line.find('\n') == std::string::npos);
  auto j = nlohmann::json::parse(line);
  CHECK(j["remote"] == "203.0.113.7:41000");
  CHECK(j["method"] == "GET");
  CHECK(j["target"] == "/\xef\xbf\xbd\"\\");
  CHECK(j["version"] == "HTTP/1.1");
  CHECK(j["status"] == 200);
  CHECK(j["bytes"] == 512);
  CHECK(j["duration_ms"] == Approx(1.234));
  CHECK(j["request_id"] == "abc-1");
  CHECK(j["user_agent"] == "curl/7.88 \xc3\xa9");
  CHECK(std::regex_match(j["time"].get<std::string>(),
                         std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")));
}

TEST_CASE("the stream and file sinks write one line per record", "[server][access_log]") {
  std::ostringstream out;
  auto sink = vial::access_log_to(out, vial::access_log_format::json_lines);
  sink(sample_record());
  sink(sample_record());
  const std::string text = out.str();
  CHECK(std::count(text.begin(), text.end(), '\n') == 2);

  char path[] = "/tmp/vial-access-XXXXXX";
  int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  ::close(fd);
  {
    auto file_sink = vial::access_log_file(path);
    file_sink(sample_record());
  }
  {
    auto file_sink = vial::access_log_file(path);  // appends
    file_sink(sample_record());
  }
  std::ifstream in(path);
  std::string first, second, third;
  CHECK(std::getline(in, first));
  CHECK(std::getline(in, second));
  CHECK_FALSE(std::getline(in, third));
  CHECK(first.starts_with("203.0.113.7 - - ["));
  std::remove(path);

  CHECK_THROWS_AS(vial::access_log_file("/nonexistent-dir/access.log"), std::system_error);
}

TEST_CASE("the access record carries the request id and the client behind a trusted proxy",
          "[server][access_log][proxy]") {
  vial::app app({.proxy = {.x_for = 1}});
  app.get("/hello", [] { return "hello"; });
  record_box box;
  vial::server srv(app,
                   {.port = 0, .access_log = [&](const vial::access_record& r) { box.add(r); }});
  srv.start();
  raw_client c(srv.port());
  c.send(
      "GET /hello HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 1.1.1.1, 203.0.113.7\r\n"
      "User-Agent: probe/1\r\nReferer: http://a.test/\r\n\r\n");
  auto first = c.read_response();
  c.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");  // the same connection, no proxy header
  auto second = c.read_response();
  REQUIRE(box.wait_for(2));
  std::lock_guard lock(box.m);
  CHECK(box.records[0].remote == "203.0.113.7");
  CHECK(box.records[0].request_id == first.header("X-Request-Id"));
  CHECK(box.records[0].request_id.size() == 32);
  CHECK(box.records[0].user_agent == "probe/1");
  CHECK(box.records[0].referer == "http://a.test/");
  CHECK(box.records[1].remote.starts_with("127.0.0.1:"));  // the peer again
  CHECK(box.records[1].request_id == second.header("X-Request-Id"));
  CHECK(box.records[1].request_id != box.records[0].request_id);
  CHECK(box.records[1].user_agent.empty());
  srv.stop();
}
