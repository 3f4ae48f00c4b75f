#include "vial/app/session.hpp"

#include <array>
#include <chrono>
#include <string>
#include <vector>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "support/catch.hpp"
#include "vial/testing/test_client.hpp"

using vial::test_client;

namespace {

std::string cookie_value(const vial::test_response& r) {
  auto h = std::string(r.header("Set-Cookie").value_or(""));
  auto start = h.find('=') + 1;
  return h.substr(start, h.find(';') - start);
}

void add_counter_routes(vial::app& app) {
  app.get("/count", [](vial::request& req) {
    auto& s = vial::session_of(req);
    const int n = s.get("n", 0).get<int>() + 1;
    s.set("n", n);
    return std::to_string(n);
  });
  app.get("/read", [](vial::request& req) { return vial::session_of(req).get("n", 0).dump(); });
  app.get("/logout", [](vial::request& req) {
    vial::session_of(req).clear();
    return "bye";
  });
}

// Signs `value` as vial does (HMAC-SHA256 under a key derived from the secret, base64url without
// padding), so a test can make cookies encode_session_cookie never would.
std::string sign_session_value(const std::string& value, std::string_view secret) {
  auto hmac = [](std::string_view key, std::string_view data) {
    std::array<unsigned char, 32> out{};
    unsigned int len = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &len);
    return out;
  };
  const auto derived = hmac(secret, "vial.session.cookie-signing");
  const auto mac =
      hmac(std::string_view(reinterpret_cast<const char*>(derived.data()), derived.size()), value);
  static constexpr std::string_view alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string sig;
  unsigned acc = 0;
  int bits = 0;
  for (unsigned char b : mac) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      sig.push_back(alphabet[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) sig.push_back(alphabet[(acc << (6 - bits)) & 63]);
  return value + "." + sig;
}

}  // namespace

TEST_CASE("a session survives between requests in a signed cookie", "[app][session]") {
  vial::app app({.secret_key = "s3cret"});
  vial::enable_sessions(app);
  add_counter_routes(app);
  test_client client(app);
  auto first = client.get("/count");
  CHECK(first.text() == "1");
  auto set_cookie = std::string(first.header("Set-Cookie").value_or(""));
  CHECK(set_cookie.rfind("session=", 0) == 0);
  CHECK(set_cookie.find("HttpOnly") != std::string::npos);
  CHECK(set_cookie.find("SameSite=Lax") != std::string::npos);
  CHECK(first.header("Vary") == std::optional<std::string_view>("Cookie"));
  CHECK(client.get("/count").text() == "2");
  auto read = client.get("/read");
  CHECK(read.text() == "2");
  CHECK_FALSE(read.header("Set-Cookie"));  // unchanged: not written back
  CHECK(client.get("/logout").text() == "bye");
  CHECK(client.get("/read").text() == "0");
}

TEST_CASE("a forged or tampered session cookie is ignored", "[app][session][hostile]") {
  vial::app app({.secret_key = "s3cret"});
  vial::enable_sessions(app);
  add_counter_routes(app);
  test_client client(app);
  client.get("/count");
  const std::string good = cookie_value(client.get("/count"));
  REQUIRE(client.get("/read").text() == "2");

  // Each forgery is sent in place of the good cookie: the session reads as empty.
  auto ignored = [&](const std::string& cookie) {
    client.set_cookie("session", cookie);
    CHECK(client.get("/read").text() == "0");
  };
  SECTION("payload changed, signature kept") {
    // {"n":1000} in base64url, with the original timestamp and signature.
    ignored("eyJuIjoxMDAwfQ" + good.substr(good.find('.')));
  }
  SECTION("signature altered") {
    std::string bad = good;
    bad.back() = bad.back() == 'A' ? 'B' : 'A';
    ignored(bad);
  }
  SECTION("signed with another key") {
    ignored(vial::encode_session_cookie({{"n", 1000}}, "other"));
  }
  SECTION("garbage") { ignored("..."); }
  SECTION("unsigned payload") { ignored("eyJuIjoxMDAwfQ"); }
}

TEST_CASE("session cookies round-trip and expire after max_age", "[app][session]") {
  using namespace std::chrono;
  const auto t0 = system_clock::now();
  const auto cookie = vial::encode_session_cookie({{"user", "ada"}}, "k", t0);
  auto back = vial::decode_session_cookie(cookie, "k", hours(1), t0 + minutes(59));
  REQUIRE(back);
  CHECK((*back)["user"] == "ada");
  CHECK_FALSE(vial::decode_session_cookie(cookie, "k", hours(1), t0 + minutes(61)));
  CHECK_FALSE(vial::decode_session_cookie(cookie, "", hours(1), t0));
  CHECK_FALSE(vial::decode_session_cookie(cookie, "k2", hours(1), t0));
}

