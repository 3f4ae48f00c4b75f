// The seeds' background task:
//
//   @app.route("/send-email", methods=["POST"])
//   async def send_email():
//       data = request.get_json()
//       asyncio.create_task(send_email_async(data["to"], data["subject"], data["body"]))
//       return jsonify(status="Email queued"), 202
//
// `app.background` is the safe create_task: the work outlives the request on the app's
// background executor, its failures are logged, and its handle reports where it is.

#include <chrono>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>

#include <vial/async/background.hpp>
#include <vial/async/task.hpp>
#include <vial/async/timeout.hpp>
#include <vial/http/error.hpp>
#include <vial/http/json.hpp>
#include <vial/http/response.hpp>

#include "demos.hpp"

namespace examples {
namespace {

/// The simulated send: waits `delay_ms`, then "delivers". Addresses at fail.invalid fail, so
/// the failed state can be seen too.
vial::task<void> send_email_async(std::string to, std::string subject, std::string body,
                                  int delay_ms) {
  auto nap = vial::sleep_for(std::chrono::milliseconds(delay_ms));
  co_await std::move(nap);
  if (to.ends_with("@fail.invalid")) throw std::runtime_error("mailbox unavailable: " + to);
  (void)subject;
  (void)body;
}

std::string string_field(const nlohmann::json& data, const char* name) {
  auto it = data.find(name);
  if (it == data.end() || !it->is_string()) {
    throw vial::http_error(400, std::string("'") + name + "' must be a string");
  }
  return it->get<std::string>();
}

/// Background handles by id, for GET /tasks/<id>.
class task_registry {
 public:
  void add(const vial::background_handle& h) {
    std::lock_guard lock(mutex_);
    handles_.emplace(h.id(), h);
  }
  std::optional<vial::background_handle> find(const std::string& id) const {
    std::lock_guard lock(mutex_);
    auto it = handles_.find(id);
    if (it == handles_.end()) return std::nullopt;
    return it->second;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, vial::background_handle> handles_;
};

}  // namespace

void register_email(vial::app& app) {
  auto tasks = std::make_shared<task_registry>();

  app.post("/send-email", [&app, tasks](vial::request& req) -> vial::task<vial::response> {
    const auto& data = req.json();  // 400 on invalid JSON, 415 on another Content-Type
    if (!data.is_object()) throw vial::http_error(400, "expected a JSON object");
    auto to = string_field(data, "to");
    auto subject = string_field(data, "subject");
    auto body = string_field(data, "body");
    int delay_ms = 2000;
    if (auto it = data.find("delay_ms"); it != data.end()) {
      if (!it->is_number_integer() || it->get<long long>() < 0 || it->get<long long>() > 60000) {
        throw vial::http_error(400, "'delay_ms' must be an integer between 0 and 60000");
      }
      delay_ms = it->get<int>();
    }
    auto handle = app.background(send_email_async(std::move(to), std::move(subject),
                                                  std::move(body), delay_ms),
                                 "send-email");
    tasks->add(handle);
    co_return vial::response::json({{"status", "Email queued"}, {"id", handle.id()}}, 202);
  });

  app.get("/tasks/<id>", [tasks](const std::string& id) -> vial::response {
    auto handle = tasks->find(id);
    if (!handle) return vial::response::json({{"error", "Task not found"}}, 404);
    return vial::response::json({{"id", id}, {"state", vial::to_string(handle->state())}});
  });
}

}  // namespace examples
