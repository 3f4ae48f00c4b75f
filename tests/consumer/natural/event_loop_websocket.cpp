// Natural code: the docs' event-loop route (a coroutine that awaits a timer and blocking work
// through to_thread) served over loopback, and a WebSocket echo opened from the test client.

#include <chrono>
#include <string>

#include "natural.hpp"
#include <vial/testing.hpp>
#include <vial/vial.hpp>

using namespace std::chrono_literals;

int main() {
  vial::app app({.coroutines = vial::coroutine_mode::event_loop});
  app.get("/data", [](vial::request& req) -> vial::task<std::string> {
    co_await vial::sleep_for(10ms);
    auto lookup = [name = std::string(req.args().get_or("name", "world"))] { return "hi " + name; };
    std::string greeting = co_await vial::to_thread(lookup);
    co_return greeting;
  });
  app.websocket("/ws/echo", [](vial::websocket& ws) -> vial::task<void> {
    for (;;) {
      auto m = co_await ws.receive();
      if (m.is_close()) co_return;
      co_await ws.send(std::move(m));
    }
  });

  vial::server srv(app, {.port = 0});
  srv.start();
  vial::http_client client;
  auto r = client.get_sync("http://127.0.0.1:" + std::to_string(srv.port()) + "/data?name=vial");
  NATURAL_CHECK(r.status() == 200);
  NATURAL_CHECK(r.text() == "hi vial");
  srv.stop();

  vial::test_client tc(app);
  auto ws = tc.websocket("/ws/echo");
  NATURAL_CHECK(ws.accepted());
  ws.send("ping");
  auto text = ws.receive();
  NATURAL_CHECK(text.is_text() && text.data == "ping");
  ws.send_binary(std::string("\0\1", 2));
  auto bytes = ws.receive();
  NATURAL_CHECK(bytes.is_binary() && bytes.data == std::string("\0\1", 2));
  return 0;
}
