#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "vial/app/app.hpp"
#include "vial/http/json.hpp"
#include "vial/http/request.hpp"

namespace vial {

/// How session cookies are named, how long they are trusted and which attributes they carry.
struct session_options {
  std::string cookie_name = "session";
  /// A cookie signed longer ago than this is ignored (Flask's PERMANENT_SESSION_LIFETIME).
  std::chrono::seconds max_age = std::chrono::hours(24 * 31);
  /// Sends Max-Age = `max_age` with the cookie; otherwise it ends with the browser session.
  bool permanent = false;
  std::string path = "/";
  std::string domain{};
  /// Secure is sent when this is true or the request came over https (`req.is_secure()`,
  /// which behind TLS termination needs `app_options::proxy.x_proto`).
  bool secure = false;
  bool http_only = true;
  std::string same_site = "Lax";
};

/// The session of one request: a JSON object stored client-side in a signed cookie (Flask's
/// default session). The client can read it but not change it: the cookie carries an
/// HMAC-SHA256 of its content and timestamp under the app's `secret_key`, and a cookie whose
/// signature does not verify, or that is older than `max_age`, is ignored (the session starts
/// empty). Do not put secrets in it.
/// Lives in the request; a request is handled by one thread at a time.
class session {
 public:
  /// The whole content (a JSON object). Read-only: change it through the members below so the
  /// cookie is written back.
  const nlohmann::json& data() const noexcept { return data_; }
  bool contains(std::string_view key) const;
  /// The value at `key`, or `fallback` when absent.
  nlohmann::json get(std::string_view key, nlohmann::json fallback = nullptr) const;
  /// Sets `key`; the cookie is written in the response.
  void set(std::string_view key, nlohmann::json value);
  /// Mutable access to `key` (created null); marks the session modified.
  nlohmann::json& operator[](std::string_view key);
  void erase(std::string_view key);
  /// Empties the session; the cookie is deleted in the response.
  void clear();
  bool empty() const noexcept { return data_.empty(); }
  /// Whether the response must write (or delete) the cookie.
  bool modified() const noexcept { return modified_; }

  /// Replaces the content as loaded from a verified cookie (not marked modified).
  void load(nlohmann::json data);

 private:
  nlohmann::json data_ = nlohmann::json::object();
  bool modified_ = false;
};

/// The session of `req` (its per-request slot). Sessions must be enabled on the app with
/// `enable_sessions`, otherwise it is empty and nothing is saved.
inline session& session_of(request& req) { return req.g<session>(); }

/// Loads the session from its cookie before each request and writes it back after each request
/// that modified it (Set-Cookie, plus Vary: Cookie). A session written while the app has no
/// `secret_key` fails the request with a logged 500 (std::logic_error: "the session was
/// modified but app_options::secret_key is empty...").
void enable_sessions(app& a, session_options options = {});

/// The signed cookie value for `data`: base64url(JSON) "." timestamp "." base64url(HMAC-SHA256).
/// Throws std::logic_error when `secret_key` is empty.
std::string encode_session_cookie(
    const nlohmann::json& data, std::string_view secret_key,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());
/// The session object in `cookie`, or nullopt when the cookie is malformed, its signature does
/// not verify under `secret_key` (always nullopt for an empty key), it is older than `max_age`
/// or its payload is not a JSON object.
std::optional<nlohmann::json> decode_session_cookie(
    std::string_view cookie, std::string_view secret_key, std::chrono::seconds max_age,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

}  // namespace vial
