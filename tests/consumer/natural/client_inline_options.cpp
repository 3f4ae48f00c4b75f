// Every client call with its options written inline, in a co_await expression, in gather and in
// with_timeout, and the blocking forms.
#include <chrono>
#include <string>

#include "natural.hpp"
#include <vial/async.hpp>
#include <vial/client.hpp>

using namespace std::chrono_literals;

vial::task<int> calls(vial::http_client& client, std::string api) {
  auto r = co_await client.get(api + "/get", {.headers = {{"X-A", "1"}, {"X-B", std::to_string(2)}},
                                              .query = {{"q", std::string("a b")}},
                                              .timeout = 2s});
  auto j = r.json();
  NATURAL_CHECK(j["method"] == "GET" && j["path"] == "/echo/get");
  NATURAL_CHECK(j["x"]["X-A"] == "1" && j["x"]["X-B"] == "2" && j["args"]["q"] == "a b");

  r = co_await client.get(api + "/empty", {});
  NATURAL_CHECK(r.ok());
  r = co_await client.head(api + "/head", {.headers = {{"X-H", "h"}}});
  NATURAL_CHECK(r.ok() && r.text().empty());

  r = co_await client.post(
      api + "/raw", {.headers = {{"Content-Type", "text/plain"}}, .body = std::string("x") + "yz"});
  j = r.json();
  NATURAL_CHECK(j["method"] == "POST" && j["body"] == "xyz" && j["content_type"] == "text/plain");

  r = co_await client.post(api + "/json", nlohmann::json::parse(R"({"k": 1})"),
                           {.headers = {{"X-J", "j"}}, .timeout = 2s});
  j = r.json();
  NATURAL_CHECK(nlohmann::json::parse(j["body"].get<std::string>())["k"] == 1);
  NATURAL_CHECK(j["content_type"] == "application/json" && j["x"]["X-J"] == "j");

  r = co_await client.put(api + "/put", {.json = nlohmann::json::parse("[1, 2]")});
  NATURAL_CHECK(r.json()["method"] == "PUT" && r.json()["body"] == "[1,2]");
  r = co_await client.patch(api + "/patch", {.body = std::string(40, 'p')});
  NATURAL_CHECK(r.json()["method"] == "PATCH" && r.json()["body"] == std::string(40, 'p'));
  r = co_await client.delete_(api + "/delete", {.query = {{"id", std::to_string(42)}}});
  NATURAL_CHECK(r.json()["method"] == "DELETE" && r.json()["args"]["id"] == "42");
  r = co_await client.request(vial::method::post, api + "/request",
                              {.body = std::string("r"), .max_response_bytes = 1 << 20});
  NATURAL_CHECK(r.json()["body"] == "r");

#if defined(__clang__)
  // A brace list that builds a std::initializer_list inside a co_await expression does not
  // compile with GCC 12 ("array used as initializer"); clang takes it.
  r = co_await client.post(api + "/braces", {.json = nlohmann::json{{"k", 1}, {"l", {1, 2}}}});
  NATURAL_CHECK(r.json()["body"] == R"({"k":1,"l":[1,2]})");
#endif

  auto [a, b, c] = co_await vial::gather(
      client.get(api + "/a", {.headers = {{"X-A", std::string("gathered")}}, .timeout = 2s}),
      client.post(api + "/b", {.body = std::string("b") + "c"}),
      client.post(api + "/c", nlohmann::json::parse("3")));
  NATURAL_CHECK(a.json()["x"]["X-A"] == "gathered");
  NATURAL_CHECK(b.json()["body"] == "bc" && c.json()["body"] == "3");

  r = co_await vial::with_timeout(
      client.get(api + "/deadline", {.headers = {{"X-T", std::to_string(5)}}, .timeout = 2s}), 5s);
  NATURAL_CHECK(r.json()["x"]["X-T"] == "5");
  co_return 0;
}

int main() {
  natural::upstream up;
  vial::http_client client;
  const std::string api = up.url() + "/echo";
  if (int rc = vial::async_to_sync(calls(client, api)); rc != 0) return rc;

  auto r = client.fetch(
      vial::method::post, api + "/fetch",
      {.headers = {{"X-F", std::string("f")}}, .body = std::string("body"), .timeout = 2s});
  NATURAL_CHECK(r.json()["x"]["X-F"] == "f" && r.json()["body"] == "body");
  r = client.fetch(vial::method::post, api + "/fetch-json", {.json = nlohmann::json{{"k", 1}}});
  NATURAL_CHECK(r.json()["body"] == R"({"k":1})");
  r = client.get_sync(api + "/sync", {.query = {{"a", "1"}, {"b", "2"}}});
  NATURAL_CHECK(r.json()["args"]["a"] == "1" && r.json()["args"]["b"] == "2");
  return 0;
}
