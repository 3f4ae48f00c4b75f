// What app.dispatch adds to a handler: in-process dispatch of GET /hello (sync handler, no
// hooks: the server's hot path), of a route whose blueprint has a sync before, after and
// teardown hook, and of a 404, each against a fixed reference measured in the same run, the
// handler alone called through the same std::function a route stores. The router's match of
// the same path is printed beside them, since dispatch includes one, and so is the dispatch of
// a request matched beforehand (`app.match`, as the server's reader does): the pipeline alone.
// Two rows price optional work on the same /hello: a request id generated for every request
// (the reused request otherwise keeps the id its first dispatch gave it), and an app with
// metrics mounted (every request counted by rule, method and status, and timed).
// Prints a table; with --json, one JSON object on the last line.
// `--only bare|hello|matched|hooked|missing|new_id|metrics --iterations N` runs one measure
// N times and prints nothing, for instruction counting under callgrind (machine-load
// independent): difference two runs.
#include <cstdio>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <utility>

#include "harness.hpp"
#include "vial/app.hpp"
#include "vial/routing/router.hpp"

namespace {

long sink = 0;

// Best of 7 runs.
template <class F>
double ns_per_call(F&& f, int iterations) {
  return vial::bench::ns_per_call(std::forward<F>(f), iterations, 7);
}

}  // namespace

int main(int argc, char** argv) {
  using vial::bench::get_request;
  const auto [json, only, iterations] = vial::bench::parse_options(argc, argv);

  vial::app app;
  app.get("/hello", [] { return "Hello, World!"; });
  vial::blueprint bp("hooked", "/bp");
  bp.before_request([](vial::request&) { return std::optional<vial::response>(); });
  bp.after_request([](vial::response& r) { r.set_header("X-Hooked", "1"); });
  bp.teardown_request([](std::exception_ptr) {});
  bp.get("/hello", [] { return "Hello, World!"; });
  app.register_blueprint(bp);
  vial::app metered;
  metered.get("/hello", [] { return "Hello, World!"; });
  vial::add_metrics_route(metered);

  // The reference: the handler behind the same type erasure a route uses, with its conversion.
  std::function<vial::response(vial::request&)> bare = [](vial::request&) {
    return vial::make_response("Hello, World!");
  };
  vial::router router;
  router.add("/hello", {"GET"}, "hello");

  vial::request hello = get_request("/hello");
  vial::request hooked = get_request("/bp/hello");
  vial::request missing = get_request("/nowhere");
  vial::request counted = get_request("/hello");
  sink += app.dispatch(hello).body().size();  // freezes the app
  sink += metered.dispatch(counted).body().size();
  // A new request gets a new id; these reused ones keep theirs unless it is cleared.
  auto new_id = [&] {
    hello.set_id({});
    sink += app.dispatch(hello).body().size();
  };
  const vial::matched_route hello_route = app.match(hello);

  if (!only.empty()) {
    for (long i = 0; i < iterations; ++i) {
      if (only == "bare") sink += bare(hello).body().size();
      if (only == "hello") sink += app.dispatch(hello).body().size();
      if (only == "matched") sink += app.dispatch(hello, hello_route).body().size();
      if (only == "hooked") sink += app.dispatch(hooked).body().size();
      if (only == "missing") sink += app.dispatch(missing).status();
      if (only == "new_id") new_id();
      if (only == "metrics") sink += metered.dispatch(counted).body().size();
    }
    return sink == 0 ? 1 : 0;
  }

  constexpr int n = 200'000;
  const double bare_ns = ns_per_call([&] { sink += bare(hello).body().size(); }, n);
  const double match_ns = ns_per_call([&] { sink += router.match("GET", "/hello").route; }, n);
  const double hello_ns = ns_per_call([&] { sink += app.dispatch(hello).body().size(); }, n);
  const double hooked_ns = ns_per_call([&] { sink += app.dispatch(hooked).body().size(); }, n);
  const double missing_ns = ns_per_call([&] { sink += app.dispatch(missing).status(); }, n);
  const double matched_ns =
      ns_per_call([&] { sink += app.dispatch(hello, hello_route).body().size(); }, n);
  const double new_id_ns = ns_per_call(new_id, n);
  const double metrics_ns =
      ns_per_call([&] { sink += metered.dispatch(counted).body().size(); }, n);

  std::printf("%-48s %10s %8s\n", "measure", "ns/call", "x bare");
  auto row = [&](const char* name, double ns) {
    std::printf("%-48s %10.1f %8.2f\n", name, ns, ns / bare_ns);
  };
  row("reference: bare handler call (std::function)", bare_ns);
  row("router.match GET /hello", match_ns);
  row("dispatch GET /hello (no hooks)", hello_ns);
  row("dispatch GET /bp/hello (sync before/after/teardown)", hooked_ns);
  row("dispatch GET /nowhere (404)", missing_ns);
  row("dispatch GET /hello, matched beforehand", matched_ns);
  row("dispatch GET /hello, a new request id each", new_id_ns);
  row("dispatch GET /hello, metrics on", metrics_ns);
  std::printf("request id generation: %.1f ns; metrics: %.1f ns (%.3fx /hello)\n",
              new_id_ns - hello_ns, metrics_ns - hello_ns, metrics_ns / hello_ns);
  std::printf("(checksum %ld)\n", sink);
  if (json) {
    std::printf(
        "{\"bare_ns\": %.1f, \"match_ns\": %.1f, \"hello_ns\": %.1f, \"hooked_ns\": %.1f, "
        "\"missing_ns\": %.1f, \"matched_ns\": %.1f, \"hello_over_bare\": %.3f, "
        "\"hooked_over_bare\": %.3f, \"matched_over_bare\": %.3f, \"new_id_ns\": %.1f, "
        "\"metrics_ns\": %.1f, \"metrics_over_hello\": %.3f}\n",
        bare_ns, match_ns, hello_ns, hooked_ns, missing_ns, matched_ns, hello_ns / bare_ns,
        hooked_ns / bare_ns, matched_ns / bare_ns, new_id_ns, metrics_ns, metrics_ns / hello_ns);
  }
}
