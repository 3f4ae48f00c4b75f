// The cost of the coroutine bridge: async_to_sync of a trivial task, against a fresh io_context
// per call (the design it replaces), and in-process dispatch of a coroutine hello route against
// a sync one. Prints a table; with --json, one JSON object on the last line.
// `--only bridge|fresh|sync|async --iterations N` runs one measure N times and prints nothing,
// for instruction counting under callgrind (machine-load independent): difference two runs.
#include <algorithm>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "harness.hpp"
#include "vial/app.hpp"
#include "vial/async/bridge.hpp"

namespace {

vial::task<int> trivial() { co_return 1; }

// Best of 5 runs.
template <class F>
double ns_per_call(F&& f, int iterations) {
  return vial::bench::ns_per_call(std::forward<F>(f), iterations, 5);
}

// The two routes differ only in being a coroutine: same body, same return type, paths of the
// same shape and length (the router hashes path segments).
void hello_routes(vial::app& app) {
  app.get("/sync/hello", [] { return "Hello, World!"; });
  app.get("/coro/hello", []() -> vial::task<const char*> { co_return "Hello, World!"; });
}

}  // namespace

int main(int argc, char** argv) {
  using vial::bench::get_request;
  const auto [json, only, iterations] = vial::bench::parse_options(argc, argv);
  long sink = 0;
  if (!only.empty()) {
    vial::app app;
    hello_routes(app);
    vial::request sync_req = get_request("/sync/hello");
    vial::request async_req = get_request("/coro/hello");
    sink += app.dispatch(sync_req).body().size() + app.dispatch(async_req).body().size();
    for (long i = 0; i < iterations; ++i) {
      if (only == "bridge") sink += vial::async_to_sync(trivial());
      if (only == "sync") sink += app.dispatch(sync_req).body().size();
      if (only == "async") sink += app.dispatch(async_req).body().size();
    }
    return sink == 0 ? 1 : 0;
  }

  const double bridge = ns_per_call([&] { sink += vial::async_to_sync(trivial()); }, 200'000);
  const double fresh_context = ns_per_call(
      [&] {
        boost::asio::io_context ctx(1);
        boost::asio::co_spawn(ctx, trivial(), [&](std::exception_ptr, int v) { sink += v; });
        ctx.run();
      },
      200'000);

  // The two routes are timed back to back in each of many short rounds, taking turns to go
  // first. The ratio is the median of the rounds' ratios: on a shared machine whose speed
  // changes from second to second, a pair measured within milliseconds of each other sees the
  // same machine, which two independent best times do not. Each route also keeps its best time.
  vial::app app;
  hello_routes(app);
  vial::request sync_req = get_request("/sync/hello");
  vial::request async_req = get_request("/coro/hello");
  auto time_sync = [&] {
    return ns_per_call([&] { sink += app.dispatch(sync_req).body().size(); }, 10'000);
  };
  auto time_async = [&] {
    return ns_per_call([&] { sink += app.dispatch(async_req).body().size(); }, 10'000);
  };
  double sync_dispatch = 1e300;
  double async_dispatch = 1e300;
  std::vector<double> ratios;
  for (int round = 0; round < 41; ++round) {
    double sync_ns = 0;
    double async_ns = 0;
    if (round % 2 == 0) {
      sync_ns = time_sync();
      async_ns = time_async();
    } else {
      async_ns = time_async();
      sync_ns = time_sync();
    }
    sync_dispatch = std::min(sync_dispatch, sync_ns);
    async_dispatch = std::min(async_dispatch, async_ns);
    ratios.push_back(async_ns / sync_ns);
  }
  std::nth_element(ratios.begin(), ratios.begin() + ratios.size() / 2, ratios.end());
  const double ratio = ratios[ratios.size() / 2];

  std::printf("%-44s %10s\n", "measure", "ns/call");
  std::printf("%-44s %10.1f\n", "async_to_sync(trivial task), reused context", bridge);
  std::printf("%-44s %10.1f\n", "reference: fresh io_context + co_spawn + run", fresh_context);
  std::printf("%-44s %10.1f\n", "dispatch GET /sync/hello (sync handler)", sync_dispatch);
  std::printf("%-44s %10.1f\n", "dispatch GET /coro/hello (coroutine)", async_dispatch);
  std::printf(
      "bridge / fresh context: %.2fx   coroutine / sync dispatch: %.3fx "
      "(median of %zu paired rounds; best times: %.3fx)\n",
      bridge / fresh_context, ratio, ratios.size(), async_dispatch / sync_dispatch);
  std::printf("targets: bridge <= 1000 ns, coroutine/sync <= 1.10x   (checksum %ld)\n", sink);
  if (json) {
    std::printf(
        "{\"bridge_ns\": %.1f, \"fresh_context_ns\": %.1f, \"sync_dispatch_ns\": %.1f, "
        "\"async_dispatch_ns\": %.1f, \"async_over_sync\": %.3f, \"best_async_over_best_sync\": "
        "%.3f}\n",
        bridge, fresh_context, sync_dispatch, async_dispatch, ratio,
        async_dispatch / sync_dispatch);
  }
}
