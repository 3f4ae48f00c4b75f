// A handler passes a capturing coroutine lambda to app.background, as docs/async.md shows.
// Exits 0 only if the coroutine ran, with its capture intact, after the request ended.
#include <atomic>
#include <chrono>
#include <string>
#include <tuple>

#include <vial/vial.hpp>

int main() {
  vial::app app;
  std::atomic<bool> ran{false};
  std::string delivered_to;
  app.post("/send-email/<to>", [&](std::string to) {
    app.background(
        [to, &ran, &delivered_to]() -> vial::task<void> {
          co_await vial::sleep_for(std::chrono::milliseconds(10));
          delivered_to = to;
          ran = true;
        },
        "send-email");
    return std::tuple{std::string("queued"), 202};
  });
  vial::test_client client(app);
  if (client.post("/send-email/ada@example.com").status() != 202) return 1;
  if (app.shutdown(std::chrono::seconds(5)) != 0) return 2;  // drains background work
  return ran && delivered_to == "ada@example.com" ? 0 : 3;
}