TEST_CASE("a signed session cookie with a timestamp no clock can hold is refused",
          "[app][session][hostile]") {
  using namespace std::chrono;
  const auto now = system_clock::time_point(seconds(1'700'000'060));
  // {"n":1} signed with the key, stamped 2^55 + 1700000000 seconds: in nanoseconds that
  // overflows int64 and, wrapped, would read as one minute before `now`.
  const auto cookie = sign_session_value("eyJuIjoxfQ.36028798718963968", "k");
  CHECK_FALSE(vial::decode_session_cookie(cookie, "k", hours(1), now));
  CHECK_FALSE(
      vial::decode_session_cookie(sign_session_value("eyJuIjoxfQ.-5", "k"), "k", hours(1), now));
  // The signer above agrees with vial's: an ordinary stamp verifies.
  const auto fine = vial::decode_session_cookie(sign_session_value("eyJuIjoxfQ.1700000000", "k"),
                                                "k", hours(1), now);
  REQUIRE(fine);
  CHECK((*fine)["n"] == 1);
}

TEST_CASE("writing a session without a secret key is a logged 500", "[app][session][errors]") {
  std::vector<std::string> logged;
  vial::app app;
  app.set_logger(
      vial::logger([&](vial::log_level, std::string_view m) { logged.emplace_back(m); }));
  vial::enable_sessions(app);
  add_counter_routes(app);
  test_client client(app);
  CHECK(client.get("/read").status() == 200);  // reading is fine
  auto r = client.get("/count");
  CHECK(r.status() == 500);
  CHECK_FALSE(r.header("Set-Cookie"));
  bool found = false;
  for (const auto& m : logged) {
    found = found || m.find("app_options::secret_key is empty") != std::string::npos;
  }
  CHECK(found);
  CHECK_THROWS_WITH(vial::encode_session_cookie({{"a", 1}}, ""),
                    "the session was modified but app_options::secret_key is empty; set a "
                    "secret key to use sessions");
}

TEST_CASE("session options set the cookie name and attributes", "[app][session]") {
  vial::app app({.secret_key = "k"});
  vial::enable_sessions(app, {.cookie_name = "sid", .permanent = true, .secure = true});
  add_counter_routes(app);
  test_client client(app);
  auto r = client.get("/count");
  auto h = std::string(r.header("Set-Cookie").value_or(""));
  CHECK(h.rfind("sid=", 0) == 0);
  CHECK(h.find("Max-Age=2678400") != std::string::npos);
  CHECK(h.find("Secure") != std::string::npos);
  CHECK(client.get("/count").text() == "2");
}

TEST_CASE("session values cannot inject headers through the cookie", "[app][session][hostile]") {
  vial::app app({.secret_key = "k"});
  vial::enable_sessions(app);
  app.get("/set", [](vial::request& req) {
    vial::session_of(req).set("name", "x\r\nSet-Cookie: admin=1; \"quoted\", comma");
    return "ok";
  });
  app.get("/name", [](vial::request& req) {
    return vial::session_of(req).get("name", "").get<std::string>();
  });
  test_client client(app);
  auto r = client.get("/set");
  const auto header = std::string(r.header("Set-Cookie").value_or(""));
  CHECK(header.find_first_of("\r\n\",") == std::string::npos);
  CHECK(client.get("/name").text() == "x\r\nSet-Cookie: admin=1; \"quoted\", comma");
  CHECK_FALSE(client.cookies().get("admin"));
}

TEST_CASE("hooks registered after enable_sessions see the loaded session", "[app][session]") {
  vial::app app({.secret_key = "k"});
  vial::enable_sessions(app);
  app.before_request([](vial::request& req) -> std::optional<vial::response> {
    if (req.path() != "/login" && !vial::session_of(req).contains("user")) {
      return vial::response::text("login first", 401);
    }
    return std::nullopt;
  });
  app.get("/login", [](vial::request& req) {
    vial::session_of(req).set("user", "ada");
    return "welcome";
  });
  app.get("/me",
          [](vial::request& req) { return vial::session_of(req).get("user").get<std::string>(); });
  test_client client(app);
  CHECK(client.get("/me").status() == 401);
  CHECK(client.get("/login").text() == "welcome");
  CHECK(client.get("/me").text() == "ada");
}
