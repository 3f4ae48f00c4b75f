// The server tests' fixture: an app with the test routes, served on an ephemeral loopback port.
#pragma once

#include <chrono>
#include <utility>

#include "server/test_app.hpp"
#include "support/raw_client.hpp"
#include "vial/app/app.hpp"
#include "vial/server/server.hpp"

namespace vial::test {

struct server_fixture {
  explicit server_fixture(vial::server_options o = {})
      : srv(make_app(app, state), with_port0(std::move(o))) {
    srv.start();
  }
  static vial::app& make_app(vial::app& a, vial::test::test_state& s) {
    vial::test::add_test_routes(a, s);
    return a;
  }
  static vial::server_options with_port0(vial::server_options o) {
    o.port = 0;
    return o;
  }
  raw_client connect(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
    return raw_client(srv.port(), timeout);
  }
  // A fresh connection still gets an answer: the server survived what came before.
  bool still_serves() {
    auto c = connect();
    c.send(get_request("/hello"));
    auto r = c.read_response();
    return r.status == 200 && r.body == "hello";
  }

  vial::app app;
  vial::test::test_state state;
  vial::server srv;
};

}  // namespace vial::test
