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
//
// Unlike the seed, everything a client can make this demo hold is bounded, because each queued
// email keeps its body until it is sent (up to a minute later):
//   - a request body is at most 64 KiB (413 past it);
//   - at most 512 emails wait or are being sent; past that POST /send-email is 503 with
//     Retry-After, so the queue holds at most 32 MiB of bodies;
//   - GET /tasks/<id> remembers a task for 10 minutes after it was queued (until it finishes,
//     if later), and the 10,000 most recent tasks at most (the oldest is forgotten first):
//     then it is 404 (--task-ttl-ms and --tasks-kept change both);
//   - task ids are 128 random bits from the kernel (getrandom), in hex, so one client cannot
//     look up or guess another's.

#include <sys/random.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <unordered_map>
#include <utility>

#include "demos.hpp"
#include <vial/async/background.hpp>
#include <vial/async/task.hpp>
#include <vial/async/timeout.hpp>
#include <vial/http/error.hpp>
#include <vial/http/json.hpp>
#include <vial/http/response.hpp>

namespace examples {
namespace {

constexpr std::size_t max_email_body_bytes = 64 * 1024;
constexpr std::size_t max_queued_emails = 512;

/// Counts the emails queued or being sent. A `slot` holds one place while it lives.
class outbox {
 public:
  class slot {
   public:
    explicit slot(outbox* box) noexcept : box_(box) {}
    slot(slot&& other) noexcept : box_(std::exchange(other.box_, nullptr)) {}
    slot& operator=(slot&&) = delete;
    ~slot() {
      if (box_) --box_->queued_;
    }

   private:
    outbox* box_;
  };

  /// A place in the queue, or nullopt when it is full.
  std::optional<slot> reserve() {
    if (++queued_ > max_queued_emails) {
      --queued_;
      return std::nullopt;
    }
    return slot(this);
  }

 private:
  std::atomic<std::size_t> queued_{0};
};

/// The simulated send: waits `delay_ms`, then "delivers". Addresses at fail.invalid fail, so
/// the failed state can be seen too. `place` is given back when the coroutine frame goes,
/// whether it finished, failed or was abandoned at shutdown.
vial::task<void> send_email_async(std::string to, std::string subject, std::string body,
                                  int delay_ms, outbox::slot place) {
  (void)place;
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

/// 32 hex digits of kernel randomness.
std::string random_id() {
  unsigned char bytes[16];
  std::size_t got = 0;
  while (got < sizeof bytes) {
    ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "getrandom");
    }
    got += static_cast<std::size_t>(n);
  }
  static constexpr char digits[] = "0123456789abcdef";
  std::string id(32, '0');
  for (std::size_t i = 0; i < sizeof bytes; ++i) {
    id[2 * i] = digits[bytes[i] >> 4];
    id[2 * i + 1] = digits[bytes[i] & 0xf];
  }
  return id;
}

/// Background handles by id, for GET /tasks/<id>: at most `kept`, each for `ttl` after it was
/// added (until it finishes, if later).
/// Every operation is constant time (amortized); safe from any thread.
class task_registry {
 public:
  using clock = std::chrono::steady_clock;

  task_registry(std::chrono::milliseconds ttl, std::size_t kept)
      : ttl_(ttl), kept_(std::max<std::size_t>(1, kept)) {}

  /// Remembers `h` under a new random id, forgetting what is too old or too many.
  std::string add(const vial::background_handle& h) {
    auto id = random_id();
    const auto now = clock::now();
    std::lock_guard lock(mutex_);
    prune(now);
    if (handles_.size() >= kept_) forget_oldest();
    handles_.emplace(id, h);
    order_.emplace_back(now, id);
    return id;
  }

  std::optional<vial::background_handle> find(const std::string& id) {
    std::lock_guard lock(mutex_);
    prune(clock::now());
    auto it = handles_.find(id);
    if (it == handles_.end()) return std::nullopt;
    return it->second;
  }

 private:
  // Oldest first: stops at the first entry still young enough, or older but not finished
  // (work runs at most a minute after it started, so that one is soon finished too).
  void prune(clock::time_point now) {
    while (!order_.empty() && now - order_.front().first > ttl_) {
      auto state = handles_.at(order_.front().second).state();
      if (state == vial::background_state::queued || state == vial::background_state::running) {
        break;
      }
      forget_oldest();
    }
  }
  void forget_oldest() {
    handles_.erase(order_.front().second);
    order_.pop_front();
  }

  const std::chrono::milliseconds ttl_;
  const std::size_t kept_;
  std::mutex mutex_;
  std::unordered_map<std::string, vial::background_handle> handles_;
  std::deque<std::pair<clock::time_point, std::string>> order_;  // by age, oldest first
};

}  // namespace

void register_email(vial::app& app, const context& ctx) {
  auto tasks = std::make_shared<task_registry>(ctx.task_ttl, ctx.tasks_kept);
  auto queue = std::make_shared<outbox>();

  app.post("/send-email",
           [&app, tasks, queue](vial::request& req) -> vial::task<vial::response> {
             const auto& data = req.json();  // 400 on invalid JSON, 415 on another Content-Type
             if (!data.is_object()) throw vial::http_error(400, "expected a JSON object");
             auto to = string_field(data, "to");
             auto subject = string_field(data, "subject");
             auto body = string_field(data, "body");
             int delay_ms = 2000;
             if (auto it = data.find("delay_ms"); it != data.end()) {
               if (!it->is_number_integer() || it->get<long long>() < 0 ||
                   it->get<long long>() > 60000) {
                 throw vial::http_error(400, "'delay_ms' must be an integer between 0 and 60000");
               }
               delay_ms = it->get<int>();
             }
             auto place = queue->reserve();
             if (!place) {
               throw vial::http_error(503, "Too many emails are waiting to be sent; retry shortly.",
                                      vial::headers{{"Retry-After", "1"}});
             }
             auto handle =
                 app.background(send_email_async(std::move(to), std::move(subject), std::move(body),
                                                 delay_ms, std::move(*place)),
                                "send-email");
             auto id = tasks->add(handle);
             co_return vial::response::json({{"status", "Email queued"}, {"id", id}}, 202);
           },
           {.max_body_bytes = max_email_body_bytes});

  app.get("/tasks/<id>", [tasks](const std::string& id) -> vial::response {
    auto handle = tasks->find(id);
    if (!handle) return vial::response::json({{"error", "Task not found"}}, 404);
    return vial::response::json({{"id", id}, {"state", vial::to_string(handle->state())}});
  });
}

}  // namespace examples
