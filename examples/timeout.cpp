// Deadlines and failures:
//
//   @app.route("/with-timeout")
//   async def with_timeout():
//       try:
//           return jsonify(ms=await asyncio.wait_for(work(ms), timeout / 1000))
//       except asyncio.TimeoutError:
//           return jsonify(error="Gateway Timeout"), 504
//
//   @app.route("/boom")
//   def boom(): raise RuntimeError("boom")   # -> the 500 error handler

#include <chrono>
#include <stdexcept>

#include "demos.hpp"
#include <vial/async/error.hpp>
#include <vial/async/task.hpp>
#include <vial/async/timeout.hpp>
#include <vial/http/json.hpp>
#include <vial/http/response.hpp>

namespace examples {
namespace {

vial::task<nlohmann::json> work(int ms) {
  auto nap = vial::sleep_for(std::chrono::milliseconds(ms));
  co_await std::move(nap);
  co_return nlohmann::json{{"ms", ms}};
}

}  // namespace

void register_timeout(vial::app& app, const context& ctx) {
  app.get(
      "/with-timeout",
      [](vial::request& req) -> vial::task<vial::response> {
        const int ms = int_arg(req, "ms", 1000, 0, 10000);
        const int timeout = int_arg(req, "timeout", 500, 0, 10000);
        nlohmann::json body;
        try {
          auto op = vial::with_timeout(work(ms), std::chrono::milliseconds(timeout));
          body = co_await std::move(op);
        } catch (const vial::timeout_error&) {
          body = nullptr;  // the work was cancelled; nothing of it runs after the deadline
        }
        if (body.is_null()) co_return vial::response::json({{"error", "Gateway Timeout"}}, 504);
        co_return vial::response::json(body);
      },
      ctx.never_blocks());

  app.get("/boom", []() -> vial::response { throw std::runtime_error("boom"); });
}

}  // namespace examples
