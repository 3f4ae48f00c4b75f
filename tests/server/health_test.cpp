#include "vial/app/health.hpp"

#include <atomic>
#include <thread>

#include "server/test_app.hpp"
#include "support/catch.hpp"
#include "support/eventually.hpp"
#include "support/raw_client.hpp"
#include "vial/app.hpp"
#include "vial/server/server.hpp"
#include "vial/testing/test_client.hpp"

using namespace std::chrono_literals;
using vial::test::raw_client;

TEST_CASE("liveness and readiness answer 200, readiness 503 while its check fails",
          "[server][health]") {
  std::atomic<bool> db_up{false};
  vial::app app;
  vial::add_health_routes(app, {.ready = [&] { return db_up.load(); }});
  vial::test_client client(app);
  CHECK(client.get("/livez").status() == 200);
  CHECK(client.get("/livez").header("Cache-Control") == "no-store");
  auto not_ready = client.get("/readyz");
  CHECK(not_ready.status() == 503);
  CHECK(not_ready.text() == "not ready\n");
  db_up = true;
  CHECK(client.get("/readyz").text() == "ready\n");
  CHECK(client.head("/readyz").status() == 200);
}

TEST_CASE("readiness turns 503 as soon as a graceful stop begins, while requests still finish",
          "[server][health][shutdown]") {
  vial::test::handler_gate gate;
  vial::app app;
  vial::add_health_routes(app);
  app.get("/slow", [&] {
    gate.arrive_and_wait();
    return "done";
  });
  vial::server srv(app, {.port = 0, .shutdown_timeout = 10s});
  srv.start();

  raw_client probe(srv.port());
  probe.send("GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n");
  auto before = probe.read_response();
  CHECK(before.status == 200);
  CHECK(before.body == "ready\n");

  raw_client busy(srv.port());
  busy.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
  REQUIRE(gate.wait_entered(1));
  std::thread stopper([&] { srv.stop(); });
  REQUIRE(vial::test::eventually([&] { return app.is_draining(); }));

  // The probe's keep-alive connection answered less than a second ago, so the stopping server
  // still answers it (docs/server.md, "Graceful shutdown"): with 503, and Connection: close.
  probe.send("GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n");
  auto during = probe.read_response();
  CHECK(during.status == 503);
  CHECK(during.body == "draining\n");
  CHECK(during.header("Connection") == "close");

  gate.release();
  auto slow = busy.read_response();
  CHECK(slow.status == 200);  // the request in flight was not cut
  CHECK(slow.body == "done");
  stopper.join();
  CHECK(app.is_draining());
}
