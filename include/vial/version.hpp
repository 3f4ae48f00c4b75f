#pragma once

#define VIAL_VERSION_MAJOR 0
#define VIAL_VERSION_MINOR 1
#define VIAL_VERSION_PATCH 0

namespace vial {
/// "0.1.0"
inline constexpr const char* version = "0.1.0";
}  // namespace vial
