// What the in-process micro-benchmarks (bridge_bench, dispatch_bench) share: their command line,
// a best-of timer and the request they dispatch.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "vial/http/request.hpp"

namespace vial::bench {

struct options {
  bool json = false;    ///< --json: one JSON object on the last line
  std::string only;     ///< --only MEASURE: run that one alone, print nothing
  long iterations = 0;  ///< --iterations N: how often --only runs it
};

/// `--only` with `--iterations` is for instruction counting under callgrind, which does not
/// depend on the machine's load: difference two runs.
inline options parse_options(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--json") == 0) o.json = true;
    if (std::strcmp(argv[i], "--only") == 0 && i + 1 < argc) o.only = argv[++i];
    if (std::strcmp(argv[i], "--iterations") == 0 && i + 1 < argc)
      o.iterations = std::atol(argv[++i]);
  }
  return o;
}

/// The best time per call of `rounds` runs of `iterations` calls, after a warm-up of a tenth.
template <class F>
double ns_per_call(F&& f, int iterations, int rounds) {
  using clock_type = std::chrono::steady_clock;
  for (int i = 0; i < iterations / 10; ++i) f();
  double best = 1e300;
  for (int round = 0; round < rounds; ++round) {
    auto start = clock_type::now();
    for (int i = 0; i < iterations; ++i) f();
    auto ns = std::chrono::duration<double, std::nano>(clock_type::now() - start).count();
    best = std::min(best, ns / iterations);
  }
  return best;
}

/// GET `path` with a Host header.
inline vial::request get_request(std::string_view path) {
  return vial::request("GET", path, {{"Host", "localhost"}});
}

}  // namespace vial::bench
