// Hooks and error handlers, as in the seeds' Flask 2 app:
//
//   @app.before_request
//   def start_timer(): g.start = time.perf_counter()
//
//   @app.after_request
//   async def add_duration(response):
//       response.headers["X-Request-Duration"] = f"{time.perf_counter() - g.start:.6f}"
//       return response
//
//   @app.errorhandler(404)
//   async def not_found(e): return jsonify(error="Not found"), 404

#include <chrono>
#include <cstdio>
#include <string>

#include "demos.hpp"
#include <vial/async/task.hpp>
#include <vial/http/error.hpp>
#include <vial/http/json.hpp>
#include <vial/http/response.hpp>

namespace examples {
namespace {

/// Stored in the request's `g` by the before_request hook.
struct request_timer {
  std::chrono::steady_clock::time_point start{};
};

/// A coroutine error handler answering `{"error": message}` with `status`.
auto json_error(int status, std::string message) {
  return [status, message](const vial::http_error&) -> vial::task<vial::response> {
    co_return vial::response::json({{"error", message}}, status);
  };
}

/// Like `json_error`, but says what was wrong when the error carries a description.
auto json_error_described(int status, std::string fallback) {
  return [status, fallback](const vial::http_error& e) -> vial::task<vial::response> {
    co_return vial::response::json(
        {{"error", e.description().empty() ? fallback : e.description()}}, status);
  };
}

}  // namespace

void register_hooks(vial::app& app) {
  app.before_request(
      [](vial::request& req) { req.g<request_timer>().start = std::chrono::steady_clock::now(); });
  app.after_request([](vial::request& req, vial::response& res) -> vial::task<void> {
    auto* timer = req.find_g<request_timer>();
    if (timer != nullptr) {
      std::chrono::duration<double> took = std::chrono::steady_clock::now() - timer->start;
      char text[32];
      std::snprintf(text, sizeof text, "%.6f", took.count());
      res.set_header("X-Request-Duration", text);
    }
    co_return;
  });

  app.errorhandler(400, json_error_described(400, "Bad request"));
  app.errorhandler(404, json_error(404, "Not found"));
  app.errorhandler(405, json_error(405, "Method not allowed"));  // Allow survives the handler
  app.errorhandler(409, json_error_described(409, "Conflict"));
  app.errorhandler(413, json_error(413, "Request body too large"));
  app.errorhandler(415, json_error_described(415, "Unsupported media type"));
  app.errorhandler(500, json_error(500, "Internal server error"));  // internals stay in the log
  // An upstream fault or a full blocking pool says what happened (client_error and the app give
  // a description without internals): "The upstream sent a malformed response."
  app.errorhandler(502, json_error_described(502, "Bad Gateway"));
  app.errorhandler(503, json_error_described(503, "Service unavailable"));  // Retry-After kept
  app.errorhandler(504, json_error_described(504, "Gateway Timeout"));
}

int int_arg(const vial::request& req, std::string_view name, int fallback, int lo, int hi) {
  // get_as throws a 400 for "", "12x", "-", and values that overflow long long.
  auto value = req.args().get_as<long long>(name);
  if (!value) return fallback;
  if (*value < lo || *value > hi) {
    throw vial::http_error(400, std::string(name) + " must be between " + std::to_string(lo) +
                                    " and " + std::to_string(hi));
  }
  return static_cast<int>(*value);
}

}  // namespace examples
