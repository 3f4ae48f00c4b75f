#pragma once

// What a fuzz target does when an invariant breaks: print what broke and abort, which libFuzzer
// reports as a crash (and saves the input) and which fails the ctest replay.

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace vial::fuzz {

[[noreturn]] inline void fail(std::string_view what, std::string_view detail = {}) {
  std::fprintf(stderr, "fuzz invariant broken: %.*s", static_cast<int>(what.size()), what.data());
  if (!detail.empty()) {
    std::fprintf(stderr, " [%.*s]", static_cast<int>(detail.size() > 400 ? 400 : detail.size()),
                 detail.data());
  }
  std::fputc('\n', stderr);
  std::abort();
}

inline void check(bool ok, std::string_view what, std::string_view detail = {}) {
  if (!ok) fail(what, detail);
}

}  // namespace vial::fuzz
