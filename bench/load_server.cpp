// The vial side of bench/load.sh: /hello (sync) and /hello-async (coroutine) on an ephemeral
// loopback port, printed on stdout. Serves until SIGTERM/SIGINT.
// Usage: vial-bench-load-server [--io N] [--workers N] [--memory-trim BYTES]
//                               [--mmap-threshold BYTES] [--metrics 1]
// --metrics 1 mounts /metrics (every request then counted): bench/metrics_cost.sh.
// POST /json parses a JSON body and answers how many values its top level holds: the target of
// bench/hostile_memory.py --target load-server (memory after bursts of large bodies, with and
// without the server's memory trim and its fixed mmap threshold; 0 turns either off).

#include <cstdlib>
#include <iostream>
#include <string_view>

#include "vial/app.hpp"
#include "vial/http/json.hpp"
#include "vial/server.hpp"

int main(int argc, char** argv) {
  vial::server_options options{.port = 0};
  bool metrics = false;
  options.keep_alive_timeout = std::chrono::seconds(60);
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string_view flag = argv[i];
    auto value = std::strtoul(argv[i + 1], nullptr, 10);
    if (flag == "--io") options.io_threads = value;
    if (flag == "--workers") options.worker_threads = value;
    if (flag == "--memory-trim") options.memory_trim_threshold = value;
    if (flag == "--mmap-threshold") options.malloc_mmap_threshold = value;
    if (flag == "--metrics") metrics = value != 0;
  }
  vial::app app;
  app.get("/hello", [](const vial::request&) { return std::string("Hello, World!"); });
  app.get("/hello-async",
          [](const vial::request&) -> vial::task<std::string> { co_return "Hello, World!"; });
  app.post("/json", [](vial::request& req) {
    return nlohmann::json{{"values", req.json().size()}};
  });
  if (metrics) vial::add_metrics_route(app);
  vial::server srv(app, options);
  srv.run_until_signal([](const vial::server& s) { std::cout << s.port() << std::endl; });
  return 0;
}
