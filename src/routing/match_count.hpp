#pragma once

#include <cstdint>

namespace vial::detail {

/// How many times `router::match` ran in this process, counted in debug builds only (release
/// builds return 0 and pay nothing): tests check with it that a request is routed once.
std::uint64_t router_match_count() noexcept;

}  // namespace vial::detail
