#include "vial/http/proxy.hpp"

#include <string>

#include "support/catch.hpp"
#include "vial/http/request.hpp"

namespace {

vial::request from_peer(vial::headers h) {
  vial::request r("GET", "/", std::move(h));
  r.set_remote_address("10.0.0.2:41000");
  return r;
}

vial::request proxied(vial::headers h, const vial::proxy_options& trust) {
  auto r = from_peer(std::move(h));
  vial::apply_proxy_headers(r, trust);
  return r;
}

}  // namespace

TEST_CASE("without trusted hops every forwarding header is ignored", "[http][proxy]") {
  auto r = proxied({{"Host", "internal:8080"},
                    {"X-Forwarded-For", "203.0.113.7"},
                    {"X-Forwarded-Proto", "https"},
                    {"X-Forwarded-Host", "example.com"},
                    {"X-Forwarded-Prefix", "/api"},
                    {"Forwarded", "for=198.51.100.1;proto=https;host=evil.test"}},
                   {});
  CHECK(r.remote_address() == "10.0.0.2:41000");
  CHECK(r.scheme() == "http");
  CHECK_FALSE(r.is_secure());
  CHECK(r.host() == "internal:8080");
  CHECK(r.script_root().empty());
  CHECK(r.url_root() == "http://internal:8080/");
}

TEST_CASE("X-Forwarded-For with one trusted hop gives the address the proxy appended",
          "[http][proxy]") {
  CHECK(proxied({{"X-Forwarded-For", "203.0.113.7"}}, {.x_for = 1}).remote_address() ==
        "203.0.113.7");
  CHECK(proxied({{"X-Forwarded-For", "2001:db8::7"}}, {.x_for = 1}).remote_address() ==
        "2001:db8::7");
}

TEST_CASE("a client cannot spoof its address through a chain longer than the trusted hops",
          "[http][proxy][spoofing]") {
  // The client sent "X-Forwarded-For: 1.1.1.1"; nginx appended the peer it saw.
  CHECK(proxied({{"X-Forwarded-For", "1.1.1.1, 203.0.113.7"}}, {.x_for = 1}).remote_address() ==
        "203.0.113.7");
  // The same with the client's value in a field of its own: fields are joined in order.
  CHECK(proxied({{"X-Forwarded-For", "1.1.1.1"}, {"X-Forwarded-For", "203.0.113.7"}}, {.x_for = 1})
            .remote_address() == "203.0.113.7");
  // Two trusted proxies (a load balancer, then nginx): the second value from the end.
  CHECK(proxied({{"X-Forwarded-For", "1.1.1.1, 203.0.113.7, 10.0.0.9"}}, {.x_for = 2})
            .remote_address() == "203.0.113.7");
}

TEST_CASE("a forwarding header with fewer values than trusted hops is ignored",
          "[http][proxy][spoofing]") {
  // Two proxies are trusted but only one value came: the request did not pass through both.
  auto r = proxied({{"X-Forwarded-For", "203.0.113.7"}, {"X-Forwarded-Proto", "https"}},
                   {.x_for = 2, .x_proto = 2});
  CHECK(r.remote_address() == "10.0.0.2:41000");
  CHECK(r.scheme() == "http");
}

TEST_CASE("malformed forwarded values are ignored, never trusted", "[http][proxy][malformed]") {
  const vial::proxy_options all{.x_for = 1, .x_proto = 1, .x_host = 1, .x_prefix = 1};
  for (std::string bad : {"", "unknown", "203.0.113", "203.0.113.7:80", "999.1.1.1", "evil.example",
                          "203.0.113.7\r\nX: y", "[2001:db8::1]"}) {
    CAPTURE(bad);
    CHECK(proxied({{"X-Forwarded-For", bad}}, all).remote_address() == "10.0.0.2:41000");
  }
  for (std::string scheme : {"", "ftp", "javascript", "h ttps", "https;"}) {
    CAPTURE(scheme);
    CHECK(proxied({{"X-Forwarded-Proto", scheme}}, all).scheme() == "http");
  }
  for (std::string host : {"", "a b", "evil.test/path", "evil.test:99999", "evil.test:", ":80",
                           "[::1", "user@evil.test", "evil%2etest"}) {
    CAPTURE(host);
    CHECK(proxied({{"Host", "internal"}, {"X-Forwarded-Host", host}}, all).host() == "internal");
  }
  for (std::string prefix :
       {"", "api", "//evil.test", "/a b", "/a?x", "/a#x", "/a\\b", "/\xc3\xa9"}) {
    CAPTURE(prefix);
    CHECK(proxied({{"X-Forwarded-Prefix", prefix}}, all).script_root().empty());
  }
}

TEST_CASE("X-Forwarded-Proto, -Host and -Prefix set the scheme, host and script root",
          "[http][proxy]") {
  auto r = proxied({{"Host", "127.0.0.1:8080"},
                    {"X-Forwarded-Proto", "HTTPS"},
                    {"X-Forwarded-Host", "example.com:8443"},
                    {"X-Forwarded-Prefix", "/api/"}},
                   {.x_proto = 1, .x_host = 1, .x_prefix = 1});
  CHECK(r.scheme() == "https");
  CHECK(r.is_secure());
  CHECK(r.host() == "example.com:8443");
  CHECK(r.script_root() == "/api");
  CHECK(r.url_root() == "https://example.com:8443/api/");
  CHECK(r.remote_address() == "10.0.0.2:41000");  // X-Forwarded-For not trusted
}

