// Options built step by step in a request_options, passed by name, moved, or as a temporary.
#include <chrono>
#include <string>

#include "natural.hpp"
#include <vial/async.hpp>
#include <vial/client.hpp>

using namespace std::chrono_literals;

vial::task<int> calls(vial::http_client& client, std::string api) {
  vial::request_options o;
  o.headers.add("X-A", "1");
  o.query.add("q", "named");
  o.json = nlohmann::json::parse(R"({"k": 1})");
  o.timeout = 2s;
  auto r = co_await client.post(api + "/named", o);
  auto j = r.json();
  NATURAL_CHECK(j["x"]["X-A"] == "1" && j["args"]["q"] == "named" && j["body"] == R"({"k":1})");

  r = co_await client.put(api + "/moved", std::move(o));
  NATURAL_CHECK(r.json()["method"] == "PUT" && r.json()["x"]["X-A"] == "1");

  vial::request_options from_inline({.headers = {{"X-B", "2"}}, .timeout = 2s});
  from_inline.headers.add("X-C", "3");
  from_inline.body = std::string(100, 'b');
  r = co_await client.patch(api + "/from-inline", from_inline);
  j = r.json();
  NATURAL_CHECK(j["x"]["X-B"] == "2" && j["x"]["X-C"] == "3" && j["body"] == std::string(100, 'b'));

  r = co_await client.get(api + "/temporary", vial::request_options());
  NATURAL_CHECK(r.ok());

  vial::request_options first, second;
  first.headers.add("X-N", "first");
  second.headers.add("X-N", "second");
  auto [a, b] =
      co_await vial::gather(client.get(api + "/1", first), client.get(api + "/2", second));
  NATURAL_CHECK(a.json()["x"]["X-N"] == "first" && b.json()["x"]["X-N"] == "second");

  vial::headers shared{{"X-S", "s"}};
  r = co_await client.get(api + "/view-of-headers", {.headers = shared});
  NATURAL_CHECK(r.json()["x"]["X-S"] == "s");
  co_return 0;
}

int main() {
  natural::upstream up;
  vial::http_client client;
  const std::string api = up.url() + "/echo";
  if (int rc = vial::async_to_sync(calls(client, api)); rc != 0) return rc;
  vial::request_options o;
  o.headers.add("X-Sync", "1");
  auto r = client.get_sync(api + "/sync", o);
  NATURAL_CHECK(r.json()["x"]["X-Sync"] == "1");
  r = client.fetch(vial::method::delete_, api + "/sync", std::move(o));
  NATURAL_CHECK(r.json()["method"] == "DELETE");
  return 0;
}
