#pragma once

#include <string_view>

#include "vial/http/multi_dict.hpp"

namespace vial::detail {

// Parses application/x-www-form-urlencoded text. `noun` names the keys in errors and becomes the
// result's noun ("query argument", "form field").
multi_dict parse_urlencoded(std::string_view text, std::string_view noun);

}  // namespace vial::detail
