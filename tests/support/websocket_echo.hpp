#pragma once

// The WebSocket handler most tests need: one that sends every message back as it came.

#include <utility>

#include "vial/app/websocket.hpp"

namespace vial::test {

/// Echoes each text or binary message until the client closes.
inline vial::task<void> echo(vial::websocket& ws) {
  for (;;) {
    auto m = co_await ws.receive();
    if (m.is_close()) co_return;
    co_await ws.send(std::move(m));
  }
}

}  // namespace vial::test
