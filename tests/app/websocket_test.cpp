#include "vial/app/websocket.hpp"

#include <atomic>
#include <string>
#include <thread>

#include "support/catch.hpp"
#include "support/websocket_echo.hpp"
#include "vial/app/app.hpp"
#include "vial/app/blueprint.hpp"
#include "vial/testing/test_client.hpp"

using vial::task;
using vial::websocket;
using vial::websocket_message;
using vial::test::echo;

TEST_CASE("a WebSocket route echoes text and binary messages through the test client",
          "[app][websocket]") {
  vial::app app;
  app.websocket("/ws/echo", echo);
  vial::test_client client(app);
  auto ws = client.websocket("/ws/echo");
  REQUIRE(ws.status() == 101);
  ws.send("hello");
  auto m = ws.receive();
  CHECK(m.is_text());
  CHECK(m.data == "hello");
  ws.send_binary(std::string("\0\1\2", 3));
  m = ws.receive();
  CHECK(m.is_binary());
  CHECK(m.data == std::string("\0\1\2", 3));
  ws.close(1000, "bye");
  m = ws.receive();
  CHECK(m.is_close());
  CHECK(m.code == 1000);
}

TEST_CASE("a WebSocket handler takes typed path parameters", "[app][websocket]") {
  vial::app app;
  app.websocket("/ws/rooms/<int:id>/<name>",
                [](websocket& ws, int id, std::string_view name) -> task<void> {
                  co_await ws.send(std::to_string(id + 1) + ":" + std::string(name));
                });
  vial::test_client client(app);
  auto ws = client.websocket("/ws/rooms/41/lobby");
  REQUIRE(ws.accepted());
  CHECK(ws.receive().data == "42:lobby");
  auto closing = ws.receive();
  CHECK(closing.is_close());
  CHECK(closing.code == 1000);  // the handler returned: a normal close
  CHECK(client.websocket("/ws/rooms/99999999999999999999/x").status() == 404);
}

TEST_CASE("a GET without the upgrade headers on a WebSocket route is 426", "[app][websocket]") {
  vial::app app;
  app.websocket("/ws/echo", echo);
  vial::test_client client(app);
  auto r = client.get("/ws/echo");
  CHECK(r.status() == 426);
  CHECK(r.header("Upgrade").value_or("") == "websocket");
  CHECK(client.post("/ws/echo").status() == 405);
  CHECK(client.websocket("/ws/nowhere").status() == 404);
}

TEST_CASE("a wrong Sec-WebSocket-Version is 426 naming version 13, a bad key 400",
          "[app][websocket]") {
  vial::app app;
  app.websocket("/ws/echo", echo);
  vial::test_client client(app);
  auto v = client.websocket("/ws/echo", {.headers = {{"Sec-WebSocket-Version", "8"}}});
  CHECK(v.status() == 426);
  CHECK(v.response().header("Sec-WebSocket-Version").value_or("") == "13");
  CHECK_FALSE(v.accepted());
  auto k = client.websocket("/ws/echo", {.headers = {{"Sec-WebSocket-Key", "short"}}});
  CHECK(k.status() == 400);
}

TEST_CASE("a browser upgrade from a foreign Origin is 403, its own origin is accepted",
          "[app][websocket][origin]") {
  vial::app app;
  app.websocket("/ws/echo", echo);
  app.websocket("/ws/open", echo, {.allowed_origins = {"https://partner.example"}});
  vial::test_client client(app);
  auto host = vial::headers{{"Host", "chat.example:8080"}, {"Origin", "https://evil.example"}};
  CHECK(client.websocket("/ws/echo", {.headers = host}).status() == 403);
  host.set("Origin", "http://chat.example:8080");
  CHECK(client.websocket("/ws/echo", {.headers = host}).status() == 101);
  host.set("Origin", "null");
  CHECK(client.websocket("/ws/echo", {.headers = host}).status() == 403);
  host.set("Origin", "https://partner.example");
  CHECK(client.websocket("/ws/echo", {.headers = host}).status() == 403);
  CHECK(client.websocket("/ws/open", {.headers = host}).status() == 101);
  // Non-browser clients send no Origin: nothing to hijack.
  CHECK(client.websocket("/ws/echo").status() == 101);
}

TEST_CASE("before_request hooks can refuse the upgrade and see the session cookie",
          "[app][websocket][hooks]") {
  vial::app app;
  app.before_request([](vial::request& req) -> std::optional<vial::response> {
    if (req.cookies().get("token") != std::optional<std::string_view>("secret")) {
      return vial::response::text("log in first\n", 401);
    }
    return std::nullopt;
  });
  app.after_request([](vial::response& r) { r.set_header("X-Seen", "yes"); });
  app.websocket("/ws/echo", echo);
  vial::test_client client(app);
  auto refused = client.websocket("/ws/echo");
  CHECK(refused.status() == 401);
  CHECK(refused.response().text() == "log in first\n");
  client.set_cookie("token", "secret");
  auto ws = client.websocket("/ws/echo");
  REQUIRE(ws.status() == 101);
  CHECK(ws.response().header("X-Seen").value_or("") == "yes");
  ws.send("in");
  CHECK(ws.receive().data == "in");
}

