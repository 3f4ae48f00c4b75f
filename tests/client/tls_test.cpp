#include <string>

#include "support/catch.hpp"
#include "upstream.hpp"
#include "vial/async/bridge.hpp"
#include "vial/client/http_client.hpp"

using vial::client_errc;
using vial::client_error;
using vial::http_client;
using vial::test::test_certificates;
using vial::test::upstream;

namespace {

const test_certificates& certs() {
  static const test_certificates c;
  return c;
}

}  // namespace

TEST_CASE("https verifies the upstream against the given CA", "[client][tls]") {
  upstream up(certs().leaf_cert, certs().leaf_key);
  http_client client({.ca_file = certs().ca});
  auto r = vial::async_to_sync(client.get(up.url("/hello")));
  CHECK(r.status() == 200);
  CHECK(r.text() == "hello");
  SECTION("by IP address and by host name, reusing the connection") {
    CHECK(vial::async_to_sync(client.get(up.url("/json"))).json()["n"] == 3);
    CHECK(client.connections_opened() == 1);
    auto by_name = "https://localhost:" + std::to_string(up.port()) + "/hello";
    CHECK(client.get_sync(by_name).text() == "hello");
  }
}

TEST_CASE("https fails with tls when the certificate is signed by another CA", "[client][tls]") {
  upstream up(certs().leaf_cert, certs().leaf_key);
  http_client client({.ca_file = certs().wrong_ca});
  try {
    vial::async_to_sync(client.get(up.url("/hello")));
    FAIL("expected client_error");
  } catch (const client_error& e) {
    CHECK(e.kind() == client_errc::tls);
    CHECK(std::string(e.what()).starts_with("TLS handshake with " + up.url("/hello") +
                                            " failed: certificate verify failed"));
  }
}

TEST_CASE("https fails with tls when the certificate names another host", "[client][tls]") {
  upstream up(certs().other_host_cert, certs().other_host_key);
  http_client client({.ca_file = certs().ca});
  CHECK_THROWS_WITH(vial::async_to_sync(client.get(up.url("/hello"))),
                    "TLS handshake with " + up.url("/hello") +
                        " failed: the certificate does not match host '127.0.0.1'");
}

TEST_CASE("https verification is on by default with the system store", "[client][tls]") {
  upstream up(certs().leaf_cert, certs().leaf_key);
  http_client client;
  try {
    client.get_sync(up.url("/hello"));
    FAIL("expected client_error");
  } catch (const client_error& e) {
    CHECK(e.kind() == client_errc::tls);
  }
  http_client trusting({.verify_tls = false});
  CHECK(trusting.get_sync(up.url("/hello")).text() == "hello");
}

TEST_CASE("a missing CA file is reported when the client is made", "[client][tls]") {
  CHECK_THROWS_WITH(http_client({.ca_file = "/nonexistent/ca.pem"}),
                    Catch::Matchers::StartsWith("cannot load CA file '/nonexistent/ca.pem'"));
}
