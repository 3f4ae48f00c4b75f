#include "vial/app/stream.hpp"

#include "vial/async/bridge.hpp"

namespace vial {

std::optional<std::string> async_body_stream::next() { return async_to_sync(next_async()); }

}  // namespace vial