TEST_CASE("RFC 7239 Forwarded sets address, scheme and host from the trusted element",
          "[http][proxy][forwarded]") {
  SECTION("one element, quoted IPv6 with a port") {
    auto r = proxied({{"Forwarded", R"(for="[2001:db8::1]:4711";proto=https;host=example.com)"}},
                     {.forwarded = 1});
    CHECK(r.remote_address() == "[2001:db8::1]:4711");
    CHECK(r.scheme() == "https");
    CHECK(r.host() == "example.com");
  }
  SECTION("the client's own element is to the left and is not read") {
    auto r = proxied({{"Forwarded", "for=1.1.1.1;proto=http, for=203.0.113.7;proto=https"}},
                     {.forwarded = 1});
    CHECK(r.remote_address() == "203.0.113.7");
    CHECK(r.scheme() == "https");
  }
  SECTION("a comma inside a quoted string does not split elements") {
    auto r = proxied({{"Forwarded", R"(for=203.0.113.7;host="a.test";x="1,2")"}}, {.forwarded = 1});
    CHECK(r.remote_address() == "203.0.113.7");
    CHECK(r.host() == "a.test");
  }
  SECTION("Forwarded wins over X-Forwarded-For when both are trusted") {
    auto r = proxied({{"X-Forwarded-For", "198.51.100.2"}, {"Forwarded", "for=203.0.113.7"}},
                     {.x_for = 1, .forwarded = 1});
    CHECK(r.remote_address() == "203.0.113.7");
  }
}

TEST_CASE("a malformed Forwarded element is ignored whole", "[http][proxy][forwarded][malformed]") {
  for (std::string bad :
       {"for", "for=", "for=\"203.0.113.7", "for=a b", "for=203.0.113.7;for=1.1.1.1", "for=unknown",
        "for=_hidden", "for=203.0.113.7:99999", "for=\"[2001:db8::1\"", "proto=https;for"}) {
    CAPTURE(bad);
    auto r = proxied({{"Forwarded", bad}}, {.forwarded = 1});
    CHECK(r.remote_address() == "10.0.0.2:41000");
    CHECK(r.scheme() == "http");
  }
}

TEST_CASE("X-Forwarded-Port sets the port part of the host, leaving out the scheme's default",
          "[http][proxy][port]") {
  const vial::proxy_options trust{.x_proto = 1, .x_host = 1, .x_port = 1};
  CHECK(proxied({{"Host", "127.0.0.1:8080"}, {"X-Forwarded-Port", "8443"}}, trust).host() ==
        "127.0.0.1:8443");
  auto r = proxied({{"Host", "127.0.0.1:8080"},
                    {"X-Forwarded-Host", "example.com"},
                    {"X-Forwarded-Proto", "https"},
                    {"X-Forwarded-Port", "8443"}},
                   trust);
  CHECK(r.url_root() == "https://example.com:8443/");
  CHECK(proxied({{"Host", "internal:8080"},
                 {"X-Forwarded-Host", "example.com:9000"},
                 {"X-Forwarded-Proto", "https"},
                 {"X-Forwarded-Port", "443"}},
                trust)
            .host() == "example.com");
  CHECK(proxied({{"Host", "internal:8080"}, {"X-Forwarded-Port", "80"}}, trust).host() ==
        "internal");
  CHECK(proxied({{"Host", "[2001:db8::1]:8080"}, {"X-Forwarded-Port", "9090"}}, trust).host() ==
        "[2001:db8::1]:9090");
}

TEST_CASE(
    "a spoofed X-Forwarded-Port left of the trusted hops is never read, and without "
    "trust the header is ignored",
    "[http][proxy][port]") {
  // The client sent 1234; the one trusted proxy appended 8443.
  CHECK(proxied({{"Host", "internal:8080"}, {"X-Forwarded-Port", "1234, 8443"}}, {.x_port = 1})
            .host() == "internal:8443");
  CHECK(proxied({{"Host", "internal:8080"}, {"X-Forwarded-Port", "1234"}}, {.x_port = 2}).host() ==
        "internal:8080");
  CHECK(proxied({{"Host", "internal:8080"}, {"X-Forwarded-Port", "8443"}}, {.x_host = 1}).host() ==
        "internal:8080");
}

TEST_CASE("a malformed X-Forwarded-Port is ignored", "[http][proxy][port][malformed]") {
  for (std::string bad :
       {"", "0", "00", "65536", "99999", "-1", "+80", "80a", " 8 0", "8443:1", "0x50", "123456"}) {
    CAPTURE(bad);
    CHECK(proxied({{"Host", "internal:8080"}, {"X-Forwarded-Port", bad}}, {.x_port = 1}).host() ==
          "internal:8080");
  }
}
