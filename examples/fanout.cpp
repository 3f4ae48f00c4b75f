// The seeds' concurrent API calls:
//
//   @app.route("/fanout")
//   async def fanout():
//       async with aiohttp.ClientSession() as session:
//           results = await asyncio.gather(*[fetch(session, url) for url in urls])
//       return jsonify(results=results, elapsed_ms=...)
//
// and the same calls made one after another from a plain view (requests.get in a loop).
//
// Both take a deadline for the whole fan-out (`timeout`, ms; aiohttp's ClientTimeout(total=)).
// An upstream that misbehaves fails the request: refused, not HTTP, cut short or too large is
// a client_error, answered 502 with what went wrong; past the deadline it is a timeout_error,
// answered 504 (hooks.cpp). The first failure cancels the calls still in flight.

#include <chrono>
#include <string>
#include <vector>

#include "demos.hpp"
#include <vial/async/error.hpp>
#include <vial/async/gather.hpp>
#include <vial/async/task.hpp>
#include <vial/http/json.hpp>
#include <vial/http/response.hpp>

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

std::chrono::milliseconds deadline_arg(const vial::request& req) {
  return std::chrono::milliseconds(int_arg(req, "timeout", 5000, 1, 60000));
}

vial::task<nlohmann::json> fetch(vial::http_client& client, std::string url,
                                 std::chrono::milliseconds timeout) {
  vial::request_options options;
  options.timeout = timeout;
  auto op = client.get(url, std::move(options));
  auto r = co_await std::move(op);
  co_return result(url, r.status());
}

}  // namespace

void register_fanout(vial::app& app, const context& ctx) {
  app.get(
      "/fanout",
      [&ctx](vial::request& req) -> vial::task<vial::response> {
        const auto urls = upstream_urls(req, ctx);
        const auto timeout = deadline_arg(req);
        const auto start = clock_type::now();
        std::vector<vial::task<nlohmann::json>> calls;
        calls.reserve(urls.size());
        // The calls run together, so each one's deadline is the fan-out's.
        for (const auto& url : urls) calls.push_back(fetch(*ctx.client, url, timeout));
        auto op = vial::gather(std::move(calls));
        auto results = co_await std::move(op);
        co_return vial::response::json({{"results", results}, {"elapsed_ms", elapsed_ms(start)}});
      },
      ctx.never_blocks());

  app.get("/fanout-sync", [&ctx](vial::request& req) {
    const auto urls = upstream_urls(req, ctx);
    const auto start = clock_type::now();
    const auto deadline = start + deadline_arg(req);
    nlohmann::json results = nlohmann::json::array();
    for (const auto& url : urls) {
      // One after another, so each call gets what is left of the fan-out's deadline.
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
      if (left <= std::chrono::milliseconds(0)) {
        throw vial::timeout_error("fan-out deadline passed before calling " + url);
      }
      vial::request_options options;
      options.timeout = left;
      results.push_back(result(url, ctx.client->get_sync(url, std::move(options)).status()));
    }
    return vial::response::json({{"results", results}, {"elapsed_ms", elapsed_ms(start)}});
  });
}

}  // namespace examples
