// docs/async.md, runnable: coroutine handlers, gather, with_timeout, to_thread, background work.
// Built and run by the test suite (doc_snippet_async_tour), so the page cannot drift.
#include <chrono>
#include <iostream>
#include <thread>

#include <vial/vial.hpp>

using namespace std::chrono_literals;

// [fetch]
vial::task<int> fetch_price(int item) {  // stands in for a call to another service
  co_await vial::sleep_for(50ms);
  co_return item * 10;
}
// [fetch]

int main() {
  vial::app app;

  // [gather]
  app.get("/basket", []() -> vial::task<nlohmann::json> {
    auto prices = vial::gather(fetch_price(1), fetch_price(2), fetch_price(3));
    auto [a, b, c] = co_await std::move(prices);  // ~50 ms in all, not 150
    co_return nlohmann::json{{"total", a + b + c}};
  });
  // [gather]

  // [timeout]
  app.get("/slow", []() -> vial::task<std::string> {
    auto work = vial::with_timeout(vial::sleep_for(5s), 100ms);
    co_await std::move(work);  // throws vial::timeout_error: the client gets 504
    co_return "never";
  });
  // [timeout]

  // [to_thread]
  app.get("/report", []() -> vial::task<std::string> {
    auto query = vial::to_thread([] {  // blocking code: SQLite, files, a sync library
      std::this_thread::sleep_for(20ms);
      return std::string("42 rows");
    });
    co_return co_await std::move(query);
  });
  // [to_thread]

  // [background]
  app.post("/send-email/<to>", [&app](std::string to) -> std::tuple<nlohmann::json, int> {
    auto job = app.background(
        [to]() -> vial::task<void> {       // the lambda, not called: the app keeps it and `to`
          co_await vial::sleep_for(30ms);  // stands in for the SMTP exchange with `to`
        },
        "send-email");
    return {nlohmann::json{{"status", "Email queued"}, {"id", job.id()}}, 202};
  });
  // [background]

  vial::test_client client(app);
  auto start = std::chrono::steady_clock::now();
  std::cout << client.get("/basket").text() << "\n";
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  start)
                .count();
  std::cout << "basket took " << (ms < 140 ? "under 140 ms" : "too long") << "\n";
  std::cout << client.get("/slow").status() << "\n";
  std::cout << client.get("/report").text() << "\n";
  std::cout << client.post("/send-email/ada@example.com").status() << "\n";
  std::cout << "abandoned at shutdown: " << app.shutdown(std::chrono::seconds(2)) << "\n";
}
