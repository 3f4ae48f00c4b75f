// The seeds' concurrent API calls:
//
//   @app.route("/fanout")
//   async def fanout():
//       async with aiohttp.ClientSession() as session:
//           results = await asyncio.gather(*[fetch(session, url) for url in urls])
//       return jsonify(results=results, elapsed_ms=...)
//
// and the same calls made one after another from a plain view (requests.get in a loop).

#include <chrono>
#include <string>
#include <vector>

#include <vial/async/gather.hpp>
#include <vial/async/task.hpp>
#include <vial/http/json.hpp>
#include <vial/http/response.hpp>

#include "demos.hpp"

namespace examples {
namespace {

using clock_type = std::chrono::steady_clock;

std::vector<std::string> upstream_urls(const vial::request& req, const context& ctx) {
  const int n = int_arg(req, "n", 10, 1, 100);
  const int ms = int_arg(req, "ms", 200, 0, 10000);
  return std::vector<std::string>(static_cast<std::size_t>(n),
                                  ctx.upstream + "/upstream/delay?ms=" + std::to_string(ms));
}

nlohmann::json result(const std::string& url, int status) {
  return {{"url", url}, {"status", status}};
}

double elapsed_ms(clock_type::time_point since) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - since).count();
}

vial::task<nlohmann::json> fetch(vial::http_client& client, std::string url) {
  auto op = client.get(url);
  auto r = co_await std::move(op);
  co_return result(url, r.status());
}

}  // namespace

void register_fanout(vial::app& app, const context& ctx) {
  app.get("/fanout", [&ctx](vial::request& req) -> vial::task<vial::response> {
    const auto urls = upstream_urls(req, ctx);
    const auto start = clock_type::now();
    std::vector<vial::task<nlohmann::json>> calls;
    calls.reserve(urls.size());
    for (const auto& url : urls) calls.push_back(fetch(*ctx.client, url));
    auto op = vial::gather(std::move(calls));
    auto results = co_await std::move(op);
    co_return vial::response::json({{"results", results}, {"elapsed_ms", elapsed_ms(start)}});
  });

  app.get("/fanout-sync", [&ctx](vial::request& req) {
    const auto urls = upstream_urls(req, ctx);
    const auto start = clock_type::now();
    nlohmann::json results = nlohmann::json::array();
    for (const auto& url : urls) results.push_back(result(url, ctx.client->get_sync(url).status()));
    return vial::response::json({{"results", results}, {"elapsed_ms", elapsed_ms(start)}});
  });
}

}  // namespace examples
