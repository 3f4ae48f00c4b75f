#include "vial/app/health.hpp"

#include "vial/app/app.hpp"

namespace vial {

namespace {

response probe_answer(std::string body, int status) {
  auto r = response::text(std::move(body), status);
  r.set_header("Cache-Control", "no-store");
  return r;
}

}  // namespace

void add_health_routes(app& a, health_options options) {
  a.get(runtime_rule(options.live_path), [] { return probe_answer("ok\n", 200); },
        {.endpoint = "health.live"});
  const app* owner = &a;
  a.get(runtime_rule(options.ready_path),
        [owner, ready = std::move(options.ready)] {
          if (owner->is_draining()) return probe_answer("draining\n", 503);
          if (ready && !ready()) return probe_answer("not ready\n", 503);
          return probe_answer("ready\n", 200);
        },
        {.endpoint = "health.ready"});
}

}  // namespace vial
