#include "vial/app/session.hpp"

#include <array>
#include <charconv>
#include <cstdint>
#include <stdexcept>
#include <string>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "vial/http/cookies.hpp"

namespace vial {

bool session::contains(std::string_view key) const { return data_.contains(std::string(key)); }

nlohmann::json session::get(std::string_view key, nlohmann::json fallback) const {
  auto it = data_.find(std::string(key));
  return it == data_.end() ? fallback : *it;
}

void session::set(std::string_view key, nlohmann::json value) {
  data_[std::string(key)] = std::move(value);
  modified_ = true;
}

nlohmann::json& session::operator[](std::string_view key) {
  modified_ = true;
  return data_[std::string(key)];
}

void session::erase(std::string_view key) {
  if (data_.erase(std::string(key)) > 0) modified_ = true;
}

void session::clear() {
  if (!data_.empty()) modified_ = true;
  data_ = nlohmann::json::object();
}

void session::load(nlohmann::json data) {
  data_ = std::move(data);
  modified_ = false;
}

namespace {

constexpr std::string_view b64_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string base64url_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const std::uint32_t n =
        (std::uint8_t(in[i]) << 16) | (std::uint8_t(in[i + 1]) << 8) | std::uint8_t(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out.push_back(b64_alphabet[(n >> s) & 63]);
  }
  const std::size_t rest = in.size() - i;
  if (rest == 1) {
    const std::uint32_t n = std::uint8_t(in[i]) << 16;
    out.push_back(b64_alphabet[(n >> 18) & 63]);
    out.push_back(b64_alphabet[(n >> 12) & 63]);
  } else if (rest == 2) {
    const std::uint32_t n = (std::uint8_t(in[i]) << 16) | (std::uint8_t(in[i + 1]) << 8);
    out.push_back(b64_alphabet[(n >> 18) & 63]);
    out.push_back(b64_alphabet[(n >> 12) & 63]);
    out.push_back(b64_alphabet[(n >> 6) & 63]);
  }
  return out;
}

std::optional<std::string> base64url_decode(std::string_view in) {
  if (in.size() % 4 == 1) return std::nullopt;
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    const auto pos = b64_alphabet.find(c);
    if (pos == std::string_view::npos) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(pos);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

using digest = std::array<unsigned char, 32>;

digest hmac_sha256(std::string_view key, std::string_view data) {
  digest out{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &len);
  return out;
}

// A key for this purpose only, as itsdangerous derives one from the secret and a salt: the
// same secret_key signing something else never yields a valid session.
digest session_key(std::string_view secret_key) {
  return hmac_sha256(secret_key, "vial.session.cookie-signing");
}

std::string signature(std::string_view secret_key, std::string_view signed_part) {
  const auto key = session_key(secret_key);
  const auto mac = hmac_sha256(
      std::string_view(reinterpret_cast<const char*>(key.data()), key.size()), signed_part);
  return base64url_encode(std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size()));
}

}  // namespace

std::string encode_session_cookie(const nlohmann::json& data, std::string_view secret_key,
                                  std::chrono::system_clock::time_point now) {
  if (secret_key.empty()) {
    throw std::logic_error(
        "the session was modified but app_options::secret_key is empty; set a secret key to "
        "use sessions");
  }
  const auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  std::string value = base64url_encode(data.dump()) + "." + std::to_string(seconds);
  const std::string sig = signature(secret_key, value);
  return value + "." + sig;
}

std::optional<nlohmann::json> decode_session_cookie(std::string_view cookie,
                                                    std::string_view secret_key,
                                                    std::chrono::seconds max_age,
                                                    std::chrono::system_clock::time_point now) {
  if (secret_key.empty() || cookie.size() > 8192) return std::nullopt;
  const auto last_dot = cookie.rfind('.');
  if (last_dot == std::string_view::npos) return std::nullopt;
  const auto signed_part = cookie.substr(0, last_dot);
  const auto expected = signature(secret_key, signed_part);
  const auto given = cookie.substr(last_dot + 1);
  if (given.size() != expected.size() ||
      CRYPTO_memcmp(given.data(), expected.data(), expected.size()) != 0) {
    return std::nullopt;
  }
  // Signed by us: the rest is well-formed unless the format changed.
  const auto dot = signed_part.rfind('.');
  if (dot == std::string_view::npos) return std::nullopt;
  const auto stamp = signed_part.substr(dot + 1);
  std::int64_t seconds = 0;
  auto [p, ec] = std::from_chars(stamp.data(), stamp.data() + stamp.size(), seconds);
  if (ec != std::errc() || p != stamp.data() + stamp.size()) return std::nullopt;
  // Converting to the clock's finer ticks must not overflow: a stamp no clock can hold was not
  // issued by encode_session_cookie, whatever the signature says.
  constexpr auto latest =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::duration::max());
  if (seconds < 0 || seconds > latest.count()) return std::nullopt;
  const auto signed_at = std::chrono::system_clock::time_point(std::chrono::seconds(seconds));
  if (now - signed_at > max_age) return std::nullopt;
  auto payload = base64url_decode(signed_part.substr(0, dot));
  if (!payload) return std::nullopt;
  auto data = nlohmann::json::parse(*payload, nullptr, /*allow_exceptions=*/false);
  if (!data.is_object()) return std::nullopt;
  return data;
}

void enable_sessions(app& a, session_options options) {
  const app* owner = &a;
  a.before_request([owner, options](request& req) {
    auto& s = session_of(req);
    const auto value = req.cookies().get(options.cookie_name);
    if (!value) return;
    if (auto data = decode_session_cookie(*value, owner->options().secret_key, options.max_age)) {
      s.load(std::move(*data));
    }
  });
  a.after_request([owner, options](request& req, response& res) {
    const session* s = req.find_g<session>();
    if (!s || !s->modified()) return;
    res.add_header("Vary", "Cookie");
    if (s->empty()) {
      res.delete_cookie(options.cookie_name, options.path, options.domain);
      return;
    }
    cookie_options c;
    if (options.permanent) c.max_age = options.max_age;
    c.path = options.path;
    c.domain = options.domain;
    c.secure = options.secure || req.is_secure();
    c.http_only = options.http_only;
    c.same_site = options.same_site;
    res.set_cookie(options.cookie_name,
                   encode_session_cookie(s->data(), owner->options().secret_key), c);
  });
}

}  // namespace vial
