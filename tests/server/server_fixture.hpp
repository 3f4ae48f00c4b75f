// The server tests' fixture: an app with the test routes, served on an ephemeral loopback port.
#pragma once

#include <chrono>
#include <functional>
#include <utility>

#include "server/test_app.hpp"
#include "support/raw_client.hpp"
#include "vial/app/app.hpp"
#include "vial/server/server.hpp"

namespace vial::test {

/// The test routes (test_app.hpp), plus any `more_routes` adds, served by a started server.
struct server_fixture {
  explicit server_fixture(vial::server_options o = {},
                          const std::function<void(vial::app&)>& more_routes = {})
      : srv(make_app(app, state, more_routes), with_port0(std::move(o))) {
    srv.start();
  }
  static vial::app& make_app(vial::app& a, vial::test::test_state& s,
                             const std::function<void(vial::app&)>& more_routes) {
    vial::test::add_test_routes(a, s);
    if (more_routes) more_routes(a);
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
