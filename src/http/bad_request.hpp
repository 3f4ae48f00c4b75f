#pragma once

#include <string>
#include <utility>

#include "vial/http/error.hpp"

namespace vial::detail {

/// Rejects malformed request data: a 400 whose description tells the client what was wrong.
[[noreturn]] inline void bad_request(std::string message) {
  throw http_error(400, std::move(message));
}

}  // namespace vial::detail
