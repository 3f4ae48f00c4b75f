#include "vial/client/error.hpp"

#include <string>

#include <nlohmann/json.hpp>

#include "vial/client/response.hpp"

namespace vial {

namespace {

class client_category_impl : public std::error_category {
 public:
  const char* name() const noexcept override { return "vial.client"; }
  std::string message(int ev) const override {
    switch (static_cast<client_errc>(ev)) {
      case client_errc::invalid_url:
        return "invalid URL";
      case client_errc::resolve:
        return "cannot resolve host";
      case client_errc::connect:
        return "cannot connect";
      case client_errc::tls:
        return "TLS failure";
      case client_errc::too_large:
        return "response too large";
      case client_errc::malformed_response:
        return "malformed response";
      case client_errc::closed:
        return "connection closed by upstream";
      case client_errc::too_many_redirects:
        return "too many redirects";
      case client_errc::invalid_json:
        return "response is not valid JSON";
      case client_errc::bad_status:
        return "upstream answered with an error status";
      case client_errc::pool_exhausted:
        return "no pooled connection became free in time";
    }
    return "unknown client error";
  }
};

}  // namespace

const std::error_category& client_category() noexcept {
  static const client_category_impl category;
  return category;
}

std::error_code make_error_code(client_errc e) noexcept {
  return {static_cast<int>(e), client_category()};
}

client_error::client_error(client_errc kind, std::string message, std::error_code cause)
    : std::system_error(make_error_code(kind), message),
      message_(std::move(message)),
      cause_(cause) {}

std::string client_error::http_description() const {
  switch (kind()) {
    case client_errc::invalid_url:
      return "The upstream's URL is invalid.";
    case client_errc::resolve:
      return "The upstream's host name did not resolve.";
    case client_errc::connect:
      return "The upstream could not be connected to.";
    case client_errc::tls:
      return "The TLS handshake with the upstream failed.";
    case client_errc::too_large:
      return "The upstream's response was too large.";
    case client_errc::malformed_response:
      return "The upstream sent a malformed response.";
    case client_errc::closed:
      return "The upstream closed the connection before the response was complete.";
    case client_errc::too_many_redirects:
      return "The upstream redirected too many times.";
    case client_errc::invalid_json:
      return "The upstream's response was not valid JSON.";
    case client_errc::bad_status:
      return "The upstream answered with an error status.";
    case client_errc::pool_exhausted:
      return "Too many calls to the upstream are in progress.";
  }
  return "The upstream failed.";
}

nlohmann::json client_response::json() const {
  try {
    return nlohmann::json::parse(body_);
  } catch (const nlohmann::json::parse_error& e) {
    throw client_error(client_errc::invalid_json,
                       "response from " + url_ + " is not valid JSON: " + e.what());
  }
}

void client_response::raise_for_status() const {
  if (status_ >= 400) {
    throw client_error(client_errc::bad_status,
                       "upstream " + url_ + " answered " + std::to_string(status_));
  }
}

}  // namespace vial
