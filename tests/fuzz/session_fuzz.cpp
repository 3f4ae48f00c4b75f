// Fuzz target `session`: verification and decoding of signed session cookies.
//
// Input: a cookie value. It is decoded as sent (a forged or mangled cookie must be ignored),
// then signed with the target's key, as if the server had issued it, and decoded again: that
// reaches the timestamp and payload parsing behind the signature check. When the input is a
// JSON object it is also encoded and decoded.
//
// Invariants: decoding never throws and yields only JSON objects; an input that was not signed
// with the key is refused; an encoded object decodes to itself, and not under another key, and
// not once it is older than max_age.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "fuzz_check.hpp"
#include "vial/app/session.hpp"

namespace {

using std::chrono::seconds;
using vial::fuzz::check;
using vial::fuzz::fail;

constexpr std::string_view key = "vial-fuzz-secret-key";
constexpr seconds max_age{3600};
// A fixed clock, so that replaying an input gives the same answer on any day.
const auto now = std::chrono::system_clock::time_point(seconds(1'700'000'000));

// The cookie format as documented in session.hpp, written independently of session.cpp:
// value "." base64url(HMAC-SHA256(HMAC-SHA256(key, salt), value)), without padding.
std::string base64url(const unsigned char* p, std::size_t n) {
  static constexpr std::string_view alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < n; ++i) {
    acc = (acc << 8) | p[i];
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(alphabet[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(alphabet[(acc << (6 - bits)) & 63]);
  return out;
}

std::array<unsigned char, 32> hmac(std::string_view k, std::string_view data) {
  std::array<unsigned char, 32> out{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), k.data(), static_cast<int>(k.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &len);
  return out;
}

std::string sign(std::string_view value) {
  auto derived = hmac(key, "vial.session.cookie-signing");
  auto mac =
      hmac(std::string_view(reinterpret_cast<const char*>(derived.data()), derived.size()), value);
  return std::string(value) + "." + base64url(mac.data(), mac.size());
}

std::optional<nlohmann::json> decode(std::string_view cookie, std::string_view k = key,
                                     std::chrono::system_clock::time_point at = now) {
  try {
    auto out = vial::decode_session_cookie(cookie, k, max_age, at);
    check(!out || out->is_object(), "decoded a session that is not an object");
    return out;
  } catch (...) {
    fail("decode_session_cookie threw", vial::describe_exception(std::current_exception()));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);

  auto as_sent = decode(input);
  if (as_sent) {
    // Only a cookie carrying the signature of its own content verifies.
    auto dot = input.rfind('.');
    check(dot != std::string_view::npos && sign(input.substr(0, dot)) == input,
          "a cookie verified without the key's signature");
  }
  decode(sign(input));

  auto object = nlohmann::json::parse(input, nullptr, /*allow_exceptions=*/false);
  if (object.is_object()) {
    std::string cookie;
    try {
      cookie = vial::encode_session_cookie(object, key, now);
    } catch (const nlohmann::json::exception& e) {
      fail("encode_session_cookie threw", e.what());
    }
    auto back = decode(cookie);
    check(back && *back == object, "an encoded session does not decode to itself", cookie);
    check(!decode(cookie, "another key"), "a session verified under another key");
    check(!decode(cookie, key, now + max_age + seconds(1)), "an expired session was accepted");
  }
  return 0;
}
