// docs/client.md's fixed fan-out, verbatim: three calls built inline inside gather. With GCC 12
// and a `request_options` aggregate defaulted to `= {}`, this freed a non-heap address.
#include "natural.hpp"
#include <vial/async.hpp>
#include <vial/client.hpp>

vial::task<int> fan_out(vial::http_client& client, std::string api) {
  auto [users, posts, comments] = co_await vial::gather(
      client.get(api + "/users"), client.get(api + "/posts"), client.get(api + "/comments"));
  NATURAL_CHECK(users.json()["path"] == "/echo/users");
  NATURAL_CHECK(posts.json()["path"] == "/echo/posts");
  NATURAL_CHECK(comments.json()["path"] == "/echo/comments");
  auto one = co_await client.get(api + "/one");
  NATURAL_CHECK(one.ok());
  co_return 0;
}

int main() {
  natural::upstream up;
  vial::http_client client;
  return vial::async_to_sync(fan_out(client, up.url() + "/echo"));
}
