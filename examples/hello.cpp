// The seeds' first views:
//
//   @app.route("/hello")
//   def hello(): return "Hello, World!"
//
//   async def async_get_data():
//       await asyncio.sleep(1)
//       return "Done!"
//
//   @app.route("/data")
//   async def get_data(): return await async_get_data()

#include <chrono>
#include <string>

#include "demos.hpp"
#include <vial/async/task.hpp>
#include <vial/async/timeout.hpp>
#include <vial/http/json.hpp>
#include <vial/http/response.hpp>

namespace examples {
namespace {

vial::task<std::string> async_get_data(int ms) {
  auto nap = vial::sleep_for(std::chrono::milliseconds(ms));
  co_await std::move(nap);
  co_return "Done!";
}

}  // namespace

void register_hello(vial::app& app, const context& ctx) {
  app.get("/hello", [] { return vial::response::text("Hello, World!"); });

  app.get(
      "/hello-async",
      []() -> vial::task<vial::response> { co_return vial::response::text("Hello, World!"); },
      ctx.never_blocks());

  app.get(
      "/data",
      [](vial::request& req) -> vial::task<vial::response> {
        const int ms = int_arg(req, "ms", 1000, 0, 10000);
        auto op = async_get_data(ms);
        auto data = co_await std::move(op);
        co_return vial::response::text(std::move(data));
      },
      ctx.never_blocks());
}

void register_upstream(vial::app& app) {
  app.get("/upstream/delay", [](vial::request& req) -> vial::task<vial::response> {
    const int ms = int_arg(req, "ms", 0, 0, 10000);
    auto nap = vial::sleep_for(std::chrono::milliseconds(ms));
    co_await std::move(nap);
    co_return vial::response::json({{"ms", ms}});
  });
}

}  // namespace examples