TEST_CASE("a blueprint's WebSocket route is served under its prefix with its hooks",
          "[app][websocket][blueprint]") {
  vial::blueprint bp("live", "/live");
  bp.before_request([](vial::request&) -> std::optional<vial::response> {
    return vial::response::text("forbidden\n", 403);
  });
  bp.websocket("/feed", echo);
  vial::blueprint open("open", "/open");
  open.websocket("/feed", echo);
  vial::app app;
  app.register_blueprint(bp);
  app.register_blueprint(open);
  vial::test_client client(app);
  CHECK(client.websocket("/live/feed").status() == 403);
  CHECK(client.websocket("/open/feed").status() == 101);
}

TEST_CASE("the first subprotocol of the route's list that the client offers is chosen",
          "[app][websocket]") {
  vial::app app;
  app.websocket("/ws/proto",
                [](websocket& ws) -> task<void> { co_await ws.send(ws.subprotocol()); },
                {.subprotocols = {"chat.v2", "chat.v1"}});
  vial::test_client client(app);
  auto ws =
      client.websocket("/ws/proto", {.headers = {{"Sec-WebSocket-Protocol", "chat.v1, chat.v2"}}});
  CHECK(ws.subprotocol() == "chat.v2");
  CHECK(ws.receive().data == "chat.v2");
  auto none = client.websocket("/ws/proto", {.headers = {{"Sec-WebSocket-Protocol", "other"}}});
  CHECK(none.status() == 101);
  CHECK(none.subprotocol().empty());
}

TEST_CASE("a message over max_message_bytes closes with 1009", "[app][websocket][limits]") {
  vial::app app;
  app.websocket("/ws/echo", echo, {.max_message_bytes = 16});
  vial::test_client client(app);
  auto ws = client.websocket("/ws/echo");
  ws.send(std::string(16, 'a'));
  CHECK(ws.receive().data.size() == 16);
  ws.send(std::string(17, 'a'));
  auto m = ws.receive();
  CHECK(m.is_close());
  CHECK(m.code == 1009);
}

TEST_CASE("a handler that throws closes with 1011", "[app][websocket]") {
  vial::app app;
  app.set_logger(vial::logger([](vial::log_level, std::string_view) {}));
  app.websocket("/ws/boom", [](websocket&) -> task<void> {
    throw std::runtime_error("boom");
    co_return;
  });
  vial::test_client client(app);
  auto ws = client.websocket("/ws/boom");
  auto m = ws.receive();
  CHECK(m.is_close());
  CHECK(m.code == 1011);
}

TEST_CASE("a hub broadcasts to every member of a room and no one else", "[app][websocket][hub]") {
  vial::app app;
  vial::websocket_hub hub;
  app.websocket("/chat/<room>", [&hub](websocket& ws, std::string room) -> task<void> {
    auto member = hub.join(room, ws);
    co_await ws.send("joined");
    for (;;) {
      auto m = co_await ws.receive();
      if (m.is_close()) co_return;
      hub.broadcast(room, m.data);
    }
  });
  vial::test_client client(app);
  auto a = client.websocket("/chat/red");
  auto b = client.websocket("/chat/red");
  auto c = client.websocket("/chat/blue");
  CHECK(a.receive().data == "joined");
  CHECK(b.receive().data == "joined");
  CHECK(c.receive().data == "joined");
  CHECK(hub.size("red") == 2);
  a.send("hi red");
  CHECK(a.receive().data == "hi red");  // the sender included
  CHECK(b.receive().data == "hi red");
  CHECK_THROWS(c.receive(std::chrono::milliseconds(100)));
  CHECK(hub.broadcast("red", "from sync code") == 2);
  CHECK(a.receive().data == "from sync code");
  a.close();
  CHECK(a.receive().is_close());
}

TEST_CASE("a posted message to a reader past max_queued_bytes closes it with 1008",
          "[app][websocket][limits][hub]") {
  vial::app app;
  vial::websocket_hub hub;
  std::atomic<bool> joined{false};
  app.websocket("/feed",
                [&](websocket& ws) -> task<void> {
                  auto member = hub.join("all", ws);
                  joined = true;
                  for (;;) {
                    if ((co_await ws.receive()).is_close()) co_return;
                  }
                },
                {.max_queued_bytes = 1000});
  vial::test_client client(app);
  auto ws = client.websocket("/feed");
  while (!joined) std::this_thread::yield();
  for (int i = 0; i < 20; ++i) hub.broadcast("all", std::string(100, 'x'));
  // Read nothing until the socket was closed (its handler then leaves the room), so that what
  // was queued is all that the limit allowed.
  while (hub.size("all") > 0) std::this_thread::yield();
  int received = 0;
  for (;;) {
    auto m = ws.receive();
    if (m.is_close()) {
      CHECK(m.code == 1008);
      break;
    }
    ++received;
  }
  CHECK(received <= 10);
}
