#pragma once

#include <string>
#include <utility>

#include "vial/http/path_params.hpp"
#include "vial/http/request.hpp"

namespace vial::detail {

/// What only the framework sets on a request: routing's results (the app) and the protocol
/// version (the server). Not for handlers, which read them through `request`'s getters.
struct request_access {
  static void set_params(request& r, path_params params) { r.params_ = std::move(params); }
  static void set_endpoint(request& r, std::string endpoint) { r.endpoint_ = std::move(endpoint); }
  static void set_version(request& r, int version) noexcept { r.version_ = version; }
};

}  // namespace vial::detail
