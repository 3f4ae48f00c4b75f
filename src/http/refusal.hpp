#pragma once

#include <cstddef>
#include <string>

#include "vial/http/error.hpp"

namespace vial::detail {

/// The refusal of a body longer than `limit`: the same words from the server and the test
/// client.
inline http_error body_too_large(std::size_t limit) {
  return http_error(413,
                    "request body is larger than the limit of " + std::to_string(limit) + " bytes");
}

}  // namespace vial::detail
