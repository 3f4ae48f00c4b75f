// Nanoseconds per router::match for 10, 100 and 1000 rules, static and with an int converter,
// matching the last-registered rule and a middle one. The 1000/10 ratio shows whether the cost
// follows the number of rules (a linear scan gives ~100) or the path's depth (~1).
//
// Usage: vial-bench-router [--json]   (--json adds one JSON object as the last line)

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "vial/routing/router.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

constexpr int rule_counts[] = {10, 100, 1000};

struct scenario {
  const char* name;
  bool dynamic;
  bool middle;  // match the middle rule rather than the last registered one
};

constexpr scenario scenarios[] = {
    {"static_last", false, false},
    {"static_middle", false, true},
    {"dynamic_last", true, false},
    {"dynamic_middle", true, true},
};

vial::router make_router(int rules, bool dynamic) {
  vial::router r;
  const std::vector<std::string> get{"GET"};
  for (int i = 0; i < rules; ++i) {
    // Appending, not `literal + to_string`, dodges GCC 12's false -Wrestrict (PR 105329).
    std::string pattern = "/api/v1/resource";
    pattern += std::to_string(i);
    if (dynamic) pattern += "/<int:id>";
    std::string endpoint = "r";
    endpoint += std::to_string(i);
    r.add(pattern, get, std::move(endpoint));
  }
  return r;
}

std::size_t sink = 0;

// Best of several timed runs, each long enough (~40 ms) for the clock to be noise.
double ns_per_match(const vial::router& r, const std::string& path) {
  std::size_t iterations = 1000;
  while (true) {
    auto start = clock_type::now();
    for (std::size_t i = 0; i < iterations; ++i) sink += r.match("GET", path).route;
    auto elapsed = clock_type::now() - start;
    if (elapsed >= std::chrono::milliseconds(40)) break;
    iterations *= 2;
  }
  double best = 1e300;
  for (int run = 0; run < 5; ++run) {
    auto start = clock_type::now();
    for (std::size_t i = 0; i < iterations; ++i) sink += r.match("GET", path).route;
    std::chrono::duration<double, std::nano> elapsed = clock_type::now() - start;
    best = std::min(best, elapsed.count() / static_cast<double>(iterations));
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  bool json = argc > 1 && std::strcmp(argv[1], "--json") == 0;
  constexpr std::size_t n_counts = std::size(rule_counts);
  constexpr std::size_t n_scenarios = std::size(scenarios);
  double ns[n_scenarios][n_counts];

  for (std::size_t c = 0; c < n_counts; ++c) {
    int rules = rule_counts[c];
    vial::router static_router = make_router(rules, false);
    vial::router dynamic_router = make_router(rules, true);
    for (std::size_t s = 0; s < n_scenarios; ++s) {
      const scenario& sc = scenarios[s];
      int target = sc.middle ? rules / 2 : rules - 1;
      std::string path = "/api/v1/resource";
      path += std::to_string(target);
      if (sc.dynamic) path += "/12345";
      const vial::router& r = sc.dynamic ? dynamic_router : static_router;
      auto check = r.match("GET", path);
      if (check.result != vial::route_match::outcome::found ||
          check.route != static_cast<std::size_t>(target)) {
        std::fprintf(stderr, "bench setup error: %s did not match rule %d\n", path.c_str(), target);
        return 1;
      }
      ns[s][c] = ns_per_match(r, path);
    }
  }

  std::printf("router::match, ns per call (best of 5)\n\n");
  std::printf("%-16s %10s %10s %10s %14s\n", "scenario", "10 rules", "100 rules", "1000 rules",
              "1000/10 ratio");
  for (std::size_t s = 0; s < n_scenarios; ++s) {
    std::printf("%-16s %10.1f %10.1f %10.1f %14.2f\n", scenarios[s].name, ns[s][0], ns[s][1],
                ns[s][2], ns[s][2] / ns[s][0]);
  }
  std::printf("\nA ratio near 1 means the cost does not grow with the number of rules.\n");

  if (json) {
    std::string out =
        "{\"bench\":\"router_match\",\"unit\":\"ns_per_match\",\"rules\":[10,100,1000]";
    for (std::size_t s = 0; s < n_scenarios; ++s) {
      char buf[256];
      std::snprintf(buf, sizeof buf, ",\"%s\":[%.1f,%.1f,%.1f],\"%s_ratio_1000_over_10\":%.2f",
                    scenarios[s].name, ns[s][0], ns[s][1], ns[s][2], scenarios[s].name,
                    ns[s][2] / ns[s][0]);
      out += buf;
    }
    out += "}";
    std::printf("%s\n", out.c_str());
  }
  return sink == 42 ? 2 : 0;  // keeps `sink` observable so the loops are not optimised away
}
