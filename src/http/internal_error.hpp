#pragma once

#include "vial/http/response.hpp"

namespace vial::detail {

/// The answer to a failure that no handler turned into a response (an error handler that
/// threw, a bridge that refused to run, an exception that escaped dispatch): the same plain
/// 500 wherever it is built.
response internal_error_response();

}  // namespace vial::detail
