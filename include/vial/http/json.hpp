#pragma once

// The full nlohmann::json, for translation units that build or read JSON. Other vial headers
// only need json_fwd.hpp.
#include <nlohmann/json.hpp>

#include "vial/http/json_view.hpp"
#include "vial/http/request.hpp"
#include "vial/http/response.hpp"

namespace vial {
using json = nlohmann::json;
}  // namespace vial
