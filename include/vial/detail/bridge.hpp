#pragma once

// The machinery behind async_to_sync (vial/async/bridge.hpp), not API. Two ways to run a task
// on this thread's private context, picked at compile time: the fast path reaches Asio's
// internals and is used only on the Boost releases it was verified against; the portable path
// uses public Asio API only. vial/detail/bridge_state.hpp has the choice.

#include "vial/detail/bridge_state.hpp"

#if VIAL_BRIDGE_FAST_PATH
#include "vial/detail/bridge_asio.hpp"
#else
#include "vial/detail/bridge_portable.hpp"
#endif
