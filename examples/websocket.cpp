// WebSockets: /ws/echo echoes every message; /ws/chat/<room> relays every text message to
// every member of the room (the sender included) through a hub; GET /chat/<room> counts them.

#include <memory>
#include <string>

#include "demos.hpp"
#include <vial/app/app.hpp>
#include <vial/app/websocket.hpp>
#include <vial/http/json.hpp>

namespace examples {

void register_websocket(vial::app& app) {
  app.websocket("/ws/echo",
                [](vial::websocket& ws) -> vial::task<void> {
                  for (;;) {
                    auto m = co_await ws.receive();
                    if (m.is_close()) co_return;
                    co_await ws.send(std::move(m));  // text or binary, as it came
                  }
                },
                {.max_message_bytes = 4 * 1024 * 1024, .max_queued_bytes = 8 * 1024 * 1024});

  auto hub = std::make_shared<vial::websocket_hub>();
  app.websocket("/ws/chat/<room>",
                [hub](vial::websocket& ws, std::string room) -> vial::task<void> {
                  auto member = hub->join(room, ws);
                  for (;;) {
                    auto m = co_await ws.receive();
                    if (m.is_close()) co_return;
                    if (m.is_text()) hub->broadcast(room, m.data);
                  }
                });
  app.get("/chat/<room>", [hub](std::string room) {
    return nlohmann::json{{"room", room}, {"members", hub->size(room)}};
  });
}

}  // namespace examples
