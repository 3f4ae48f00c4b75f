// The seeds' streamed response, as server-sent events:
//
//   @app.route("/stream")
//   def stream():
//       def generate():
//           for i in range(n):
//               yield f"data: {i}\n\n"
//               time.sleep(ms / 1000)
//       return Response(generate(), mimetype="text/event-stream")
//
// Here the generator is a coroutine: waiting between events holds no thread.

#include <chrono>
#include <optional>
#include <string>

#include "demos.hpp"
#include <vial/app/stream.hpp>
#include <vial/async/task.hpp>
#include <vial/async/timeout.hpp>

namespace examples {

void register_stream(vial::app& app, const context& ctx) {
  // A coroutine handler, so that the route follows the demos' mode: its events are awaited on
  // the event loop either way.
  app.get(
      "/stream",
      [](vial::request& req) -> vial::task<vial::response> {
        const int n = int_arg(req, "n", 10, 1, 1000);
        const int ms = int_arg(req, "ms", 500, 0, 10000);
        co_return vial::event_stream(
            [i = 0, n, ms]() mutable -> vial::task<std::optional<vial::sse_event>> {
              if (i >= n) co_return std::nullopt;
              if (i > 0) {
                auto nap = vial::sleep_for(std::chrono::milliseconds(ms));
                co_await std::move(nap);
              }
              co_return vial::sse_event{.data = std::to_string(i++)};
            });
      },
      ctx.never_blocks());
}

}  // namespace examples
